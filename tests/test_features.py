"""Audio front ends: frame-aligned features at the curves' fps, cached per utterance."""

import importlib.util

import numpy as np
import pytest
from corpus_helpers import copy_of_tiny

from dreamtalk.core.errors import InputError
from dreamtalk.corpus import store
from dreamtalk.features import get_frontend
from dreamtalk.features.logmel import N_MELS, SUBFRAMES

RATE = 16000


def burst(seconds=3.0, at=(1.0, 1.4), freq=1000.0, rate=RATE):
    t = np.arange(int(seconds * rate)) / rate
    audio = 1e-4 * np.random.default_rng(0).standard_normal(len(t))
    inside = (t >= at[0]) & (t < at[1])
    audio[inside] += 0.3 * np.sin(2 * np.pi * freq * t[inside])
    return audio.astype(np.float32)


def test_logmel_energy_and_pitch_are_frame_aligned():
    fe = get_frontend("logmel")
    feats = fe(burst(freq=200.0), RATE, 25.0, 75)
    assert feats.shape == (75, fe.dim) and np.isfinite(feats).all()
    energy, voiced = feats[:, -3], feats[:, -1]
    loud = np.flatnonzero(energy > energy.min() + 10)
    assert abs(loud[0] - 25) <= 1 and abs(loud[-1] - 35) <= 1  # the burst spans 1.0-1.4 s
    assert voiced[27:33].all() and not voiced[:20].any() and not voiced[45:].any()


def test_logmel_puts_a_tone_in_the_right_band_and_other_rates_agree():
    fe = get_frontend("logmel")
    low = fe(burst(freq=300.0), RATE, 25.0, 75)[30, :N_MELS]
    high = fe(burst(freq=3000.0), RATE, 25.0, 75)[30, :N_MELS]
    assert np.argmax(low) < np.argmax(high)
    from dreamtalk.core.audio import resample

    at48 = fe(resample(burst(freq=300.0), RATE, 48000), 48000, 25.0, 75)
    assert np.abs(at48[30, :N_MELS] - fe(burst(freq=300.0), RATE, 25.0, 75)[30, :N_MELS]).max() < 1.0
    at30 = fe(burst(freq=300.0), RATE, 30.0, 90)
    assert at30.shape == (90, N_MELS * SUBFRAMES + 3)


def test_features_are_cached_per_utterance(tmp_path):
    corpus = store.Corpus(copy_of_tiny(tmp_path / "c"))
    record, fe = corpus.records[0], get_frontend("logmel")
    first = corpus.features(record, fe)
    path = corpus.root / "features" / fe.tag / f"{record['id']}.npy"
    assert path.is_file() and first.shape == (record["num_frames"], fe.dim)
    np.save(path, np.zeros_like(first))  # the cache is what is read back
    assert not corpus.features(record, fe).any()


def test_unknown_frontend_is_refused():
    with pytest.raises(InputError, match="unknown audio front end"):
        get_frontend("wav2vec")


@pytest.mark.skipif(importlib.util.find_spec("faster_whisper") is None, reason="whisper extra not installed")
def test_whisper_encoder_features_follow_the_audio():
    fe = get_frontend("whisper")
    feats = fe(burst(freq=200.0, seconds=4.0, at=(1.0, 2.0)), RATE, 25.0, 100)
    assert feats.shape == (100, 512) and np.isfinite(feats).all()
    late = fe(burst(freq=200.0, seconds=4.0, at=(2.5, 3.5)), RATE, 25.0, 100)
    moved = np.linalg.norm(feats - late, axis=1)  # large only where exactly one of the bursts sounds
    inside = moved[[30, 35, 40, 65, 70, 80]].mean()
    outside = moved[[5, 10, 15, 55, 95]].mean()
    assert inside > 2 * outside


def test_default_frontend_is_whisper_when_installed_else_logmel():
    from dreamtalk.features import by_tag, default_name, default_tag

    installed = importlib.util.find_spec("faster_whisper") is not None
    assert default_name() == ("whisper" if installed else "logmel")
    assert get_frontend(default_name()).describe()["tag"].startswith(default_name())
    assert by_tag(default_tag()).name == default_name()  # training's default is this one front end


def test_front_ends_read_side_by_side_concatenate_their_parts_under_a_joined_tag():
    from dreamtalk.features import by_tag, default_tag, part_tags

    tag = f"{default_tag()},logmel-1"
    both = by_tag(tag)
    audio = burst()
    feats = both(audio, RATE, 25.0, 75)
    first, second = by_tag(default_tag())(audio, RATE, 25.0, 75), by_tag("logmel-1")(audio, RATE, 25.0, 75)
    assert both.tag == tag and part_tags(tag) == [default_tag(), "logmel-1"] and both.dim == first.shape[1] + second.shape[1]
    np.testing.assert_allclose(feats, np.concatenate([first, second], axis=1), atol=1e-5)
    with pytest.raises(InputError, match="unknown audio front end"):
        by_tag("logmel-1,wav2vec-1")
