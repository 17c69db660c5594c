"""Evaluation harness: metrics measure what they claim, the frozen classifier judges emotions, `dreamtalk eval` runs."""

import json

import numpy as np
import pytest
from corpus_helpers import tiny_corpus
from synthetic_speech import make_utterance

from dreamtalk.cli import main
from dreamtalk.core.arkit import INDEX
from dreamtalk.core.curves import Curves
from dreamtalk.core.errors import InputError
from dreamtalk.core.request import EMOTIONS, EmotionKey
from dreamtalk.corpus.store import Corpus
from dreamtalk.evaluation import dynamics, harness
from dreamtalk.evaluation.classifier import ClassifierConfig, fit, load_classifier
from dreamtalk.evaluation.frontends import compare
from dreamtalk.procedural.engine import animate


def curves_from(values, fps=25.0):
    frames = len(values)
    return Curves(fps, np.asarray(values, np.float32), np.zeros((frames, 3), np.float32))


def test_blink_rate_counts_blinks_per_minute():
    values = np.zeros((1500, 52), np.float32)  # 60 s
    for start in range(10, 1500, 100):  # 15 blinks
        values[start: start + 5, [INDEX["eyeBlinkLeft"], INDEX["eyeBlinkRight"]]] = 0.9
    assert dynamics.blink_rate(curves_from(values)) == pytest.approx(15.0)


def test_seam_ratio_finds_steps_at_window_joins():
    rng = np.random.default_rng(0)
    values = np.clip(0.5 + np.cumsum(rng.normal(0, 0.005, (1500, 52)), axis=0), 0, 1)
    smooth = dynamics.seam_ratio(curves_from(values), window_seconds=8.0)
    assert smooth["joins"] == 7 and 0.7 < smooth["ratio"] < 1.4 and smooth["phase_rank"] < 0.95
    seamed = values.copy()
    for join in range(200, 1500, 200):
        seamed[join:] = np.clip(seamed[join:] + 0.1 * rng.choice([-1, 1], 52), 0, 1)
    seams = dynamics.seam_ratio(curves_from(seamed), window_seconds=8.0)
    assert seams["ratio"] > 3 and seams["phase_rank"] == 1.0


def test_diversity_separates_upper_face_from_lips():
    audio, rate, phones = make_utterance(20)
    takes = [animate(audio, rate, phones, 25.0, [EmotionKey(0, "happy", 0.7)], seed=s) for s in range(3)]
    div = dynamics.diversity(takes)
    assert div["upper_sd"] > 3 * div["mouth_sd"] and div["head_sd_deg"] > 0.1
    same = dynamics.diversity([takes[0]] * 3)
    assert same["upper_sd"] < 1e-6 and same["mouth_sd"] < 1e-6


def test_committed_classifier_recognises_every_emotion_on_unseen_audio():
    classifier = load_classifier()
    audio, rate, phones = make_utterance(30, seed=5)  # buzz speech: no voice the classifier saw
    for emotion in EMOTIONS:
        intensity = 0.0 if emotion == "neutral" else 0.6
        curves = animate(audio, rate, phones, 25.0, [EmotionKey(0, emotion, intensity)], seed=11)
        assert classifier.predict(curves) == emotion


def test_classifier_fit_save_load_round_trip(tmp_path):
    audio, rate, phones = make_utterance(12, seed=1)
    samples = [(animate(audio, rate, phones, 25.0, [EmotionKey(0, e, 0.7)], seed=s), e)
               for e in EMOTIONS for s in range(2)]
    classifier = fit(samples, ClassifierConfig(l2=1e-2))
    path = classifier.save(tmp_path / "clf.npz")
    back = load_classifier(path)
    assert np.allclose(back.log_probs(samples[3][0]), classifier.log_probs(samples[3][0]))
    np.savez(tmp_path / "bad.npz", meta=np.array(json.dumps({"format": "other"})))
    with pytest.raises(InputError, match="not a dreamtalk-emotion-classifier"):
        load_classifier(tmp_path / "bad.npz")


def test_harness_runs_the_procedural_engine_on_a_split():
    corpus = Corpus(tiny_corpus())
    split = corpus.records[0]["split"]
    cfg = harness.EvalConfig(split=split, limit=2, seeds=2, seam_seconds=12.0, window_seconds=4.0)
    results = harness.run(corpus, cfg)
    s = results["summary"]
    assert s["utterances"] == 2 and s["seam_seconds"] >= 12.0 and s["seam_joins"] >= 2
    assert 0.0 <= s["emotion_accuracy"] <= 1.0 and s["rtf"] > 0
    assert s["closure_rate"] >= 0.5 and s["lag_corr"] > 0.2 and s["mouth_mae"] < 0.05
    assert s["upper_sd"] > s["mouth_sd"]
    cycled = harness.run(corpus, harness.EvalConfig(split=split, limit=3, seeds=2, seam_seconds=5.0,
                                                    emotions="cycle"))
    assert [r["emotion"] for r in cycled["rows"]] == list(EMOTIONS[: len(cycled["rows"])])
    assert cycled["summary"]["emotion_accuracy"] == 1.0
    with pytest.raises(InputError, match="no utterances"):
        harness.run(corpus, harness.EvalConfig(split="nonexistent"))


def test_eval_cli_writes_markdown_and_json(tmp_path, capsys):
    corpus = Corpus(tiny_corpus())
    split = corpus.records[0]["split"]
    out = tmp_path / "eval"
    assert main(["eval", "--engine", "procedural", "--split", split, "--corpus", str(corpus.root), "--limit", "1",
                 "--seeds", "2", "--out", str(out)]) == 0
    assert "lip: bilabial closure rate" in (out / "eval.md").read_text()
    data = json.loads((out / "eval.json").read_text())
    assert data["summary"]["utterances"] == 1 and data["rows"][0]["id"] == corpus.select(split)[0]["id"]
    assert main(["eval", "--corpus", str(tmp_path), "--out", str(out)]) == 2
    capsys.readouterr()


def test_frontend_probe_learns_lips_from_logmel():
    corpus = Corpus(tiny_corpus())
    for record in corpus.records:  # the tiny corpus may lack a split: evaluate on what it has
        record["split"] = "train" if record is not corpus.records[-1] else "test"
    corpus.records[-2]["split"] = "val"
    results = compare(corpus, ["logmel"], train_limit=50, test_limit=5)
    assert results["logmel"]["test"]["gap_corr"] > 0.3


@pytest.mark.parametrize("refine", [False, True])
def test_harness_passes_engine_options_through(monkeypatch, refine):
    import dreamtalk.engines as engines
    from dreamtalk.core.curves import zeros

    seen = []
    monkeypatch.setattr(engines, "generate", lambda request: seen.append(request) or [zeros(10, 25.0)])
    cfg = harness.EvalConfig(engine="emodiff", refine=refine, guidance=1.25)
    harness.generate(cfg, np.zeros(16000, np.float32), None, "happy", 0.5, seed=3, takes=2)
    assert seen[0].engine == "emodiff" and seen[0].refine is refine and seen[0].takes == 2
    assert seen[0].guidance == 1.25
