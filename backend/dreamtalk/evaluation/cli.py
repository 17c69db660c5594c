"""CLI: `dreamtalk eval` (the harness), `dreamtalk eval-classifier` (train/test the frozen emotion
classifier) and `dreamtalk eval-frontends` (audio front-end transfer comparison)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from ..core.request import DEFAULT_ENGINE


def add_subcommands(sub) -> None:
    p = sub.add_parser("eval", help="run the evaluation harness on a corpus split, or the validation protocol "
                                    "(markdown + JSON)")
    p.add_argument("--protocol", default="harness", choices=("harness", "validation"),
                   help="harness: one engine on a corpus split; validation: every engine on the voices and "
                        "speakers nothing trains on (docs/EVAL.md)")
    p.add_argument("--engine", default=DEFAULT_ENGINE, help="engine to evaluate (default %(default)s)")
    p.add_argument("--engines", help="validation: comma-separated, from emodiff, emodiff-norefine, "
                   "emodiff-aligned (given the transcript), emodiff-transcribed (precise on Whisper's), procedural")
    p.add_argument("--sets", help="validation: comma-separated set names (default all)")
    p.add_argument("--split", default="test", help="test (held-out synthesized voices), real, val, train")
    p.add_argument("--corpus", help="corpus folder (dreamtalk corpus build; the harness needs one)")
    p.add_argument("--out", default="out/eval", help="output folder for eval.md and eval.json")
    p.add_argument("--limit", type=int, help="at most this many utterances (validation: per set)")
    p.add_argument("--seeds", type=int, default=3, help="takes per utterance for diversity (>= 2)")
    p.add_argument("--window-seconds", type=float, default=8.0, help="sampler window hop for the seam check")
    p.add_argument("--no-transcript", action="store_true", help="do not pass transcripts to the engine")
    p.add_argument("--refine", action=argparse.BooleanOptionalAction, default=True,
                   help="lip refinement after a diffusion engine (default on; --no-refine: EmoDiff alone)")
    p.add_argument("--guidance", type=float, help="classifier-free guidance scale (diffusion engines)")
    p.add_argument("--emotions", default="label", choices=("label", "cycle"),
                   help="label: each utterance's own emotion; cycle: 8 emotions x 3 levels over the utterances")
    p.set_defaults(func=cmd_eval)
    p = sub.add_parser("eval-classifier", help="train (or test) the frozen emotion classifier on a corpus")
    p.add_argument("--corpus", required=True)
    p.add_argument("--out", help="checkpoint to write (default: test the committed one only)")
    p.add_argument("--limit", type=int, help="at most this many training utterances")
    p.set_defaults(func=cmd_classifier)
    p = sub.add_parser("eval-frontends", help="compare audio front ends: train on synthesized, test on real")
    p.add_argument("--corpus", required=True)
    p.add_argument("--frontends", default="logmel,whisper")
    p.add_argument("--train-limit", type=int, default=600, help="training utterances (synthesized, train split)")
    p.add_argument("--out", default="out/frontends")
    p.set_defaults(func=cmd_frontends)


def cmd_eval(args: argparse.Namespace) -> int:
    from ..core.errors import InputError
    from ..corpus.store import Corpus
    from ..progress_bar import ProgressBar
    from . import harness, report

    if args.protocol == "validation":
        return cmd_validation(args)
    if not args.corpus:
        raise InputError("the harness needs --corpus DIR (or use --protocol validation)")
    cfg = harness.EvalConfig(engine=args.engine, split=args.split, limit=args.limit, seeds=max(2, args.seeds),
                             window_seconds=args.window_seconds, use_transcript=not args.no_transcript,
                             emotions=args.emotions, refine=args.refine, guidance=args.guidance)
    bar = ProgressBar()
    try:
        results = harness.run(Corpus(args.corpus), cfg, progress=bar)
    finally:
        bar.close()
    title = (f"{args.engine}{' + lip refinement' if args.refine and args.engine != 'procedural' else ''} on {args.split}"
             + (" (emotions cycled)" if args.emotions == "cycle" else ""))
    md, js = report.write(results, Path(args.out), title)
    print(md.read_text(encoding="utf-8"))
    print(f"wrote {md} and {js}")
    return 0


def cmd_validation(args: argparse.Namespace) -> int:
    from ..core.errors import InputError
    from ..progress_bar import ProgressBar
    from . import protocol, report
    from .validation_set import SETS

    defaults = protocol.ValidationConfig()
    engines = tuple(args.engines.split(",")) if args.engines else defaults.engines
    sets = tuple(args.sets.split(",")) if args.sets else defaults.sets
    unknown = [e for e in engines if e not in protocol.ENGINES] + [s for s in sets if s not in {v.name for v in SETS}]
    if unknown:
        raise InputError(f"unknown engine or set: {', '.join(unknown)}")
    cfg = protocol.ValidationConfig(engines=engines, sets=sets, limit=args.limit, guidance=args.guidance,
                                    takes=max(2, args.seeds))
    bar = ProgressBar()
    try:
        results = protocol.run(cfg, progress=bar)
    finally:
        bar.close()
    md, js = report.write_validation(results, Path(args.out))
    print(md.read_text(encoding="utf-8"))
    print(f"wrote {md} and {js}")
    return 0


def cmd_classifier(args: argparse.Namespace) -> int:
    from ..corpus.store import Corpus
    from .classifier import confusion, confusion_markdown, fit, load_classifier

    corpus = Corpus(args.corpus)

    def samples(split: str, limit: int | None = None):
        records = corpus.select(split=split, source="espeak")[:limit]
        return [(corpus.curves(r), r["emotion"]) for r in records]

    if args.out:
        classifier = fit(samples("train", args.limit))
        classifier.save(args.out)
        print(f"wrote {args.out}")
    else:
        classifier = load_classifier()
    report = {}
    for split in ("train", "val", "test"):
        data = samples(split)
        if data:
            matrix = confusion(classifier, data)
            report[split] = float(matrix.trace() / matrix.sum())
            print(f"{split}: accuracy {report[split]:.4f} on {len(data)} utterances")
            if split == "test":
                print(confusion_markdown(matrix))
    print(json.dumps(report))
    return 0


def cmd_frontends(args: argparse.Namespace) -> int:
    from ..core.formats import atomic_write
    from ..corpus.store import Corpus
    from .frontends import compare, markdown

    results = compare(Corpus(args.corpus), args.frontends.split(","), args.train_limit)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    text = json.dumps(results, indent=1)
    atomic_write(out / "frontends.json", lambda f: f.write(text.encode("utf-8")))
    print(markdown(results))
    return 0
