"""Corpus build: reproducible from the seed, resumable, split by speaker, labelled by the procedural engine."""

import json

import numpy as np
import pytest
from corpus_helpers import TINY, tiny_corpus

from dreamtalk.align.espeak import synthesize
from dreamtalk.cli import main
from dreamtalk.core.errors import InputError
from dreamtalk.corpus import store
from dreamtalk.corpus.build import BuildConfig, build, synth_item
from dreamtalk.corpus.voices import TEST_VARIANTS, VAL_VARIANTS, VoiceSettings, sample_voice


def test_tiny_corpus_reaches_its_hours_and_is_consistent():
    corpus = store.Corpus(tiny_corpus())
    seconds = sum(r["num_samples"] for r in corpus.records) / store.SAMPLE_RATE
    assert seconds >= TINY.hours * 3600
    assert len({r["id"] for r in corpus.records}) == len(corpus.records)
    for record in corpus.records:
        curves, audio = corpus.curves(record), corpus.audio(record)
        assert abs(curves.num_frames - len(audio) / store.SAMPLE_RATE * store.FPS) <= 1
        assert curves.values.shape == (record["num_frames"], 52) and np.isfinite(curves.values).all()
        assert 0.0 < np.abs(audio).max() <= 1.0
        assert record["phones"] and record["phones"][-1][2] <= len(audio) / store.SAMPLE_RATE + 0.05
        assert record["labels"] == "procedural-1" and record["emotion"] in store_emotions()


def store_emotions():
    from dreamtalk.core.request import EMOTIONS

    return EMOTIONS


def test_same_seed_same_corpus_other_seed_other_corpus(tmp_path):
    again = build(tmp_path / "again", TINY)
    other = build(tmp_path / "other", BuildConfig(**{**TINY.__dict__, "seed": 4}))
    first = store.Corpus(tiny_corpus())
    second = store.Corpus(tmp_path / "again")
    assert again["utterances"] == len(first.records)
    assert [r["text"] for r in first.records] == [r["text"] for r in second.records]
    for a, b in zip(first.records, second.records):
        assert np.array_equal(first.audio(a), second.audio(b))
        assert np.array_equal(first.curves(a).values, second.curves(b).values)
    third = store.Corpus(tmp_path / "other")
    assert other["utterances"] > 0
    assert [r["text"] for r in third.records] != [r["text"] for r in first.records]


def test_resume_rebuilds_only_missing_shards_and_refuses_another_seed(tmp_path):
    root = tmp_path / "c"
    build(root, TINY)
    names = store.shard_names(root)
    kept = (root / "shards" / f"{names[0]}.npz").stat().st_mtime_ns
    (root / "shards" / f"{names[-1]}.npz").unlink()  # an interrupted build: one shard missing
    build(root, TINY)
    assert store.shard_names(root) == names
    assert (root / "shards" / f"{names[0]}.npz").stat().st_mtime_ns == kept
    before = (root / "manifest.jsonl").read_bytes()
    with pytest.raises(InputError, match="seed"):
        build(root, BuildConfig(**{**TINY.__dict__, "seed": 9}))
    assert (root / "manifest.jsonl").read_bytes() == before


def test_build_refuses_a_folder_that_is_not_a_corpus(tmp_path):
    (tmp_path / "notes.txt").write_text("mine")
    with pytest.raises(InputError, match="not a corpus"):
        build(tmp_path, TINY)
    assert (tmp_path / "notes.txt").read_text() == "mine"


def test_splits_are_by_speaker():
    records = [synth_item(0, shard, i).record for shard in range(6) for i in range(8)]
    by_split = {s: {r["speaker"] for r in records if r["split"] == s} for s in ("train", "val", "test")}
    assert by_split["train"] and by_split["test"]
    assert not by_split["train"] & by_split["test"] and not by_split["train"] & by_split["val"]
    assert by_split["test"] <= TEST_VARIANTS and by_split["val"] <= VAL_VARIANTS


def _rms(voice: VoiceSettings) -> tuple[float, float]:
    speech = synthesize("Maybe we can talk about the weather today.", voice=voice.voice, rate=voice.rate,
                        pitch=voice.pitch, pitch_range=voice.pitch_range, amplitude=voice.amplitude)
    return float(np.sqrt(np.mean(speech.audio**2))), len(speech.audio) / speech.sample_rate


def test_emotional_prosody_is_audible_angry_louder_and_faster_than_sad():
    louder = faster = 0
    for seed in range(6):
        angry = sample_voice(np.random.default_rng(seed), "angry", 0.9)
        sad = sample_voice(np.random.default_rng(seed), "sad", 0.9)  # same speaker and base prosody
        (rms_a, dur_a), (rms_s, dur_s) = _rms(angry), _rms(sad)
        louder += rms_a > rms_s
        faster += dur_a < dur_s
    assert louder == 6 and faster == 6


def test_cli_build_prints_a_summary(tmp_path, capsys):
    out = tmp_path / "cli"
    assert main(["corpus", "build", "--out", str(out), "--hours", "0.001", "--seed", "5", "--workers", "1",
                 "--no-real"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["utterances"] == len(store.Corpus(out).records) > 0
    assert main(["corpus", "build", "--out", str(out), "--hours", "0", "--no-real"]) == 2
