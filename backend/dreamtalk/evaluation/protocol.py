"""The validation protocol (issue 18; docs/EVAL.md "Validation protocol"): every engine on the validation
sets (`validation_set.SETS`: voice families and real speakers that nothing trains or is tuned on), measured
the same way on every set: p/b/m closure, open-vs-bilabial AUC and the phone-locked lag on forced-aligned
phones, blinks with hysteresis and their completeness, emotion accuracy and signature contrast (emotions
cycled over the clips: 8 emotions x 3 levels), and whether seeds differ.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..core.curves import Curves
from ..core.request import EMOTIONS
from ..corpus.store import phones_of
from . import dynamics, lipsync
from .harness import CYCLE_INTENSITIES, EvalConfig, contrast, generate
from .validation_set import RATE, SETS

# name: (engine, lip refinement); "emodiff-aligned" is the default engine given the transcript (precise mode),
# "emodiff-transcribed" the same on Whisper's transcript instead (`precise` without a transcript)
ENGINES = {"emodiff": ("emodiff", True), "emodiff-norefine": ("emodiff", False),
           "emodiff-aligned": ("emodiff", True), "emodiff-transcribed": ("emodiff", True),
           "procedural": ("procedural", True)}
PRECISE_ENGINES = frozenset({"emodiff-transcribed"})  # asked for precise mode (request.precise)
MAX_LAG = 5.0  # frames searched either side for the phone-locked lag
REFERENCE = "reference"  # summary entry per set: the lip measures on a mouth that follows the phones exactly
SYNTH_TIMING = " vs espeak-ng's events"  # summary entries ENGINE + this: the lip measures read on the phone events
# espeak-ng itself gave (sets whose clips carry them): timings the aligner behind the reference phones did not make


@dataclass(frozen=True)
class ValidationConfig:
    """Settings of one validation run."""

    engines: tuple[str, ...] = tuple(ENGINES)  # names from ENGINES
    sets: tuple[str, ...] = tuple(s.name for s in SETS)  # names from validation_set.SETS
    takes: int = 2  # takes per clip (seeds seed, seed+1: do they differ?)
    seed: int = 2000  # first generation seed
    limit: int | None = None  # at most this many clips per set (quick looks; the tables use all)
    transcript_engines: tuple[str, ...] = ("procedural", "emodiff-aligned")  # given the transcript (forced alignment)
    guidance: float | None = None  # diffusion guidance scale (None: the engine's)


def cycled_emotion(index: int) -> tuple[str, float]:
    """Emotion index % 8 at level (index // 8) % 3 (neutral at intensity 0)."""
    emotion = EMOTIONS[index % len(EMOTIONS)]
    return emotion, 0.0 if emotion == "neutral" else CYCLE_INTENSITIES[(index // len(EMOTIONS)) % 3]


def lip_metrics(gap: np.ndarray, phones: list, fps: float) -> dict:
    """Per-clip lip figures of a lip gap against the clip's phones."""
    return {"closure_rate": lipsync.closure_rate(gap, phones, fps),
            "open_bilabial_auc": lipsync.open_vs_bilabial_auc(gap, phones, fps),
            "lag": lipsync.phone_locked_lag([(gap, phones)], fps, MAX_LAG),
            "stray_closures": lipsync.stray_closures(gap, phones, fps)}


def clip_metrics(takes: list[Curves], neutral: Curves, clip: dict, emotion: str, classifier) -> dict:
    """Every per-clip figure of the protocol for one engine's output."""
    first = takes[0]
    row = lip_metrics(lipsync.lip_gap(first.values), phones_of(clip), first.fps)
    row |= {"predicted": classifier.predict(first), "contrast": contrast(first, neutral, emotion)}
    row |= dynamics.blink_stats(first)
    if len(takes) > 1:
        row |= {"upper_sd": dynamics.diversity(takes)["upper_sd"]}
    return row


def run_clip(cfg: ValidationConfig, clip: dict, index: int, classifier) -> tuple[list[dict], dict[str, np.ndarray]]:
    """All engines on one clip (engines in turn, so the audio features are computed once):
    rows and each engine's lip gap (for pooled lags)."""
    emotion, intensity = cycled_emotion(index)
    rows, gaps = [], {}
    for name in cfg.engines:
        engine, refine = ENGINES[name]
        run = EvalConfig(engine=engine, refine=refine, guidance=cfg.guidance, precise=name in PRECISE_ENGINES)
        text = clip["text"] if name in cfg.transcript_engines and clip["text"] else None
        takes, _ = generate(run, clip["audio"], text, emotion, intensity, cfg.seed, cfg.takes)
        (neutral,), _ = generate(run, clip["audio"], text, "neutral", 0.0, cfg.seed)
        row = {"id": clip["id"], "set": clip["set"], "voice": clip["voice"], "engine": name, "emotion": emotion,
               "intensity": intensity, "seconds": len(clip["audio"]) / RATE}
        rows.append(row | clip_metrics(takes, neutral, clip, emotion, classifier))
        gaps[name] = lipsync.lip_gap(takes[0].values)
    return rows, gaps


@dataclass
class SetResult:
    """Rows and lip gaps of one set."""

    rows: list[dict] = field(default_factory=list)
    gaps: dict[str, list[np.ndarray]] = field(default_factory=dict)
    phones: list[list] = field(default_factory=list)
    synth_phones: list[list] = field(default_factory=list)  # the synthesizer's own phones, where the clips carry them


def summarise(rows: list[dict], gaps: list[np.ndarray], phones: list[list], fps: float = 25.0) -> dict:
    """Figures of one engine on one set."""
    minutes = sum(r["seconds"] for r in rows) / 60.0
    episodes = sum(r["episodes"] for r in rows)
    return lip_summary(rows, gaps, phones, fps) | {
        "seconds": 60.0 * minutes, "blinks_per_min": sum(r["blinks"] for r in rows) / max(minutes, 1e-9),
        "blink_complete": sum(r["complete"] for r in rows) / episodes if episodes else float("nan"),
        "blink_mean": sum(r["blink_mean"] * r["seconds"] for r in rows) / max(60.0 * minutes, 1e-9),
        "emotion_accuracy": float(np.mean([r["predicted"] == r["emotion"] for r in rows])),
        "contrast": _mean(rows, "contrast"), "upper_sd": _mean(rows, "upper_sd")}


def _mean(rows: list[dict], key: str) -> float:
    values = np.array([r[key] for r in rows if key in r], float)
    return float(np.nanmean(values)) if np.isfinite(values).any() else float("nan")


def lip_summary(rows: list[dict], gaps: list[np.ndarray], phones: list[list], fps: float = 25.0) -> dict:
    """The lip figures of one engine on one set from its per-clip rows (`lip_metrics`) and lip gaps."""
    lags = np.array([r["lag"] for r in rows], float)
    finite = np.isfinite(lags)
    minutes = sum(len(gap) for gap in gaps) / fps / 60.0
    worst = int(np.nanargmax(np.where(finite, np.abs(lags), -1))) if finite.any() else None
    return {"clips": len(rows), "closure_rate": _mean(rows, "closure_rate"),
            "open_bilabial_auc": _mean(rows, "open_bilabial_auc"),
            "lag_mean": float(np.nanmean(lags)) if finite.any() else float("nan"),
            "lag_abs_mean": float(np.nanmean(np.abs(lags))) if finite.any() else float("nan"),
            "lag_worst": float(lags[worst]) if worst is not None else float("nan"),
            "lag_worst_clip": rows[worst]["id"] if worst is not None else "",
            "lag_pooled": lipsync.phone_locked_lag(list(zip(gaps, phones)), fps, MAX_LAG, 0.25),
            "stray_closures_per_min": sum(r["stray_closures"] for r in rows) / max(minutes, 1e-9)}


def reference_summary(ids: list[str], phones: list[list], frame_counts: list[int], fps: float = 25.0,
                      hold: float = 0.0) -> dict:
    """The lip figures of `lipsync.reference_gap` (a mouth following the phones exactly, closures held `hold`
    seconds beyond their phones) on the clips of one set: what the frame grid allows on its phones at `fps`."""
    gaps = [lipsync.reference_gap(p, fps, n, hold) for p, n in zip(phones, frame_counts)]
    return gaps_summary(ids, gaps, phones, fps)


def gaps_summary(ids: list[str], gaps: list[np.ndarray], phones: list[list], fps: float = 25.0) -> dict:
    """The lip figures of lip gaps read against the given phones, clip by clip."""
    rows = [{"id": i} | lip_metrics(gap, p, fps) for i, gap, p in zip(ids, gaps, phones)]
    return lip_summary(rows, gaps, phones, fps)


def run(cfg: ValidationConfig, progress=None) -> dict:
    """Every engine on every set: {"config", "summary": {set: {engine: figures}}, "rows": [...]}, and the
    lip gaps per set and engine under "gaps" (for the lag diagnosis; not written to JSON)."""
    from .classifier import load_classifier
    from .validation_set import load_set

    classifier, results = load_classifier(), {}
    chosen = [s for s in SETS if s.name in cfg.sets]
    for number, voice_set in enumerate(chosen):
        clips = load_set(voice_set)[: cfg.limit]
        result = results.setdefault(voice_set.name, SetResult())
        for index, clip in enumerate(clips):
            if progress:
                progress(voice_set.name, (number + index / len(clips)) / len(chosen))
            rows, gaps = run_clip(cfg, clip, index, classifier)
            result.rows += rows
            result.phones.append(phones_of(clip))
            if "phones_espeak" in clip:
                result.synth_phones.append(phones_of({"phones": clip["phones_espeak"]}))
            for name, gap in gaps.items():
                result.gaps.setdefault(name, []).append(gap)
    summary = {name: {engine: summarise([r for r in res.rows if r["engine"] == engine], res.gaps[engine], res.phones)
                      for engine in cfg.engines} for name, res in results.items()}
    for name, res in results.items():
        if cfg.engines:
            ids = [r["id"] for r in res.rows if r["engine"] == cfg.engines[0]]
            frame_counts = [len(gap) for gap in res.gaps[cfg.engines[0]]]
            summary[name][REFERENCE] = reference_summary(ids, res.phones, frame_counts)
            if len(res.synth_phones) == len(res.phones):
                for engine in cfg.engines:
                    summary[name][engine + SYNTH_TIMING] = gaps_summary(ids, res.gaps[engine], res.synth_phones)
    return {"config": cfg.__dict__, "summary": summary, "rows": [r for res in results.values() for r in res.rows],
            "gaps": {name: res.gaps for name, res in results.items()}}
