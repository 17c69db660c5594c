"""CLI: `dreamtalk corpus build | add-takes` and `dreamtalk preset from-curves | builtin`."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from ..core.request import EMOTIONS


def add_subcommands(sub) -> None:
    corpus = sub.add_parser("corpus", help="build or extend a training corpus").add_subparsers(
        dest="corpus_command", required=True)
    p = corpus.add_parser("build", help="synthesized emotional speech + real speech, labelled (resumable)")
    p.add_argument("--out", required=True, help="corpus folder (created, or resumed when it exists)")
    p.add_argument("--hours", type=float, required=True, help="hours of synthesized speech")
    p.add_argument("--seed", type=int, default=0, help="master seed (same seed, same corpus)")
    p.add_argument("--workers", type=int, default=2, help="parallel processes (default 2)")
    p.add_argument("--no-real", action="store_true", help="skip the real speech (asterisk-core-sounds-en)")
    p.add_argument("--real-limit", type=int, help="at most this many real utterances")
    p.add_argument("--mbrola-hours", type=float, default=0.0,
                   help="hours of MBROLA-voice speech on top (Debian mbrola voices, non-free; default none)")
    p.add_argument("--prose-hours", type=float, default=0.0,
                   help="hours of read sentences on top (Debian fortunes, spoken by espeak-ng and MBROLA voices; "
                   "default none)")
    p.add_argument("--label-timing", choices=("aligned", "events"), default="aligned",
                   help="time the labels on the synthesizer's phones retimed on forced alignment (default), "
                   "or on its events as before issue 18")
    p.add_argument("--label-blinks", action="store_true",
                   help="draw blinks into the labels (default: none; the engines sample blink events)")
    p.set_defaults(func=cmd_build)
    p = corpus.add_parser("add-takes", help="add Live Link Face takes (CSV + sound track) to a corpus")
    p.add_argument("takes", help="folder with take CSVs and their .wav/.mov sound tracks")
    p.add_argument("--corpus", required=True, help="an existing corpus folder")
    p.add_argument("--speaker", help="performer name (default: the takes folder name)")
    p.add_argument("--split", default="train", choices=("train", "val", "test"))
    p.add_argument("--emotion", default="neutral", choices=EMOTIONS)
    p.add_argument("--intensity", type=float, default=0.0)
    p.set_defaults(func=cmd_add_takes)

    preset = sub.add_parser("preset", help="emotion style presets").add_subparsers(
        dest="preset_command", required=True)
    p = preset.add_parser("from-curves", help="make a preset from any curves file (.json/.csv/.npz)")
    p.add_argument("curves")
    p.add_argument("--name", required=True)
    p.add_argument("--emotion", default="neutral", choices=EMOTIONS)
    p.add_argument("--intensity", type=float, default=0.0)
    p.add_argument("--start", type=float, default=0.0, help="seconds into the file")
    p.add_argument("--seconds", type=float, help="clip length (default: to the end)")
    p.add_argument("-o", "--output", help="output file (default presets/emotions/NAME.json)")
    p.set_defaults(func=cmd_preset_from_curves)
    p = preset.add_parser("builtin", help="(re)make the 8 emotions x 3 levels built-in presets")
    p.add_argument("--out", default="presets/emotions")
    p.set_defaults(func=cmd_preset_builtin)


def cmd_build(args: argparse.Namespace) -> int:
    from ..progress_bar import ProgressBar
    from .build import BuildConfig, build
    from .labels import LabelConfig

    bar = ProgressBar()
    cfg = BuildConfig(args.hours, args.seed, max(1, args.workers), not args.no_real, args.real_limit,
                      labels=LabelConfig(args.label_timing, args.label_blinks), mbrola_hours=args.mbrola_hours,
                      prose_hours=args.prose_hours)
    try:
        result = build(args.out, cfg, bar)
    finally:
        bar.close()
    print(json.dumps(result, indent=1))
    return 0


def cmd_add_takes(args: argparse.Namespace) -> int:
    from .takes import TakeLabels, add_takes

    speaker = args.speaker or Path(args.takes).resolve().name
    records = add_takes(Path(args.corpus), Path(args.takes),
                        TakeLabels(speaker, args.split, args.emotion, args.intensity))
    seconds = sum(r["num_samples"] for r in records) / 16000
    print(f"added {len(records)} takes ({seconds:.1f} s) of {speaker} to {args.corpus} ({args.split})")
    return 0


def cmd_preset_from_curves(args: argparse.Namespace) -> int:
    from .presets import preset_from_curves, write_preset

    preset = preset_from_curves(args.curves, args.name, args.emotion, args.intensity, args.start, args.seconds)
    out = Path(args.output or Path("presets") / "emotions" / f"{args.name}.json")
    write_preset(preset, out)
    print(f"wrote {out} ({preset.curves.num_frames} frames, {preset.emotion} level {preset.level})")
    return 0


def cmd_preset_builtin(args: argparse.Namespace) -> int:
    from .presets import write_builtin_presets

    for path in write_builtin_presets(args.out):
        print(f"wrote {path}")
    return 0
