"""The articulation detector (issue 18): frame classes from phones, opening/closing by its probabilities,
checkpoints, training, and its place in the default pipeline."""

from __future__ import annotations

import numpy as np
import pytest

from dreamtalk.core.arkit import INDEX
from dreamtalk.core.errors import InputError
from dreamtalk.corpus.store import Phone
from dreamtalk.evaluation.lipsync import lip_gap
from dreamtalk.models.articulation.config import ArticulationConfig, ArticulationTrainConfig
from dreamtalk.models.articulation.enforce import articulate
from dreamtalk.models.articulation.labels import CLASS, PHONES, frame_classes

JAW, CLOSE = INDEX["jawOpen"], INDEX["mouthClose"]


def test_frame_classes_follow_the_phones_and_short_bilabials_claim_their_nearest_frame():
    phones = [Phone("SIL", 0.0, 0.1), Phone("AH0", 0.1, 0.21), Phone("P", 0.21, 0.235), Phone("AA1", 0.235, 0.27),
              Phone("M", 0.27, 0.4)]
    classes = frame_classes(phones, 12, 25.0)
    names = [PHONES[c] for c in classes]
    # frames at 0, 40, ... ms: 0-80 silence, 120-200 AH, P holds no frame and claims frame 6 (240 ms) from AA,
    # 280-360 M, 400+ nothing (silence)
    assert names == ["SIL", "SIL", "SIL", "AH", "AH", "AH", "P", "M", "M", "M", "SIL", "SIL"]


def _open_mouth(frames: int = 10) -> np.ndarray:
    values = np.zeros((frames, 52), np.float32)
    values[:, JAW] = 0.5
    values[:, INDEX["mouthLowerDownLeft"]] = values[:, INDEX["mouthLowerDownRight"]] = 0.3
    values[:, INDEX["mouthFunnel"]] = 0.2
    return values


def test_heard_bilabials_close_the_lips_and_nothing_heard_changes_nothing():
    values, cfg = _open_mouth(), ArticulationConfig()
    p_bilabial, p_open = np.zeros(10), np.zeros(10)
    p_bilabial[4] = 0.95
    out = articulate(values, p_bilabial, p_open, cfg)
    gap = lip_gap(out)
    assert gap[4] == pytest.approx(0.0, abs=1e-6) and gap[3] > 0.4
    untouched = np.arange(10) != 4
    np.testing.assert_array_equal(out[untouched], values[untouched])


def test_heard_open_vowels_open_a_shut_jaw_unless_a_bilabial_may_be_there():
    values, cfg = _open_mouth(), ArticulationConfig(open_fraction=0.4, open_gain=0.0)
    values[5:7, JAW], values[5:7, CLOSE] = 0.02, 0.02  # a vowel EmoDiff left shut
    p_bilabial, p_open = np.zeros(10), np.zeros(10)
    p_open[5:7] = 0.9
    p_bilabial[6] = 0.5  # frame 6 may be a p/b/m: it is closed, not opened
    out = articulate(values, p_bilabial, p_open, cfg)
    assert out[5, JAW] == pytest.approx(0.4 * 0.5) and out[5, CLOSE] == 0.0
    assert lip_gap(out)[6] == pytest.approx(0.0, abs=1e-6)
    assert lip_gap(out)[5] > 0.15 > lip_gap(values)[5]
    bumped = articulate(values, p_bilabial, p_open, ArticulationConfig(open_fraction=0.4, open_gain=0.2))
    assert bumped[5, JAW] == pytest.approx(0.4 * 0.5 + 0.2 * 0.5 * 0.9)  # the floor, then p(open) x gain on top
    assert bumped[4, JAW] == values[4, JAW] and lip_gap(bumped)[6] == pytest.approx(0.0, abs=1e-6)


def _tiny_model(audio_dim: int = 6):
    from dreamtalk.models.articulation.model import ArticulationModel
    from dreamtalk.models.articulation.network import ArticulationNet

    cfg = ArticulationConfig(audio_dim=audio_dim, width=8, layers=2, kernel=3)
    return ArticulationModel(ArticulationNet(cfg), np.zeros(audio_dim, np.float32), np.ones(audio_dim, np.float32),
                             "logmel-1")


def test_checkpoint_round_trip_and_one_line_errors(tmp_path):
    from dreamtalk.models.articulation.model import ArticulationModel

    model = _tiny_model()
    features = np.random.default_rng(0).normal(size=(30, 6)).astype(np.float32)
    path = tmp_path / "articulation.pt"
    model.save(path)
    loaded = ArticulationModel.load(path)
    p = loaded.probabilities(features)
    assert p.shape == (30, len(PHONES)) and np.allclose(p.sum(-1), 1.0, atol=1e-5)
    np.testing.assert_allclose(p, model.probabilities(features), atol=1e-6)
    assert loaded.front_end == "logmel-1" and loaded.cfg.width == 8
    with pytest.raises(InputError, match=r"expects \(frames, 6\) features"):
        loaded.probabilities(features[:, :5])
    from dreamtalk.learning.checkpoint_io import write_payload

    write_payload({**model.to_dict(), "kind": "lip-refiner"}, tmp_path / "other.pt")
    with pytest.raises(InputError, match="not an articulation detector checkpoint"):
        ArticulationModel.load(tmp_path / "other.pt")


def _synthetic_utterances(count: int, seed: int, noise: float = 0.6):
    """Features that carry their frame's class (one-hot of a few classes, in noise of SD `noise`)."""
    from dreamtalk.models.articulation.train import Utterance

    rng = np.random.default_rng(seed)
    kinds = np.array([CLASS["SIL"], CLASS["P"], CLASS["AA"], CLASS["S"]])
    out = []
    for _ in range(count):
        classes = np.repeat(rng.choice(kinds, size=12), 3)
        features = rng.normal(0, noise, (len(classes), 8)).astype(np.float32)
        features[np.arange(len(classes)), [list(kinds).index(c) for c in classes]] += 2.0
        out.append(Utterance(features, classes))
    return out


def test_training_learns_to_hear_bilabials_and_keeps_the_best_checkpoint(tmp_path):
    from dreamtalk.learning.checkpoint_io import read_payload
    from dreamtalk.models.articulation.train import evaluate, train

    train_set, val = _synthetic_utterances(40, 0), _synthetic_utterances(10, 1)
    cfg = ArticulationConfig(width=16, layers=2, kernel=3)
    tcfg = ArticulationTrainConfig(steps=120, batch=16, window=24, val_every=40)
    seen = []
    model = train(train_set, "logmel-1", tmp_path / "a.pt", cfg, tcfg, val,
                  report=lambda step, steps, loss, figures: figures and seen.append(figures))
    figures = evaluate(model, val)
    assert len(seen) == 3 and figures["bilabial_auc"] > 0.97 and figures["accuracy"] > 0.8
    best = max(seen, key=lambda f: f["bilabial_auc"] + f["open_auc"])
    assert read_payload(tmp_path / "a.pt", "articulation checkpoint")["validation"] == best


def test_weighting_bilabial_frames_makes_the_detector_hear_more_of_them(tmp_path):
    """`bilabial_weight` > 1 trades false alarms for fewer missed p/b/m on features where classes overlap."""
    from dreamtalk.models.articulation.model import bilabial
    from dreamtalk.models.articulation.train import train

    train_set, val = _synthetic_utterances(40, 0, noise=1.5), _synthetic_utterances(20, 1, noise=1.5)
    cfg = ArticulationConfig(width=16, layers=2, kernel=3)
    heard = []
    for weight in (1.0, 4.0):
        tcfg = ArticulationTrainConfig(steps=150, batch=16, window=24, bilabial_weight=weight)
        model = train(train_set, "logmel-1", tmp_path / f"w{weight}.pt", ArticulationConfig(**vars(cfg)), tcfg)
        p = np.concatenate([bilabial(model.probabilities(u.features)) for u in val])
        is_p = np.concatenate([u.classes for u in val]) == CLASS["P"]
        heard.append((np.mean(p[is_p] >= 0.5), np.mean(p[~is_p] >= 0.5)))
    (recall_plain, alarms_plain), (recall_weighted, alarms_weighted) = heard
    assert recall_weighted > recall_plain + 0.03 and alarms_weighted >= alarms_plain


def test_installed_articulation_off_and_missing(monkeypatch, tmp_path):
    from dreamtalk.engines import installed

    monkeypatch.setenv(installed.ARTICULATION_ENV, "off")
    assert installed.installed_articulation() is None
    monkeypatch.setenv(installed.ARTICULATION_ENV, str(tmp_path / "nope.pt"))
    with pytest.raises(InputError, match="articulation detector checkpoint not found"):
        installed.installed_articulation()


def test_train_articulation_cli_refuses_a_folder_without_a_built_corpus_and_an_existing_out(tmp_path, capsys):
    from dreamtalk.cli import main

    assert main(["train", "articulation", "--corpus", str(tmp_path), "--out", str(tmp_path / "a.pt")]) == 2
    assert "not a built corpus" in capsys.readouterr().err
    (tmp_path / "b.pt").write_bytes(b"keep")
    assert main(["train", "articulation", "--corpus", str(tmp_path), "--out", str(tmp_path / "b.pt")]) == 2
    assert "exists; pass --force" in capsys.readouterr().err
    assert (tmp_path / "b.pt").read_bytes() == b"keep"


@pytest.mark.parametrize("command", [("articulation", "--augment", "-1"), ("articulation", "--speed-copies", "-2"),
                                     ("lip", "--augment", "-1"), ("emodiff", "--augment", "-3")])
def test_training_refuses_a_negative_number_of_copies_in_one_line(tmp_path, capsys, command):
    from dreamtalk.cli import main

    model, *option = command
    with pytest.raises(SystemExit) as stop:
        main(["train", model, "--corpus", str(tmp_path), *option, "--out", str(tmp_path / "m.pt")])
    assert stop.value.code == 2 and f"{option[0]}: must be 0 or more, got {option[1]}" in capsys.readouterr().err
    assert not (tmp_path / "m.pt").exists()


def test_train_articulation_cli_reads_the_default_front_end_with_log_mel_beside_it(tmp_path, capsys):
    """The CLI's default: the default front end's features and log-mel side by side, each from its own
    feature cache in the corpus (no cache folder for the pair, speed copies beside each part's clean
    features); the checkpoint records the pair."""
    from corpus_helpers import copy_of_tiny

    from dreamtalk.cli import main
    from dreamtalk.features import by_tag, default_tag, get_frontend
    from dreamtalk.models.articulation.model import ArticulationModel
    from dreamtalk.models.cli import detector_front_end

    root = copy_of_tiny(tmp_path / "corpus")
    assert main(["train", "articulation", "--corpus", str(root), "--steps", "3", "--speed-copies", "1",
                 "--out", str(tmp_path / "a.pt")]) == 0
    model = ArticulationModel.load(tmp_path / "a.pt")
    tag = detector_front_end()
    assert model.front_end == tag and model.cfg.audio_dim == by_tag(tag).dim
    assert tag in (default_tag(), f"{default_tag()},{get_frontend('logmel').tag}")
    folders = sorted(p.name for p in (root / "features").iterdir())
    assert folders == sorted({default_tag(), get_frontend("logmel").tag})
    assert all((root / "features" / folder / "speed1").is_dir() for folder in folders)  # --speed-copies 1
    assert "training utterances" in capsys.readouterr().out


@pytest.fixture(scope="module")
def speech():
    from dreamtalk.align.espeak import synthesize

    from dreamtalk.core.audio import prepare_audio

    speech = synthesize("Maybe Bob will bring a map of the bay.")
    return prepare_audio(speech.audio, speech.sample_rate, 16000)


def test_the_default_pipeline_closes_heard_bilabials_and_keeps_locked_frames(speech, monkeypatch):
    """Shipped EmoDiff + refiner + detector: only the mouth differs from the pipeline without the detector,
    every frame the detector hears as p/b/m is closed, and locked frames come back as given."""
    from dreamtalk.core.arkit import MOUTH, indices
    from dreamtalk.core.request import GenerateRequest
    from dreamtalk.engines import generate, installed
    from dreamtalk.features import by_tag
    from dreamtalk.models.articulation.model import bilabial

    audio, rate = speech
    detector = installed.installed_articulation()
    if detector is None:
        pytest.skip("this build ships no articulation detector")
    request = GenerateRequest(audio, rate, seed=4)
    (on,) = generate(request)
    monkeypatch.setenv(installed.ARTICULATION_ENV, "off")
    (off,) = generate(request)
    monkeypatch.delenv(installed.ARTICULATION_ENV)
    others = np.setdiff1d(np.arange(52), indices(MOUTH))
    np.testing.assert_array_equal(on.values[:, others], off.values[:, others])
    p = bilabial(detector.probabilities(by_tag(detector.front_end)(audio, rate, 25.0, on.num_frames)))
    heard = p >= detector.cfg.close_on + detector.cfg.close_width / 2
    assert heard.sum() >= 4 and np.all(lip_gap(on.values)[heard] < 1e-6)
    assert lip_gap(off.values)[heard].max() > lip_gap(on.values)[heard].max()

    mask = np.zeros(on.num_frames, bool)
    mask[np.flatnonzero(heard)[0]:][:10] = True  # keys over a heard bilabial: the keys win
    locked = off.copy()
    (kept,) = generate(GenerateRequest(audio, rate, seed=4, locked=locked, locked_mask=mask))
    np.testing.assert_allclose(kept.values[mask], locked.values[mask], atol=1e-6)


def test_lip_checkpoint_off_turns_the_whole_refinement_stage_off(speech, monkeypatch):
    """`DREAMTALK_LIP_CHECKPOINT=off` gives EmoDiff's curves, as `--no-refine` does, detector included."""
    from dreamtalk.core.request import GenerateRequest
    from dreamtalk.engines import generate, installed

    audio, rate = speech
    (plain,) = generate(GenerateRequest(audio, rate, seed=4, refine=False))
    monkeypatch.setenv(installed.LIP_ENV, "off")
    (off,) = generate(GenerateRequest(audio, rate, seed=4))
    np.testing.assert_array_equal(off.values, plain.values)


def test_phone_probabilities_mark_the_frames_of_aligned_bilabials_and_open_vowels():
    from dreamtalk.models.articulation.labels import phone_probabilities

    phones = [Phone("SIL", 0.0, 0.1), Phone("M", 0.1, 0.2), Phone("AA1", 0.2, 0.4), Phone("P", 0.4, 0.43),
              Phone("S", 0.43, 0.6)]
    p_bilabial, p_open = phone_probabilities(phones, 15, 25.0)
    np.testing.assert_array_equal(np.flatnonzero(p_bilabial), [3, 4, 10])  # the 30 ms P claims frame 10
    np.testing.assert_array_equal(np.flatnonzero(p_open), [5, 6, 7, 8, 9])
    assert set(np.unique(np.concatenate([p_bilabial, p_open]))) == {0.0, 1.0}


def test_doubtful_frames_are_those_near_a_word_heard_unsurely():
    from dreamtalk.align.transcribe import HeardWord
    from dreamtalk.models.articulation.labels import doubtful_frames

    words = [HeardWord(0.0, 0.2, 0.9), HeardWord(0.2, 0.4, 0.3), HeardWord(0.4, 0.8, 0.5)]
    np.testing.assert_array_equal(np.flatnonzero(doubtful_frames(words, 25, 25.0, 0.5, 0.0)), [5, 6, 7, 8, 9, 10])
    np.testing.assert_array_equal(np.flatnonzero(doubtful_frames(words, 25, 25.0, 0.5, 0.1)), np.arange(3, 13))
    assert not doubtful_frames(words, 25, 25.0, 0.3, 0.08).any()  # "below": 0.3 is not doubted at 0.3


def test_reopen_strays_bridges_shut_lips_nothing_explains():
    from dreamtalk.core.arkit import INDEX, MOUTH, indices
    from dreamtalk.models.articulation.config import ArticulationConfig
    from dreamtalk.models.articulation.enforce import reopen_strays

    values = np.zeros((30, 52), np.float32)
    values[:, INDEX["jawOpen"]] = 0.4
    values[:, INDEX["browInnerUp"]] = 0.3
    for shut in (slice(0, 3), slice(10, 12), slice(20, 22)):  # at the start, on a z, on an m
        values[shut, INDEX["jawOpen"]] = 0.05
        values[shut, INDEX["mouthClose"]] = 0.05
    allowed = np.zeros(30, bool)
    allowed[19:23] = True  # the m
    out = reopen_strays(values, allowed, ArticulationConfig())
    gap = lip_gap(out)
    assert gap[10:12].min() > 0.3  # the z's closure bridged from its open neighbours
    np.testing.assert_array_equal(out[20:22], values[20:22])  # the m's stays
    np.testing.assert_array_equal(out[0:3], values[0:3])  # so does one at the clip's start
    others = np.setdiff1d(np.arange(52), indices(MOUTH))
    np.testing.assert_array_equal(out[:, others], values[:, others])


def test_a_transcript_reopens_lips_shut_off_its_p_b_m():
    """EmoDiff + the refiner shut the lips on the z of "easy" and after the th of "depth"; with the transcript
    the aligned phones say nothing bilabial is spoken there, so precise mode reopens them (2 such spans
    before)."""
    from dreamtalk.align import aligned_phones
    from dreamtalk.align.espeak import synthesize
    from dreamtalk.core.audio import prepare_audio
    from dreamtalk.core.request import GenerateRequest
    from dreamtalk.engines import generate
    from dreamtalk.evaluation import lipsync

    text = "It's easy to tell the depth of a well."
    spoken = synthesize(text, variant="belinda")
    audio = prepare_audio(spoken.audio, spoken.sample_rate, 16000)[0]
    (precise,) = generate(GenerateRequest(audio, 16000, seed=4, transcript=text))
    phones = aligned_phones(audio, 16000, text)
    gap = lip_gap(precise.values)
    assert lipsync.stray_closures(gap, phones, 25.0) == 0
    assert lipsync.closure_rate(gap, phones, 25.0) == 1.0


def test_a_transcript_puts_the_lips_on_its_aligned_phones(speech, monkeypatch, caplog):
    """Precise mode: with a transcript the default pipeline closes the lips on every frame of the forced
    alignment's p/b/m and opens them on its open vowels, detector installed or not; only the mouth moves;
    a transcript that cannot be aligned leaves the detector in charge, with a warning."""
    from dreamtalk.align import aligned_phones
    from dreamtalk.core.arkit import MOUTH, indices
    from dreamtalk.core.request import GenerateRequest
    from dreamtalk.engines import generate, installed
    from dreamtalk.models.articulation.labels import phone_probabilities

    audio, rate = speech
    text = "Maybe Bob will bring a map of the bay."
    (plain,) = generate(GenerateRequest(audio, rate, seed=4))
    p_bilabial, p_open = phone_probabilities(aligned_phones(audio, rate, text), plain.num_frames, 25.0)
    assert p_bilabial.sum() >= 6 and p_open.sum() >= 4
    others = np.setdiff1d(np.arange(52), indices(MOUTH))
    for detector in ("installed", "off"):
        if detector == "off":
            monkeypatch.setenv(installed.ARTICULATION_ENV, "off")
        (precise,) = generate(GenerateRequest(audio, rate, seed=4, transcript=text))
        gap = lip_gap(precise.values)
        assert np.all(gap[p_bilabial > 0] < 1e-6), detector
        assert gap[p_open > 0].min() > 0.05, detector
        np.testing.assert_array_equal(precise.values[:, others], plain.values[:, others])
    monkeypatch.delenv(installed.ARTICULATION_ENV)
    (unaligned,) = generate(GenerateRequest(audio, rate, seed=4, transcript="qxzv"))
    np.testing.assert_array_equal(unaligned.values, plain.values)
    assert "the lips are placed from the audio alone (no precise mode)" in caplog.text


def test_precise_without_a_transcript_aligns_whispers_transcript(speech, monkeypatch, caplog):
    """`precise` with no transcript: Whisper transcribes the speech and the lips follow that text's alignment
    (the same frames as asking with Whisper's text as the transcript) except around the words Whisper doubts,
    which keep the detector's lips; without Whisper, a warning and the detector's lips."""
    from dreamtalk.align import transcribe
    from dreamtalk.core.request import GenerateRequest
    from dreamtalk.engines import generate, installed
    from dreamtalk.models.articulation.labels import doubtful_frames

    if not transcribe.available():
        pytest.skip("the whisper extra is not installed")
    audio, rate = speech
    heard = transcribe.transcribe_words(audio)
    assert "bob" in heard.text.lower() and "map" in heard.text.lower()
    assert len(heard.words) == len(heard.text.split()) and all(0 <= w.probability <= 1 for w in heard.words)
    (precise,) = generate(GenerateRequest(audio, rate, seed=4, precise=True))
    (given,) = generate(GenerateRequest(audio, rate, seed=4, transcript=heard.text))
    (plain,) = generate(GenerateRequest(audio, rate, seed=4))
    settings = installed.installed_articulation("cpu").cfg
    doubtful = doubtful_frames(heard.words, precise.num_frames, 25.0, settings.doubt_below, settings.doubt_pad)
    assert doubtful.any() and not doubtful.all()  # Whisper hears "bay" as "way", probability 0.27
    np.testing.assert_array_equal(precise.values[~doubtful], given.values[~doubtful])
    np.testing.assert_array_equal(precise.values[doubtful], plain.values[doubtful])
    assert not np.array_equal(precise.values, plain.values)
    monkeypatch.setattr(transcribe, "available", lambda: False)
    (without,) = generate(GenerateRequest(audio, rate, seed=4, precise=True))
    np.testing.assert_array_equal(without.values, plain.values)
    assert "needs Whisper" in caplog.text


def test_words_whisper_doubts_keep_the_detectors_lips(speech, monkeypatch):
    """Whisper mishears some voices (espeak-ng's "The boy was there" as "The noise was near", probability 0.29),
    and the aligned phones of a misheard word are not the spoken ones: within `doubt_pad` of a word heard with a
    probability below `doubt_below` the lips are the detector's, elsewhere the aligned phones'."""
    from dreamtalk.align import transcribe
    from dreamtalk.align.transcribe import Heard, HeardWord
    from dreamtalk.core.request import GenerateRequest
    from dreamtalk.engines import generate
    from dreamtalk.models.articulation.config import ArticulationConfig

    audio, rate = speech
    text = "Maybe Bob will bring a map of the bay."
    words = [HeardWord(0.1 * k, 0.1 * k + 0.08, 0.9) for k in range(len(text.split()))]
    words[1] = HeardWord(0.6, 1.0, 0.2)  # "Bob", doubted
    monkeypatch.setattr(transcribe, "available", lambda: True)
    monkeypatch.setattr(transcribe, "transcribe_words", lambda audio16: Heard(text, words))
    (precise,) = generate(GenerateRequest(audio, rate, seed=4, precise=True))
    (given,) = generate(GenerateRequest(audio, rate, seed=4, transcript=text))
    (plain,) = generate(GenerateRequest(audio, rate, seed=4))
    pad = ArticulationConfig().doubt_pad
    times = np.arange(precise.num_frames) / 25.0
    doubtful = (times >= 0.6 - pad) & (times <= 1.0 + pad)
    np.testing.assert_array_equal(precise.values[doubtful], plain.values[doubtful])
    np.testing.assert_array_equal(precise.values[~doubtful], given.values[~doubtful])
    assert not np.array_equal(precise.values[doubtful], given.values[doubtful])
