"""Which Whisper feature scheme should the models train on? Two measurements (docs/EVAL.md, "Feature scheme"):

1. The shipped EmoDiff and lip refiner (trained on `whisper-base-ct2-1`, 30 s padded windows) fed
   `whisper-base-2` features (exact-length windows) instead: the validation protocol's figures for
   `emodiff` and `emodiff-norefine`, to compare with a run on their own features
   (`dreamtalk eval --protocol validation`). Tells whether the shipped models can take the new features
   without retraining.
2. A linear probe per scheme (`evaluation.frontends`: ridge regression from 7 frames of features to the
   27 mouth labels, penalty picked on validation voices), trained on training-split utterances and scored
   on held-out synthesized voices (test split) and the real speaker: which scheme carries the lip
   information better when a model is trained on it.

Usage: .venv/bin/python bench/eval_frontend_scheme.py --corpus .cache/corpus-2h --out .cache/val-exact
       [--skip-models] [--skip-probe] [--train 300 --test 100 --real 100]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from dreamtalk.corpus.store import Corpus
from dreamtalk.evaluation import frontends
from dreamtalk.features import get_frontend, whisper


def models_on_exact_features(out: Path, sets: tuple[str, ...] | None) -> None:
    from dreamtalk.engines import feature_cache
    from dreamtalk.evaluation import protocol, report

    feature_cache.by_tag = lambda tag: get_frontend("whisper", whisper.VERSION_EXACT)  # the shipped models, new features
    cfg = protocol.ValidationConfig(engines=("emodiff", "emodiff-norefine"), **({"sets": sets} if sets else {}))
    results = protocol.run(cfg)
    md, _ = report.write_validation(results, out)
    print("## Shipped models fed whisper-base-2 features\n")
    print(md.read_text(encoding="utf-8"))


def probe_scheme(corpus: Corpus, version: str, counts: dict[str, int]) -> dict:
    """The ridge probe of `evaluation.frontends` for one whisper version."""
    fe = get_frontend("whisper", version)

    def records(split: str, source: str) -> list[dict]:
        found = corpus.select(split, source)
        return [found[i] for i in np.linspace(0, len(found) - 1, min(counts[split], len(found))).round().astype(int)]

    train, val = records("train", "espeak"), records("val", "espeak")
    solutions = frontends.fit_ridge(*frontends.dataset(corpus, train, fe))
    val_x, val_y = frontends.dataset(corpus, val, fe)
    alpha = min(solutions, key=lambda a: frontends.score(solutions[a], val_x, val_y, val)["mouth_mae"])
    entry = {"tag": fe.tag, "dim": fe.dim, "alpha": alpha, "train_utterances": len(train)}
    for split, source in (("test", "espeak"), ("real", "real")):
        chosen = records(split, source)
        entry[split] = frontends.score(solutions[alpha], *frontends.dataset(corpus, chosen, fe), chosen)
    return entry


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--corpus", required=True)
    parser.add_argument("--out", default="out/val-exact")
    parser.add_argument("--sets", help="validation sets for part 1 (default all)")
    parser.add_argument("--skip-models", action="store_true")
    parser.add_argument("--skip-probe", action="store_true")
    parser.add_argument("--train", type=int, default=300)
    parser.add_argument("--test", type=int, default=100)
    parser.add_argument("--real", type=int, default=100)
    args = parser.parse_args()
    out = Path(args.out)
    if not args.skip_probe:
        counts = {"train": args.train, "val": max(20, args.train // 8), "test": args.test, "real": args.real}
        results = {v: probe_scheme(Corpus(args.corpus), v, counts) for v in whisper.VERSIONS}
        out.mkdir(parents=True, exist_ok=True)
        (out / "probe.json").write_text(json.dumps(results, indent=1), encoding="utf-8")
        print("## Linear probe per feature scheme\n")
        print(frontends.markdown(results) + "\n")
    if not args.skip_models:
        models_on_exact_features(out, tuple(args.sets.split(",")) if args.sets else None)


if __name__ == "__main__":
    main()
