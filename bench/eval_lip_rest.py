"""Check the lip refiner on the utterances the 100-utterance harness runs leave out.

The refiner's training settings were picked on the harness sets (`dreamtalk eval --limit 100`), so this
script measures EmoDiff alone vs EmoDiff + refinement, paired (same seed, one take), on every other
utterance of the split: lip metrics only (closure rate, open/bilabial AUC, mouth MAE, lag).

Usage: .venv/bin/python bench/eval_lip_rest.py --corpus DIR [--split real] [--emotions cycle] [--limit 100]
"""

from __future__ import annotations

import argparse
import json

import numpy as np

from dreamtalk.corpus.store import Corpus
from dreamtalk.evaluation import harness

KEYS = ("closure_rate", "open_bilabial_auc", "mouth_mae", "best_lag_frames")


def left_out(corpus: Corpus, split: str, limit: int) -> list[dict]:
    records = corpus.select(split=split)
    used = {r["id"] for r in harness.pick(records, limit)}
    return [r for r in records if r["id"] not in used]


def paired_rows(corpus: Corpus, records: list[dict], split: str, emotions: str) -> list[dict]:
    rows = []
    for index, record in enumerate(records):
        audio, label = corpus.audio(record), corpus.curves(record)
        row = {}
        for refine in (False, True):
            cfg = harness.EvalConfig(split=split, refine=refine, emotions=emotions)
            emotion, intensity = harness.target_emotion(cfg, record, index)
            (curves,), _ = harness.generate(cfg, audio, None, emotion, intensity, cfg.seed)
            row[refine] = harness.lip_metrics(curves, record, audio, label)
        rows.append(row)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", required=True)
    parser.add_argument("--split", default="test")
    parser.add_argument("--emotions", default="label", choices=("label", "cycle"))
    parser.add_argument("--limit", type=int, default=100, help="size of the harness run to leave out")
    args = parser.parse_args()
    corpus = Corpus(args.corpus)
    records = left_out(corpus, args.split, args.limit)
    rows = paired_rows(corpus, records, args.split, args.emotions)
    summary = {key: [float(np.nanmean([row[refine][key] for row in rows])) for refine in (False, True)]
               for key in KEYS}
    print(f"| {args.split} ({args.emotions}), {len(rows)} utterances | EmoDiff | EmoDiff + refinement |")
    print("|---|---|---|")
    for key, (plain, refined) in summary.items():
        print(f"| {key} | {plain:.4f} | {refined:.4f} |")
    print(json.dumps({"utterances": len(rows), **summary}))


if __name__ == "__main__":
    main()
