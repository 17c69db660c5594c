"""Issue 18: corpus labels timed on forced alignment, blink-free labels, MBROLA phones, augmented audio."""

from dataclasses import replace

import numpy as np
import pytest
from corpus_helpers import TINY, tiny_corpus

from dreamtalk.align.phones import PhoneSegment
from dreamtalk.align.retime import EVENT_LEAD_MS, boundary_offsets, retime, shift_events
from dreamtalk.core.arkit import INDEX
from dreamtalk.core.errors import InputError
from dreamtalk.corpus import store
from dreamtalk.corpus.augment import augment, reverb
from dreamtalk.corpus.build import BuildConfig, build
from dreamtalk.corpus.labels import LEGACY, LabelConfig, make_labels, of_header
from dreamtalk.corpus.mbrola import MbrolaSettings, pho_text, symbol


def segs(*items):
    return [PhoneSegment(p, s, e) for p, s, e in items]


EVENTS = segs(("SIL", 0.0, 0.2), ("P", 0.2, 0.3), ("AA", 0.3, 0.5), ("M", 0.5, 0.6), ("AA", 0.6, 0.8),
              ("SIL", 0.8, 1.0))


def test_retime_moves_every_boundary_to_the_aligner_and_keeps_the_phones():
    aligned = segs(("SIL", 0.0, 0.16), ("P", 0.16, 0.28), ("AA", 0.28, 0.49), ("M", 0.49, 0.58),
                   ("AA", 0.58, 0.8), ("SIL", 0.8, 1.0))
    out = retime(EVENTS, aligned)
    assert [p.phone for p in out] == [p.phone for p in EVENTS]
    assert np.allclose([p.start for p in out], [0.0, 0.16, 0.28, 0.49, 0.58, 0.8])
    assert out[-1].end == 1.0 and all(a.end == b.start for a, b in zip(out, out[1:]))


def test_retime_interpolates_unmatched_phones_and_ignores_misalignments():
    aligned = segs(("SIL", 0.0, 0.17), ("P", 0.17, 0.27), ("AA", 0.27, 0.5), ("N", 0.5, 0.61),
                   ("AA", 0.61, 0.8), ("SIL", 0.8, 1.0))  # M heard as N: its ends come from the neighbours
    out = retime(EVENTS, aligned)
    assert out[3].phone == "M" and (out[3].start, out[3].end) == pytest.approx((0.5, 0.61))
    two = segs(("SIL", 0.0, 0.2), ("P", 0.2, 0.3), ("AA", 0.3, 0.5), ("M", 0.5, 0.55), ("B", 0.55, 0.6),
               ("AA", 0.6, 0.8), ("SIL", 0.8, 1.0))
    out = retime(two, segs(("SIL", 0.0, 0.2), ("P", 0.2, 0.3), ("AA", 0.3, 0.48), ("N", 0.48, 0.53),
                           ("D", 0.53, 0.6), ("AA", 0.6, 0.8), ("SIL", 0.8, 1.0)))
    assert out[4].start == pytest.approx(0.55 + np.interp(0.55, [0.5, 0.6], [-0.02, 0.0]))  # between knots
    far = segs(("SIL", 0.0, 0.5), ("P", 0.5, 0.55), ("AA", 0.55, 0.6), ("M", 0.6, 0.65), ("AA", 0.65, 0.7),
               ("SIL", 0.7, 1.0))  # everything 0.1-0.3 s away: not trusted, the events stay
    assert retime(EVENTS, far) is None
    times, offsets, matched = boundary_offsets(EVENTS, far)
    assert matched < 0.6


def test_shift_events_leads_each_phone_by_its_measured_lead():
    out = shift_events(EVENTS)
    assert out[1].start == pytest.approx(0.2 - EVENT_LEAD_MS["P"] / 1000)
    assert out[3].start == pytest.approx(0.5 - 0.016)  # M: the consonant default
    assert out[0].start == 0.0 and out[-1].end == 1.0
    assert all(p.end > p.start for p in out)


def test_blink_free_labels_keep_the_same_gaze_and_head_and_lids_at_their_emotion_level():
    audio = (0.1 * np.sin(np.arange(32000) * 0.05)).astype(np.float32)
    with_blinks = make_labels(audio, 16000, EVENTS * 1, 25.0, "fear", 0.8, 7, LabelConfig("aligned", True))
    without = make_labels(audio, 16000, EVENTS * 1, 25.0, "fear", 0.8, 7, LabelConfig("aligned", False))
    lids = [INDEX["eyeBlinkLeft"], INDEX["eyeBlinkRight"]]
    assert with_blinks.values[:, lids].max() > 0.5 and without.values[:, lids].max() < 0.05
    assert np.allclose(with_blinks.head_pose, without.head_pose)
    assert np.allclose(with_blinks.eye_rotation, without.eye_rotation)


def test_corpus_header_records_the_label_settings_and_resume_refuses_others(tmp_path):
    corpus = store.Corpus(tiny_corpus())
    assert of_header(corpus.header) == LabelConfig() and of_header({"seed": 0}) == LEGACY
    assert {r["label_timing"] for r in corpus.records} <= {"aligned", "shifted"}
    assert all(r["phones_events"] and r["phones"] for r in corpus.records)
    lids = [INDEX["eyeBlinkLeft"], INDEX["eyeBlinkRight"]]
    assert max(corpus.curves(r).values[:, lids].max() for r in corpus.records) < 0.05
    root = tmp_path / "c"
    build(root, BuildConfig(**{**TINY.__dict__, "hours": 0.0005}))
    with pytest.raises(InputError, match="label-timing aligned"):
        build(root, BuildConfig(**{**TINY.__dict__, "hours": 0.0005, "labels": LEGACY}))


def test_retimed_labels_lead_the_events_as_the_aligner_does():
    corpus = store.Corpus(tiny_corpus())
    starts = [(e[1], p[1]) for r in corpus.records for e, p in zip(r["phones_events"], r["phones"])
              if e[0] in ("P", "T", "K")]
    assert starts and np.median([e - p for e, p in starts]) > 0.02  # voiceless stops start 20+ ms earlier


def test_mbrola_phonemes_and_pho_lines():
    assert symbol("P", "us1", 0.08, "AA") == "p_h" and symbol("P", "us3", 0.08, "AA") == "p"
    assert symbol("AH", "us1", 0.05, "T") == "@" and symbol("AH", "us1", 0.12, "T") == "V"
    assert symbol("IY", "en1", 0.1, "SIL") == "i:" and symbol("IY", "us2", 0.1, "SIL") == "i"
    settings = MbrolaSettings("us2", "m1", 170, 12.0, 1.0, 1.0)
    pho = pho_text(EVENTS, np.zeros(100, np.float32), 100.0, settings)
    lines = pho.splitlines()
    assert lines[0] == "_ 200" and lines[1].startswith("p_h 100 10 230.0 50 230.0 90 230.0")
    assert sum(int(line.split()[1]) for line in lines) == 1001  # the phones' 1000 ms + the closing pause


def test_augmented_audio_keeps_length_level_and_timing_and_is_reproducible():
    rng = np.random.default_rng(0)
    audio = np.zeros(16000, np.float32)
    audio[4000:4400] = rng.standard_normal(400).astype(np.float32) * 0.3
    wet = reverb(audio.astype(np.float64), 16000, 0.5, 0.5, np.random.default_rng(1))
    assert np.argmax(np.abs(wet)) < 4400 and np.abs(wet[:4000]).max() < 1e-9  # nothing arrives early
    speech = (0.2 * np.sin(np.arange(32000) * 0.07) * (np.arange(32000) % 8000 < 4000)).astype(np.float32)
    one = augment(speech, 16000, np.random.default_rng([5, 1]))
    assert one.shape == speech.shape and np.array_equal(one, augment(speech, 16000, np.random.default_rng([5, 1])))
    assert not np.allclose(one, speech) and np.sqrt(np.mean(one**2)) == pytest.approx(np.sqrt(np.mean(speech**2)), 0.05)


def test_corpus_caches_augmented_features_apart(tmp_path):
    from corpus_helpers import copy_of_tiny

    from dreamtalk.features import get_frontend

    corpus = store.Corpus(copy_of_tiny(tmp_path / "c"))
    record, frontend = corpus.records[0], get_frontend("logmel")
    clean, copy = corpus.features(record, frontend), corpus.features(record, frontend, 1)
    assert clean.shape == copy.shape and not np.allclose(clean, copy)
    assert (corpus.root / "features" / frontend.tag / "aug1" / f"{record['id']}.npy").is_file()
    assert np.array_equal(copy, corpus.features(record, frontend, 1))


def test_speed_copy_moves_every_frequency_and_time_by_its_factor_and_its_phones_follow():
    from dreamtalk.corpus.augment import SPEEDS, change_speed, scaled_phones, speed_of

    t = np.arange(16000) / 16000
    audio = (0.3 * np.sin(2 * np.pi * 200 * t) * ((t >= 0.5) & (t < 0.6))).astype(np.float32)
    fast = change_speed(audio, 1.1)
    assert len(fast) == pytest.approx(16000 / 1.1, abs=1)
    loud = np.flatnonzero(np.abs(fast) > 0.15) / 16000
    (burst,) = scaled_phones([store.Phone("AA", 0.5, 0.6)], 1.1)
    assert loud.min() == pytest.approx(burst.start, abs=0.002) and loud.max() == pytest.approx(burst.end, abs=0.002)
    spectrum = np.abs(np.fft.rfft(fast[int(burst.start * 16000): int(burst.end * 16000)], 16000))
    assert np.argmax(spectrum) == pytest.approx(220, abs=2)  # 200 Hz played 1.1x as fast
    factors = {speed_of(f"utt-{i}", 1) for i in range(40)}
    assert factors == set(SPEEDS) and speed_of("utt-3", 1) == speed_of("utt-3", 1)
    assert [speed_of("utt-3", k) for k in (1, 2, 3, 4)] != [speed_of("utt-3", 1)] * 4


def test_corpus_caches_speed_copies_apart_and_the_detector_reads_them_with_their_phones(tmp_path):
    from corpus_helpers import copy_of_tiny

    from dreamtalk.corpus.augment import scaled_phones, speed_of
    from dreamtalk.features import get_frontend
    from dreamtalk.models.articulation.labels import frame_classes
    from dreamtalk.models.articulation.train import load_utterances

    corpus = store.Corpus(copy_of_tiny(tmp_path / "c"))
    record, frontend = next(r for r in corpus.records if r.get("phones")), get_frontend("logmel")
    factor = speed_of(record["id"], 1)
    fast = corpus.features(record, frontend, speed=1)
    assert len(fast) == round(record["num_frames"] / factor) != record["num_frames"]
    assert (corpus.root / "features" / frontend.tag / "speed1" / f"{record['id']}.npy").is_file()
    with pytest.raises(ValueError, match="either augmented or sped up"):
        corpus.features(record, frontend, augment=1, speed=1)
    utterances = load_utterances(corpus.root, frontend.tag, record["split"], speed=1)
    records = [r for r in corpus.select(record["split"]) if r.get("phones")]
    assert len(utterances) == 2 * len(records)
    clean, copy = utterances[2 * records.index(record): 2 * records.index(record) + 2]
    assert len(clean.classes) == record["num_frames"] and np.array_equal(copy.features, fast)
    timed = scaled_phones(store.phones_of(record), factor)
    assert np.array_equal(copy.classes, frame_classes(timed, len(fast), 25.0))


def test_labels_remade_with_another_closure_hold_change_the_mouth_around_bilabials_only():
    """`train lip --closure-hold`: a stored utterance's labels made again with the corpus' own settings are
    its stored labels; with closures on the phones only (hold 0) only the mouth changes, fewer frames are
    shut, and the closure weights the loss reads shrink with them."""
    from dataclasses import replace

    from dreamtalk.core.arkit import MOUTH, indices
    from dreamtalk.corpus.labels import remade_labels
    from dreamtalk.evaluation.lipsync import lip_gap
    from dreamtalk.models.emodiff.data import closure_frames, load_corpus

    root = tiny_corpus()
    corpus = store.Corpus(root)
    labels = of_header(corpus.header)
    record = next(r for r in corpus.records if sum(p[0] in ("P", "B", "M") for p in r["phones"]) >= 2)
    stored = corpus.curves(record)
    again = np.abs(remade_labels(corpus, record, labels).values - stored.values)
    assert again.mean() < 1e-4 and again.max() < 0.01  # the stored audio and labels are rounded
    on_phones = remade_labels(corpus, record, replace(labels, closure_hold=0.0))
    changed = np.flatnonzero(np.abs(on_phones.values - stored.values).max(axis=0) > 0.01)
    assert len(changed) and set(changed) <= set(indices(MOUTH))
    shut = lambda curves: int((lip_gap(curves.values) < 0.02).sum())  # noqa: E731
    assert shut(on_phones) < shut(stored)
    frames = len(stored.values)
    on_phones_cfg = replace(labels, closure_hold=0.0).procedural()
    assert closure_frames(record, frames, 25.0, on_phones_cfg).sum() < closure_frames(record, frames, 25.0).sum()
    default, remade = (load_corpus(root, "logmel-1", closure_hold=h, limit=4) for h in (None, 0.0))
    assert all(np.array_equal(a.features, b.features) for a, b in zip(default, remade))
    assert any(not np.allclose(a.x, b.x) for a, b in zip(default, remade))


def test_train_lip_closure_hold_runs_on_a_built_corpus_and_is_refused_elsewhere(tmp_path, capsys):
    """`train lip --closure-hold 0` trains on a built corpus (training and validation labels remade) and the
    checkpoint, exported too, records the labels it learned from (without the option: the corpus' own); a folder
    of clips or a negative hold is refused in one line; `train emodiff` has no such option."""
    from corpus_helpers import copy_of_tiny

    from dreamtalk.cli import main
    from dreamtalk.corpus.store import Corpus
    from dreamtalk.models.emodiff.data import load_corpus
    from dreamtalk.models.lip.model import LipModel

    corpus = copy_of_tiny(tmp_path / "corpus")
    out = tmp_path / "lip.pt"
    assert main(["train", "lip", "--corpus", str(corpus), "--frontend", "logmel-1", "--closure-hold", "0",
                 "--steps", "2", "--batch", "8", "--out", str(out)]) == 0 and out.is_file()
    own = of_header(Corpus(corpus).header)
    assert LipModel.load(out).labels == replace(own, closure_hold=0.0).header()
    assert main(["train", "lip-export", str(out), str(tmp_path / "shipped.pt")]) == 0
    assert LipModel.load(tmp_path / "shipped.pt").labels["label_closure_hold"] == 0.0
    assert main(["train", "lip", "--corpus", str(corpus), "--frontend", "logmel-1", "--steps", "2", "--batch", "8",
                 "--out", str(tmp_path / "own.pt")]) == 0
    assert LipModel.load(tmp_path / "own.pt").labels == own.header()
    (tmp_path / "clips").mkdir()
    with pytest.raises(InputError, match="cannot be remade"):
        load_corpus(tmp_path / "clips", "logmel-1", closure_hold=0.0)
    capsys.readouterr()
    with pytest.raises(SystemExit):
        main(["train", "lip", "--corpus", str(corpus), "--closure-hold", "-0.01", "--out", str(tmp_path / "l.pt")])
    assert "must be 0 or more seconds" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["train", "emodiff", "--corpus", str(corpus), "--closure-hold", "0", "--out", str(tmp_path / "e.pt")])
