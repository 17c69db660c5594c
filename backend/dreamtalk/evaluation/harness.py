"""The evaluation harness: one yardstick for every engine, run on a corpus split.

For each utterance of the split the engine generates curves from the audio (and transcript) with the
utterance's emotion label; the harness then measures lip sync (against the utterance's phones and audio
and its label curves), emotion (frozen classifier, signature contrast vs a neutral run of the same
audio), dynamics (blinks, frame steps, seams on >= 60 s of audio), diversity across seeds, and speed.
Definitions of every metric: docs/EVAL.md.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Literal

import numpy as np

from ..core.arkit import INDEX, MOUTH, indices
from ..core.curves import Curves
from ..core.errors import InputError
from ..core.request import DEFAULT_ENGINE, EMOTIONS, EmotionKey, GenerateRequest
from ..corpus.store import SAMPLE_RATE, Corpus, phones_of
from ..procedural.emotion import SIGNATURES
from . import dynamics, lipsync
from .classifier import EmotionClassifier, load_classifier


@dataclass(frozen=True)
class EvalConfig:
    """Settings of one harness run."""

    engine: str = DEFAULT_ENGINE  # engine registry name
    split: str = "test"  # corpus split: test (held-out synthesized voices), real, val, train
    limit: int | None = None  # at most this many utterances (spread evenly over the split)
    seeds: int = 3  # takes per utterance for the diversity measurement
    seam_seconds: float = 60.0  # length of the concatenated audio for the seam check
    window_seconds: float = 8.0  # window hop of the engine's sampler, for the seam check
    use_transcript: bool = True  # pass the transcript (forced alignment) to the engine
    seed: int = 1000  # first generation seed (label seeds differ, so MAE is not trivially 0)
    emotions: Literal["label", "cycle"] = "label"  # label: the utterance's; cycle: 8 emotions x 3 levels
    refine: bool = True  # lip refinement after a diffusion engine (the pipeline's default)
    guidance: float | None = None  # classifier-free guidance scale (diffusion engines; None: the engine's)
    precise: bool = False  # precise mode without a transcript (EmoDiff: Whisper's transcript, request.precise)


def generate(cfg: EvalConfig, audio: np.ndarray, text: str | None, emotion: str, intensity: float,
             seed: int, takes: int = 1) -> tuple[list[Curves], float]:
    """Run the engine once; return its takes and the wall time in seconds."""
    from ..engines import generate as run_engine

    request = GenerateRequest(audio=audio, sample_rate=SAMPLE_RATE, transcript=text or None, emotion=emotion,
                              intensity=intensity, seed=seed, fps=25.0, engine=cfg.engine, takes=takes,
                              refine=cfg.refine, guidance=cfg.guidance, precise=cfg.precise,
                              emotion_keys=[EmotionKey(0.0, emotion, intensity)])
    start = time.perf_counter()
    out = run_engine(request)
    return out, time.perf_counter() - start


def lip_metrics(curves: Curves, record: dict, audio: np.ndarray, label: Curves) -> dict:
    gap, phones = lipsync.lip_gap(curves.values), phones_of(record)
    lag, corr = lipsync.best_lag(audio, SAMPLE_RATE, gap, curves.fps)
    frames = min(curves.num_frames, label.num_frames)
    mouth = indices(MOUTH)
    mae = float(np.abs(curves.values[:frames, mouth] - label.values[:frames, mouth]).mean())
    return {"closure_rate": lipsync.closure_rate(gap, phones, curves.fps),
            "open_bilabial_auc": lipsync.open_vs_bilabial_auc(gap, phones, curves.fps),
            "best_lag_frames": float(lag), "lag_corr": corr, "mouth_mae": mae}


def contrast(curves: Curves, neutral: Curves, emotion: str) -> float:
    """Mean of the emotion's signature channels minus the same channels on the neutral run."""
    if emotion not in SIGNATURES:
        return float("nan")
    cols = [INDEX[n] for n in SIGNATURES[emotion]]
    return float(curves.values[:, cols].mean() - neutral.values[:, cols].mean())


CYCLE_INTENSITIES = (0.35, 0.6, 0.875)  # the middles of the three MEAD-like levels


def target_emotion(cfg: EvalConfig, record: dict, index: int) -> tuple[str, float]:
    """The emotion to ask for: the label, or (cycle) emotion index % 8 at level (index // 8) % 3."""
    if cfg.emotions == "label":
        return record["emotion"], record["intensity"]
    emotion = EMOTIONS[index % len(EMOTIONS)]
    return emotion, 0.0 if emotion == "neutral" else CYCLE_INTENSITIES[(index // len(EMOTIONS)) % 3]


def evaluate_utterance(cfg: EvalConfig, corpus: Corpus, record: dict, classifier: EmotionClassifier,
                       index: int = 0) -> dict:
    """Every per-utterance metric for one corpus record."""
    audio, label = corpus.audio(record), corpus.curves(record)
    emotion, intensity = target_emotion(cfg, record, index)
    text = record.get("text") if cfg.use_transcript else None
    takes, _ = generate(cfg, audio, text, emotion, intensity, cfg.seed, cfg.seeds)
    (neutral,), seconds = generate(cfg, audio, text, "neutral", 0.0, cfg.seed)
    first = takes[0]
    row = {"id": record["id"], "emotion": emotion, "intensity": intensity, "seconds": len(audio) / SAMPLE_RATE}
    row |= lip_metrics(first, record, audio, label)
    row |= {"predicted": classifier.predict(first), "contrast": contrast(first, neutral, emotion),
            "blink_rate": dynamics.blink_rate(first), "rtf": seconds / row["seconds"]}
    row |= dynamics.diversity(takes) if len(takes) > 1 else {}
    row["steps"] = dynamics.frame_steps(first)
    return row


def pick(records: list[dict], limit: int | None) -> list[dict]:
    if limit is None or limit >= len(records):
        return records
    return [records[i] for i in np.linspace(0, len(records) - 1, limit).round().astype(int)]


def seam_check(cfg: EvalConfig, corpus: Corpus, records: list[dict]) -> dict:
    """Concatenate utterances (0.2 s gaps) to >= seam_seconds, generate once, compare join steps."""
    parts, texts, total = [], [], 0.0
    gap = np.zeros(int(0.2 * SAMPLE_RATE), np.float32)
    for record in records * (1 + int(cfg.seam_seconds // 10)):
        if total >= cfg.seam_seconds:
            break
        parts += [corpus.audio(record), gap]
        texts.append(record.get("text", ""))
        total += record["num_samples"] / SAMPLE_RATE + 0.2
    audio = np.concatenate(parts)
    text = " ".join(texts) if cfg.use_transcript and all(texts) else None
    (curves,), seconds = generate(cfg, audio, text, "neutral", 0.0, cfg.seed)
    return dynamics.seam_ratio(curves, cfg.window_seconds) | {"seconds": total, "rtf": seconds / total}


def run(corpus: Corpus, cfg: EvalConfig, classifier: EmotionClassifier | None = None, progress=None) -> dict:
    """Evaluate `cfg.engine` on `cfg.split` of `corpus`; return per-utterance rows and the summary."""
    records = pick(corpus.select(split=cfg.split), cfg.limit)
    if not records:
        raise InputError(f"the corpus has no utterances in split {cfg.split!r}")
    classifier = classifier or load_classifier()
    rows = []
    for index, record in enumerate(records):
        if progress:
            progress("evaluate", index / len(records))
        rows.append(evaluate_utterance(cfg, corpus, record, classifier, index))
    seam = seam_check(cfg, corpus, records)
    if progress:
        progress("evaluate", 1.0)
    return {"config": cfg.__dict__, "summary": summarise(rows, seam), "rows": rows}


def summarise(rows: list[dict], seam: dict) -> dict:
    """Means over utterances (NaN-safe), emotion accuracy, step percentiles, seam figures."""
    def mean(key: str) -> float:
        values = np.array([r[key] for r in rows if key in r], float)
        return float(np.nanmean(values)) if values.size and np.isfinite(values).any() else float("nan")

    steps = np.concatenate([r["steps"] for r in rows])
    keys = ("closure_rate", "open_bilabial_auc", "best_lag_frames", "lag_corr", "mouth_mae", "contrast",
            "blink_rate", "upper_sd", "mouth_sd", "head_sd_deg", "rtf")
    summary = {"utterances": len(rows), "seconds": float(sum(r["seconds"] for r in rows))}
    summary |= {k: mean(k) for k in keys}
    mouth = summary["mouth_sd"]  # ratio of the means; inf when the lips are identical across seeds
    summary["upper_to_mouth"] = summary["upper_sd"] / mouth if mouth > 1e-6 else float("inf")
    summary["emotion_accuracy"] = float(np.mean([r["predicted"] == r["emotion"] for r in rows]))
    summary |= {f"step_p{p}": float(np.percentile(steps, p)) for p in (50, 95, 99)}
    summary["step_max"] = float(steps.max()) if steps.size else float("nan")
    summary |= {f"seam_{k}": v for k, v in seam.items()}
    return summary
