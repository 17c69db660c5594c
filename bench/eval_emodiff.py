"""Measure an EmoDiff checkpoint on a built corpus' held-out split, for what the evaluation harness
(`dreamtalk eval --engine emodiff`) does not cover: seams on >= 5 minutes (max join step vs the 99.9th
percentile of the other steps), locked frames, seed diversity with lip agreement, blink rate, intensity
monotonicity of the signature contrast, and lip sync on the split's phones.

Usage: .venv/bin/python bench/eval_emodiff.py --checkpoint PATH --corpus DIR [--split test] [--json F]
"""

from __future__ import annotations

import argparse
import json

import numpy as np
import torch

from dreamtalk.core.curves import Curves
from dreamtalk.corpus.store import Corpus, phones_of
from dreamtalk.engines.styles import emotion_style
from dreamtalk.evaluation import emodiff_metrics as metrics
from dreamtalk.evaluation.harness import contrast
from dreamtalk.evaluation.lipsync import best_lag, closure_rate, lip_gap, open_vs_bilabial_auc
from dreamtalk.features import by_tag as front_end
from dreamtalk.models.emodiff.conditions import StyleKey
from dreamtalk.models.emodiff.config import SamplerConfig
from dreamtalk.models.emodiff.generate import generate
from dreamtalk.models.emodiff.model import EmoDiff
from dreamtalk.models.pose import curves_to_x
from dreamtalk.models.windows import window_starts

RATE = 16000


def joined(corpus: Corpus, records: list[dict], seconds: float) -> np.ndarray:
    """Utterances joined with 0.2 s gaps until `seconds` of audio."""
    parts, total, gap = [], 0.0, np.zeros(int(0.2 * RATE), np.float32)
    while total < seconds:
        for r in records:
            parts += [corpus.audio(r), gap]
            total += r["num_samples"] / RATE + 0.2
            if total >= seconds:
                break
    return np.concatenate(parts)


def run(model, audio: np.ndarray, emotion: str, intensity: float = 1.0, **kw) -> np.ndarray:
    frames = int(round(len(audio) / RATE * model.cfg.fps))
    feats = front_end(model.front_end)(audio, RATE, model.cfg.fps, frames)
    keys = [StyleKey(0.0, emotion_style(model, emotion), intensity)]
    return generate(model, feats, kw.pop("cfg", SamplerConfig()), keys, **kw)


def curves(x: np.ndarray) -> Curves:
    return Curves(25.0, np.clip(x[:, :52], 0, 1), x[:, 52:])


def eval_lipsync(model, corpus, records) -> dict:
    rows = []
    for r in records:
        audio, phones = corpus.audio(r), phones_of(r)
        gap = lip_gap(curves(run(model, audio, r["emotion"], seed=1)[0]).values)
        rows.append((closure_rate(gap, phones, 25.0), open_vs_bilabial_auc(gap, phones, 25.0),
                     best_lag(audio, RATE, gap, 25.0)[0]))
    a = np.array(rows, float)
    return {"closure": float(np.nanmean(a[:, 0])), "auc": float(np.nanmean(a[:, 1])),
            "mean_lag": float(a[:, 2].mean()), "max_abs_lag": float(np.abs(a[:, 2]).max())}


def eval_takes(model, corpus, records) -> dict:
    takes = run(model, joined(corpus, records, 60.0), "happy", takes=4, seed=0)
    spread, corr = metrics.seed_diversity(takes)
    blinks = [metrics.blink_rate(curves(t).values, 25.0) for t in takes]
    return {"upper_spread_ratio": spread, "lip_gap_corr": corr, "blinks_per_min": float(np.mean(blinks))}


def eval_long(model, corpus, records, modes) -> dict:
    audio = joined(corpus, records, 300.0)
    out = {"seconds": len(audio) / RATE}
    for mode in modes:
        cfg = SamplerConfig(long_mode=mode)
        x = run(model, audio, "sad", cfg=cfg, seed=1)[0]
        out[f"seam_ratio_{mode}"] = metrics.seam_ratio(x, window_starts(len(x), model.cfg.window, cfg.overlap),
                                                       model.cfg.window)
    return out


def eval_locked(model, corpus, record) -> dict:
    take = curves_to_x(corpus.curves(record), 25.0)
    mask = np.zeros(len(take), bool)
    mask[:25], mask[60:90] = True, True
    x = run(model, corpus.audio(record), record["emotion"], locked=take, locked_mask=mask)[0]
    return {"max_locked_error": float(np.abs(x[mask] - take[mask]).max()),
            "boundary_ratio": metrics.boundary_ratio(x, mask)}


def eval_locked_many(model, corpus, records, count: int) -> dict:
    """The locked-range check over `count` utterances of at least 100 frames: spread of the boundary ratio."""
    usable = [r for r in records if r["num_frames"] >= 100]
    picked = [usable[i] for i in np.linspace(0, len(usable) - 1, count).round().astype(int)]
    rows = [eval_locked(model, corpus, r) for r in picked]
    ratios = np.array([r["boundary_ratio"] for r in rows])
    return {"utterances": len(rows), "max_locked_error": max(r["max_locked_error"] for r in rows),
            "boundary_ratio_median": float(np.median(ratios)), "boundary_ratio_p90": float(np.percentile(ratios, 90)),
            "boundary_ratio_max": float(ratios.max()), "share_at_most_1": float(np.mean(ratios <= 1))}


def eval_intensity(model, corpus, records) -> dict:
    out = {}
    for emotion in ("angry", "disgusted", "fear", "happy", "sad", "surprised"):
        c = {}
        for level in (0.0, 0.3, 1.0):
            c[level] = [curves(run(model, corpus.audio(r), emotion, level, seed=2)[0]) for r in records]
        out[emotion] = [float(np.mean([contrast(a, n, emotion) for a, n in zip(c[lv], c[0.0])])) for lv in (0.3, 1.0)]
    return {"contrast_0.3_vs_1.0": out, "monotone": all(lo < hi for lo, hi in out.values())}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--checkpoint", required=True)
    parser.add_argument("--corpus", required=True)
    parser.add_argument("--split", default="test")
    parser.add_argument("--utterances", type=int, default=12)
    parser.add_argument("--autoregressive", action="store_true", help="also measure seams in autoregressive mode")
    parser.add_argument("--locked-utterances", type=int, default=24, help="utterances for the locked-range spread")
    parser.add_argument("--json")
    args = parser.parse_args()
    torch.set_num_threads(2)
    model = EmoDiff.load(args.checkpoint)
    corpus = Corpus(args.corpus)
    records = corpus.select(args.split)
    picked = [records[i] for i in np.linspace(0, len(records) - 1, args.utterances).round().astype(int)]
    longest = max(records, key=lambda r: r["num_frames"])
    report = {"lipsync": eval_lipsync(model, corpus, picked), "takes": eval_takes(model, corpus, picked),
              "long": eval_long(model, corpus, picked, ["stitch"] + ["autoregressive"] * args.autoregressive),
              "locked": eval_locked(model, corpus, longest),
              "locked_many": eval_locked_many(model, corpus, records, args.locked_utterances),
              "intensity": eval_intensity(model, corpus, picked[:3])}
    text = json.dumps(report, indent=2)
    print(text)
    if args.json:
        with open(args.json, "w", encoding="utf-8") as handle:
            handle.write(text + "\n")


if __name__ == "__main__":
    main()
