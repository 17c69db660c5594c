"""Measure an EmoDiff checkpoint against the acceptance of issue 4 on HELD-OUT buzz utterances.

Buzz utterances come from `dreamtalk.models.emodiff.smoke` with seeds never used by the smoke corpus;
the procedural engine on the same inputs is reported alongside as the teacher. The emotion accuracy
here is a PROXY (nearest centroid of upper-face/head mean pose, fitted on the corpus' teacher clips),
not the evaluation harness' classifier. Usage:
  .venv/bin/python bench/eval_emodiff.py --checkpoint PATH --corpus DIR [--json out.json]
"""

from __future__ import annotations

import argparse
import json

import numpy as np
import torch

from dreamtalk.core.request import EMOTIONS, EmotionKey
from dreamtalk.evaluation.lipsync import best_lag, closure_rate, lip_gap, open_vs_bilabial_auc
from dreamtalk.models.emodiff import metrics
from dreamtalk.models.emodiff.conditions import StyleKey
from dreamtalk.models.emodiff.config import SamplerConfig
from dreamtalk.models.emodiff.data import load_corpus
from dreamtalk.models.emodiff.features import front_end
from dreamtalk.models.emodiff.generate import generate, preset_style
from dreamtalk.models.emodiff.long import window_starts
from dreamtalk.models.emodiff.model import load
from dreamtalk.models.emodiff.smoke import buzz_utterance
from dreamtalk.procedural.engine import animate

HELD_OUT = 900_000  # utterance seeds from here on are never in a smoke corpus


def lipsync(x: np.ndarray, audio, rate, phones, fps) -> dict:
    gap = lip_gap(np.clip(x[:, :52], 0, 1))
    lag, corr = best_lag(audio, rate, gap, fps)
    return {"closure": closure_rate(gap, phones, fps), "auc": open_vs_bilabial_auc(gap, phones, fps), "lag": lag}


def utterance(model, index: int, words: int = 40):
    audio, rate, phones = buzz_utterance(words, HELD_OUT + index, f0=110.0 + 15 * index)
    frames = int(round(len(audio) / rate * model.cfg.fps))
    return audio, rate, phones, front_end(model.front_end)(audio, rate, model.cfg.fps, frames)


def style(model, name: str, intensity: float = 1.0):
    return [StyleKey(0.0, preset_style(model, name), intensity)]


def eval_lipsync(model, count: int) -> dict:
    rows, teacher = [], []
    for i in range(count):
        audio, rate, phones, feats = utterance(model, i)
        x = generate(model, feats, SamplerConfig(), style(model, EMOTIONS[i % 8]), seed=i)[0]
        rows.append(lipsync(x, audio, rate, phones, model.cfg.fps))
        c = animate(audio, rate, phones, model.cfg.fps, [EmotionKey(0.0, EMOTIONS[i % 8], 1.0)], seed=i)
        teacher.append(lipsync(np.concatenate([c.values, c.head_pose], 1), audio, rate, phones, model.cfg.fps))

    def mean(rs):
        return {k: float(np.nanmean([r[k] for r in rs])) for k in rs[0]} | {"max_abs_lag": max(abs(r["lag"]) for r in rs)}

    return {"model": mean(rows), "teacher": mean(teacher)}


def eval_takes(model) -> dict:
    audio, rate, phones, feats = utterance(model, 50, words=80)
    takes = generate(model, feats, SamplerConfig(), style(model, "happy"), takes=4, seed=0)
    spread, corr = metrics.seed_diversity(takes)
    blinks = [metrics.blink_rate(np.clip(t[:, :52], 0, 1), model.cfg.fps) for t in takes]
    return {"upper_spread_ratio": spread, "lip_gap_corr": corr, "blinks_per_min": float(np.mean(blinks))}


def eval_long(model, minutes: float = 5.0) -> dict:
    audio, rate, phones = buzz_utterance(int(minutes * 60 * 3.2), HELD_OUT + 99)
    frames = int(round(len(audio) / rate * model.cfg.fps))
    feats = front_end(model.front_end)(audio, rate, model.cfg.fps, frames)
    out = {"seconds": len(audio) / rate}
    for mode in ("stitch", "autoregressive"):
        cfg = SamplerConfig(long_mode=mode)
        x = generate(model, feats, cfg, style(model, "sad"), seed=1)[0]
        out[f"seam_ratio_{mode}"] = metrics.seam_ratio(x, window_starts(frames, model.cfg.window, cfg.overlap),
                                                       model.cfg.window)
    return out


def eval_locked(model) -> dict:
    audio, rate, phones, feats = utterance(model, 60)
    c = animate(audio, rate, phones, model.cfg.fps, [EmotionKey(0.0, "angry", 1.0)], seed=3)
    take = np.concatenate([c.values, c.head_pose], 1)
    mask = np.zeros(len(take), bool)
    mask[:25], mask[100:150] = True, True
    x = generate(model, feats, SamplerConfig(), style(model, "angry"), locked=take, locked_mask=mask)[0]
    return {"max_locked_error": float(np.abs(x[mask] - take[mask]).max()),
            "boundary_ratio": metrics.boundary_ratio(x, mask)}


def eval_emotion(model, clips, count: int) -> dict:
    names = sorted({c.emotion for c in clips})
    centroids = {n: np.mean([c.x[:, metrics.UPPER].mean(0) for c in clips if c.emotion == n], 0) for n in names}
    hits, monotone = 0, 0
    for i in range(count):
        _, _, _, feats = utterance(model, 100 + i, words=20)
        neutral = generate(model, feats, SamplerConfig(), style(model, "neutral"), seed=i)[0]
        for name in names:
            x = generate(model, feats, SamplerConfig(), style(model, name), seed=i)[0]
            sig = x[:, metrics.UPPER].mean(0)
            hits += min(names, key=lambda n: np.linalg.norm(sig - centroids[n])) == name
            if name != "neutral":
                low = generate(model, feats, SamplerConfig(), style(model, name, 0.3), seed=i)[0]
                monotone += metrics.signature_distance(low, neutral) < metrics.signature_distance(x, neutral)
    return {"proxy_accuracy": hits / (count * len(names)), "intensity_monotone": monotone / (count * (len(names) - 1))}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--checkpoint", required=True)
    parser.add_argument("--corpus", required=True, help="the corpus the checkpoint was trained on (proxy classifier)")
    parser.add_argument("--utterances", type=int, default=8)
    parser.add_argument("--json")
    args = parser.parse_args()
    torch.set_num_threads(2)
    model = load(args.checkpoint)
    clips = load_corpus(args.corpus, model.front_end, model.cfg.fps)
    report = {"lipsync": eval_lipsync(model, args.utterances), "takes": eval_takes(model),
              "long": eval_long(model), "locked": eval_locked(model),
              "emotion": eval_emotion(model, clips, max(2, args.utterances // 4))}
    text = json.dumps(report, indent=2)
    print(text)
    if args.json:
        with open(args.json, "w", encoding="utf-8") as handle:
            handle.write(text + "\n")


if __name__ == "__main__":
    main()
