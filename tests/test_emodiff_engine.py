"""`--engine emodiff` adapter, features and `dreamtalk train` CLI."""

import numpy as np
import pytest
import torch

from dreamtalk.cli import main
from dreamtalk.core.curves import Curves
from dreamtalk.core.errors import InputError
from dreamtalk.core.request import EmotionKey, GenerateRequest
from dreamtalk.engines import Progress, generate
from dreamtalk.models.emodiff.config import SamplerConfig
from dreamtalk.models.emodiff.model import EmoDiff
from dreamtalk.engines.installed import EMODIFF_ENV as ENV_VAR
from dreamtalk.features import by_tag as front_end
from dreamtalk.corpus.synthetic import buzz_utterance
from emodiff_fixtures import tiny_model


@pytest.fixture()
def installed(tmp_path, monkeypatch):
    model = tiny_model(audio_dim=front_end("logmel-1").dim)
    path = tmp_path / "emodiff.pt"
    model.save(path)
    monkeypatch.setenv(ENV_VAR, str(path))
    monkeypatch.setenv("DREAMTALK_LIP_CHECKPOINT", "off")  # EmoDiff alone (tests/test_lip.py covers refinement)
    return model


def _request(**kw):
    audio, rate, _ = buzz_utterance(6, seed=1)
    kw.setdefault("steps", 3)
    return GenerateRequest(audio=audio, sample_rate=rate, engine="emodiff", **kw)


def test_missing_checkpoint_is_one_clear_line(tmp_path, monkeypatch):
    monkeypatch.setenv(ENV_VAR, str(tmp_path / "none.pt"))
    with pytest.raises(InputError, match="no EmoDiff checkpoint installed") as err:
        generate(_request())
    assert "\n" not in str(err.value)


def test_engine_generates_takes_with_emotion_controls(installed):
    request = _request(emotion="happy:0.7+sad:0.3", takes=2, fps=30.0)
    takes = generate(request, Progress())
    frames = int(round(request.duration * 30))
    assert len(takes) == 2 and all(c.num_frames == frames for c in takes)
    assert not np.allclose(takes[0].values, takes[1].values)
    keyed = generate(_request(emotion_keys=[EmotionKey(0.0, "sad", 0.4), EmotionKey(1.0, "happy", 1.0)]))
    assert keyed[0].num_frames == int(round(request.duration * 25))
    level = generate(_request(emotion="surprised-1"))  # a repository preset file by name
    assert level[0].num_frames == keyed[0].num_frames
    with pytest.raises(InputError, match="unknown emotion preset 'furious'"):
        generate(_request(emotion="furious"))


def test_engine_keeps_locked_frames(installed):
    request = _request()
    frames = int(round(request.duration * 25))
    rng = np.random.default_rng(0)
    take = Curves(25.0, rng.uniform(0, 1, (frames, 52)).astype(np.float32),
                  rng.uniform(-0.1, 0.1, (frames, 3)).astype(np.float32))
    mask = np.zeros(frames, bool)
    mask[10:20] = True
    out = generate(_request(locked=take, locked_mask=mask, style_clip=take.slice(0, 12)))[0]
    assert np.abs(out.values[mask] - take.values[mask]).max() < 1e-3
    assert np.abs(out.head_pose[mask] - take.head_pose[mask]).max() < 1e-3
    with pytest.raises(InputError, match="locked frames must cover"):
        generate(_request(locked=take.slice(0, 5), locked_mask=mask[:5]))


def test_front_end_is_resolved_by_versioned_tag():
    fe = front_end("logmel-1")
    audio, rate, _ = buzz_utterance(3, seed=0)
    assert fe(audio, rate, 25.0, 20).shape == (20, fe.dim)
    with pytest.raises(InputError, match="logmel-99"):
        front_end("logmel-99")
    with pytest.raises(InputError):
        front_end("nonsense-1")


def test_cli_smoke_corpus_then_train(tmp_path, capsys):
    corpus = tmp_path / "corpus"
    assert main(["train", "smoke-corpus", str(corpus), "--clips", "2", "--words", "6"]) == 0
    out = tmp_path / "m.pt"
    args = ["train", "emodiff", "--corpus", str(corpus), "--out", str(out), "--steps", "3", "--width", "32",
            "--layers", "1", "--val-corpus", str(corpus)]
    assert main(args) == 0
    assert EmoDiff.load(out).cfg.width == 32
    assert "validation loss on 2 held-out clips" in capsys.readouterr().out
    assert torch.load(tmp_path / "m.best.pt", weights_only=True)["step"] == 3  # the only validation so far
    small = tmp_path / "ship.pt"
    assert main(["train", "emodiff-export", str(out), str(small), "--guidance", "2.5", "--steps", "4"]) == 0
    assert "optimizer" not in torch.load(small, weights_only=True) and small.stat().st_size < out.stat().st_size
    tuned = EmoDiff.load(small).sampler
    assert (tuned.guidance, tuned.steps, tuned.audio_guidance) == (2.5, 4, SamplerConfig().audio_guidance)
    assert main(["train", "emodiff", "--corpus", str(tmp_path / "nope"), "--out", str(out)]) == 2
    assert "corpus folder not found" in capsys.readouterr().err


def test_checkpoint_sampler_settings_are_the_engine_defaults(tmp_path, monkeypatch):
    model = tiny_model(audio_dim=front_end("logmel-1").dim)
    model.sampler = SamplerConfig(steps=3, guidance=1.0, audio_guidance=1.0)
    path = tmp_path / "tuned.pt"
    model.save(path)
    assert EmoDiff.load(path).sampler == model.sampler
    monkeypatch.setenv(ENV_VAR, str(path))
    monkeypatch.setenv("DREAMTALK_LIP_CHECKPOINT", "off")
    tuned = generate(_request(steps=None))[0]
    explicit = generate(_request(steps=3, guidance=1.0))[0]
    other = generate(_request(steps=3, guidance=3.0))[0]  # a request still overrides the guidance
    np.testing.assert_array_equal(tuned.values, explicit.values)
    assert not np.allclose(tuned.values, other.values)


def test_checkpoints_without_sampler_settings_load_with_the_defaults(tmp_path):
    payload = tiny_model().to_dict()
    del payload["sampler_config"]  # what checkpoints written before the settings were stored hold
    torch.save(payload, tmp_path / "old.pt")
    assert EmoDiff.load(tmp_path / "old.pt").sampler == SamplerConfig()


def test_features_are_reused_for_the_same_audio(monkeypatch):
    from dreamtalk.engines import feature_cache as engine

    calls = []
    fe = front_end("logmel-1")
    monkeypatch.setattr(engine, "by_tag", lambda tag, device="cpu": (lambda *a: calls.append(1) or fe(*a)))
    monkeypatch.setattr(engine, "_FEATURES", {})
    audio, rate, _ = buzz_utterance(3, seed=4)
    first = engine.audio_features("logmel-1", audio, rate, 25.0, 30)
    assert np.array_equal(engine.audio_features("logmel-1", audio, rate, 25.0, 30), first) and len(calls) == 1
    for seed in range(engine.FEATURE_CACHE_SIZE + 1):  # other audio pushes the oldest out
        engine.audio_features("logmel-1", buzz_utterance(3, seed=10 + seed)[0], rate, 25.0, 30)
    assert len(engine._FEATURES) == engine.FEATURE_CACHE_SIZE
    engine.audio_features("logmel-1", audio, rate, 25.0, 30)
    assert len(calls) == engine.FEATURE_CACHE_SIZE + 3


def test_front_ends_side_by_side_are_cached_per_part(monkeypatch):
    """The detector's "whisper,logmel" features reuse EmoDiff's whisper features of the same audio: only the
    part not seen yet is computed."""
    from dreamtalk.engines import feature_cache as engine

    calls = []
    fe = front_end("logmel-1")
    monkeypatch.setattr(engine, "by_tag", lambda tag, device="cpu": (lambda *a: calls.append(tag) or fe(*a)))
    monkeypatch.setattr(engine, "_FEATURES", {})
    audio, rate, _ = buzz_utterance(3, seed=4)
    first = engine.audio_features("a-1", audio, rate, 25.0, 30)
    both = engine.audio_features("a-1,b-1", audio, rate, 25.0, 30)
    assert calls == ["a-1", "b-1"] and both.shape == (30, 2 * fe.dim)
    np.testing.assert_array_equal(both[:, :fe.dim], first)


def test_models_trained_without_blinks_get_blink_events(tmp_path, monkeypatch):
    from dreamtalk.core.arkit import INDEX
    from dreamtalk.evaluation.dynamics import blink_stats

    model = tiny_model(audio_dim=front_end("logmel-1").dim)
    lids = [INDEX["eyeBlinkLeft"], INDEX["eyeBlinkRight"]]
    model.mean[lids], model.std[lids] = 0.0, 0.02  # trained on blink-free labels: lids near 0
    monkeypatch.setenv("DREAMTALK_LIP_CHECKPOINT", "off")
    audio = np.tile(buzz_utterance(6, seed=1)[0], 6)  # ~60 s
    curves = {}
    for blinks in ("model", "events"):
        model.sampler = SamplerConfig(blinks=blinks)
        model.save(tmp_path / f"{blinks}.pt")
        monkeypatch.setenv(ENV_VAR, str(tmp_path / f"{blinks}.pt"))
        curves[blinks] = generate(GenerateRequest(audio=audio, sample_rate=16000, engine="emodiff", steps=2,
                                                  emotion="neutral", intensity=1.0, takes=2))
    assert curves["model"][0].values[:, lids].max() < 0.3  # no blinks of its own
    stats = [blink_stats(take) for take in curves["events"]]
    assert all(10 <= s["blinks_per_min"] <= 30 and s["blink_complete"] == 1.0 for s in stats)
    assert not np.allclose(curves["events"][0].values[:, lids], curves["events"][1].values[:, lids])
    others = [i for i in range(52) if i not in lids + [INDEX["eyeWideLeft"], INDEX["eyeWideRight"]]]
    # the neutral preset holds no blink, so its style reads the same either way: only the eyelids differ
    assert np.allclose(curves["events"][0].values[:, others], curves["model"][0].values[:, others])
