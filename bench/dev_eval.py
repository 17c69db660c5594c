"""The validation protocol's figures on DEVELOPMENT material (issue 18 phase 2): what settings and
checkpoints are chosen on, so the validation sets (docs/EVAL.md) stay unseen.

Sets (from a corpus built with `dreamtalk corpus build ... --mbrola-hours H`):
  espeak-test   corpus test split, espeak-ng voices held out of training (m3, f2, benjamin, belinda)
  mbrola-val    corpus val split, MBROLA voice us3 (held out of training)
  real-dev      the 100 real prompts the harness's `--limit 100` picks (not the validation set's 24)
Phones: the record's (forced alignment, or the synthesizer's phones retimed on it), the same reference
as the validation sets. Each clip's emotion cycles over 8 emotions x 3 levels as in the protocol.

Usage: .venv/bin/python bench/dev_eval.py --corpus .cache/corpus-v2 --engines emodiff,emodiff-norefine
       --limit 24 [--sets espeak-test,real-dev] [--out .cache/dev/NAME.json]
Env: DREAMTALK_EMODIFF_CHECKPOINT / DREAMTALK_LIP_CHECKPOINT pick the checkpoints. Prints markdown.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from dreamtalk.corpus.store import Corpus, phones_of
from dreamtalk.evaluation.protocol import ENGINES, ValidationConfig, run_clip, summarise

SETS = {"espeak-test": ("test", "espeak", 24), "mbrola-val": ("val", "mbrola", 24), "real-dev": ("real", "real", 100)}
COLUMNS = ("closure_rate", "open_bilabial_auc", "lag_mean", "lag_abs_mean", "lag_worst", "lag_pooled",
           "blinks_per_min", "blink_complete", "emotion_accuracy", "contrast", "upper_sd")


def spread(records: list[dict], count: int) -> list[dict]:
    return [records[i] for i in np.linspace(0, len(records) - 1, min(count, len(records))).round().astype(int)]


def dev_clips(corpus: Corpus, name: str, limit: int | None) -> list[dict]:
    split, source, harness_pick = SETS[name]
    records = spread(corpus.select(split, source), harness_pick)  # real-dev: the harness's 100
    records = spread(records, limit) if limit else records
    return [{"id": r["id"], "set": name, "voice": r["speaker"], "text": r["text"], "phones": r["phones"],
             "audio": corpus.audio(r)} for r in records]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--corpus", required=True)
    parser.add_argument("--engines", default="emodiff")
    parser.add_argument("--sets", default=",".join(SETS))
    parser.add_argument("--limit", type=int, default=24, help="clips per set (spread evenly)")
    parser.add_argument("--out", help="write rows and summary as JSON here")
    args = parser.parse_args()
    from dreamtalk.evaluation.classifier import load_classifier

    corpus, classifier = Corpus(args.corpus), load_classifier()
    cfg = ValidationConfig(engines=tuple(args.engines.split(",")))
    assert all(e in ENGINES for e in cfg.engines)
    summary, rows = {}, []
    for name in args.sets.split(","):
        clips, gaps, set_rows = dev_clips(corpus, name, args.limit), {e: [] for e in cfg.engines}, []
        for index, clip in enumerate(clips):
            clip_rows, clip_gaps = run_clip(cfg, clip, index, classifier)
            set_rows += clip_rows
            for engine, gap in clip_gaps.items():
                gaps[engine].append(gap)
        phones = [phones_of(c) for c in clips]
        summary[name] = {e: summarise([r for r in set_rows if r["engine"] == e], gaps[e], phones) for e in cfg.engines}
        rows += set_rows
    print("| set | engine | " + " | ".join(COLUMNS) + " |\n|" + "---|" * (len(COLUMNS) + 2))
    for name, engines in summary.items():
        for engine, fig in engines.items():
            print(f"| {name} | {engine} | " + " | ".join(f"{fig[c]:.3f}" if isinstance(fig[c], float) else str(fig[c])
                                                       for c in COLUMNS) + " |")
    if args.out:
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text(json.dumps({"summary": summary, "rows": rows}, indent=1, default=str))


if __name__ == "__main__":
    main()
