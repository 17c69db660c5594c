"""Harness results as a markdown table and JSON (per-utterance rows without the raw step arrays)."""

from __future__ import annotations

import json
import math
from pathlib import Path

from ..core.formats import atomic_write

# (summary key, label, format, what is good)
TABLE: tuple[tuple[str, str, str, str], ...] = (
    ("utterances", "utterances", "{:.0f}", ""),
    ("seconds", "audio seconds", "{:.0f}", ""),
    ("closure_rate", "lip: bilabial closure rate", "{:.3f}", "high (1 = every p/b/m closes)"),
    ("open_bilabial_auc", "lip: open-vowel vs bilabial AUC", "{:.3f}", "high (1 = perfect)"),
    ("best_lag_frames", "lip: audio/lip-gap best lag (frames)", "{:+.2f}", "near 0 (+ = lips late)"),
    ("lag_corr", "lip: correlation at best lag", "{:.3f}", "high"),
    ("mouth_mae", "lip: mouth-group MAE vs labels", "{:.4f}", "low"),
    ("emotion_accuracy", "emotion: classifier accuracy (8 classes)", "{:.3f}", "high"),
    ("contrast", "emotion: signature contrast vs neutral", "{:.3f}", "clearly > 0"),
    ("blink_rate", "dynamics: blinks per minute", "{:.1f}", "human 10-25"),
    ("step_p50", "dynamics: frame step p50", "{:.4f}", ""),
    ("step_p95", "dynamics: frame step p95", "{:.4f}", ""),
    ("step_p99", "dynamics: frame step p99", "{:.4f}", "no spikes"),
    ("step_max", "dynamics: frame step max", "{:.3f}", ""),
    ("seam_seconds", "dynamics: seam check audio seconds", "{:.0f}", ">= 60"),
    ("seam_ratio", "dynamics: join step / other step", "{:.2f}", "near 1"),
    ("seam_phase_rank", "dynamics: join grid rank among shifted grids", "{:.2f}", "not near 1"),
    ("upper_sd", "diversity: upper-face SD across seeds", "{:.4f}", "clearly > mouth"),
    ("head_sd_deg", "diversity: head SD across seeds (deg)", "{:.2f}", "> 0"),
    ("mouth_sd", "diversity: mouth SD across seeds", "{:.4f}", "low (lips agree)"),
    ("upper_to_mouth", "diversity: upper / mouth SD", "{:.1f}", "high"),
    ("rtf", "speed: real-time factor (per utterance)", "{:.3f}", "< 1"),
    ("seam_rtf", "speed: real-time factor (long audio)", "{:.3f}", "< 1"),
)


def _fmt(value, pattern: str) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "n/a"
    return pattern.format(value)


def markdown(results: dict, title: str) -> str:
    """A table of the summary: metric, value, what is good."""
    summary = results["summary"]
    lines = [f"### {title}", "", "| metric | value | good |", "|---|---|---|"]
    lines += [f"| {label} | {_fmt(summary.get(key), fmt)} | {good} |" for key, label, fmt, good in TABLE]
    return "\n".join(lines) + "\n"


def write(results: dict, out: Path, title: str) -> tuple[Path, Path]:
    """Write `eval.md` and `eval.json` into `out`."""
    out.mkdir(parents=True, exist_ok=True)
    rows = [{k: v for k, v in r.items() if k != "steps"} for r in results["rows"]]
    data = {"config": results["config"], "summary": results["summary"], "rows": rows}
    text = json.dumps(data, indent=1, default=float)
    md = atomic_write(out / "eval.md", lambda f: f.write(markdown(results, title).encode("utf-8")))
    js = atomic_write(out / "eval.json", lambda f: f.write(text.encode("utf-8")))
    return md, js


def side_by_side(summaries: list[dict], titles: list[str]) -> str:
    """One markdown table with a column per harness run (summaries from eval.json)."""
    lines = ["| metric | " + " | ".join(titles) + " | good |", "|---" * (len(titles) + 2) + "|"]
    for key, label, fmt, good in TABLE:
        cells = " | ".join(_fmt(s.get(key), fmt) for s in summaries)
        lines.append(f"| {label} | {cells} | {good} |")
    return "\n".join(lines) + "\n"


# (summary key, column, format) of the validation protocol's tables (docs/EVAL.md)
VALIDATION_COLUMNS: tuple[tuple[str, str, str], ...] = (
    ("clips", "clips", "{:.0f}"), ("seconds", "seconds", "{:.0f}"), ("closure_rate", "p/b/m closure", "{:.3f}"),
    ("open_bilabial_auc", "open/closed AUC", "{:.3f}"), ("lag_mean", "lag mean", "{:+.2f}"),
    ("lag_abs_mean", "mean abs lag", "{:.2f}"), ("lag_worst", "worst clip lag", "{:+.0f}"),
    ("lag_pooled", "pooled lag", "{:+.2f}"), ("stray_closures_per_min", "lips shut off p/b/m /min", "{:.1f}"),
    ("blinks_per_min", "blinks/min", "{:.1f}"),
    ("blink_complete", "full blinks", "{:.2f}"), ("blink_mean", "mean eyeBlink", "{:.3f}"),
    ("emotion_accuracy", "emotion acc.", "{:.3f}"), ("contrast", "contrast", "{:.3f}"),
    ("upper_sd", "upper-face SD across seeds", "{:.4f}"),
)


def validation_markdown(results: dict) -> str:
    """One table per engine: a row per validation set (lags in frames at 25 fps, + = lips late)."""
    from .protocol import REFERENCE, SYNTH_TIMING
    from .validation_set import SETS

    families = {s.name: s.family for s in SETS}
    engines = list(dict.fromkeys(e for per_engine in results["summary"].values() for e in per_engine))
    lines = []
    titles = {REFERENCE: f"{REFERENCE}: a mouth that follows the reference phones exactly (what the frame grid allows)"}
    titles |= {e: f"{e} (the synthesizer's own timing, not the aligner's that the tables above read)"
               for e in engines if e.endswith(SYNTH_TIMING)}
    header = "| set | voices | " + " | ".join(c[1] for c in VALIDATION_COLUMNS) + " |"
    for engine in engines:
        lines += [f"### {titles.get(engine, engine)}", "", header, "|---" * (len(VALIDATION_COLUMNS) + 2) + "|"]
        for name, per_engine in results["summary"].items():
            if engine not in per_engine:
                continue
            s = per_engine[engine]
            lines.append(f"| {name} | {families.get(name, '')} | "
                         + " | ".join(_fmt(s.get(key), fmt) for key, _, fmt in VALIDATION_COLUMNS) + " |")
        lines.append("")
    return "\n".join(lines)


def write_validation(results: dict, out: Path) -> tuple[Path, Path]:
    """Write `validation.md`, `validation.json` (config, summary, rows) and `validation_gaps.npz` (take 1's
    lip gap per set, engine and clip, keys SET/ENGINE/INDEX: for re-measuring lags) into `out`."""
    import numpy as np

    out.mkdir(parents=True, exist_ok=True)
    gaps = {f"{name}/{engine}/{i}": gap for name, per_engine in results.get("gaps", {}).items()
            for engine, clips in per_engine.items() for i, gap in enumerate(clips)}
    atomic_write(out / "validation_gaps.npz", lambda f: np.savez(f, **gaps))
    data = {k: results[k] for k in ("config", "summary", "rows")}
    text = json.dumps(data, indent=1, default=float)
    md = atomic_write(out / "validation.md", lambda f: f.write(validation_markdown(results).encode("utf-8")))
    js = atomic_write(out / "validation.json", lambda f: f.write(text.encode("utf-8")))
    return md, js
