"""Commands of the neural renderer: `dreamtalk renderer prepare | synthetic | export` and
`dreamtalk train renderer` (added to the `train` command the models package defines).

Several GPUs: `torchrun --nproc_per_node=N -m dreamtalk.cli train renderer --device cuda ...`.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from ...core.errors import InputError
from .config import NeuralRendererConfig, PrepareConfig, RendererTrainConfig


def _subparsers(parser: argparse.ArgumentParser):
    """The sub-command group of an existing command (argparse keeps it among the parser's actions)."""
    for action in parser._actions:  # noqa: SLF001 - argparse offers no public accessor
        if isinstance(action, argparse._SubParsersAction):  # noqa: SLF001
            return action
    raise RuntimeError(f"{parser.prog} has no sub-commands")


def add_subcommands(sub) -> None:
    p = sub.add_parser("renderer", help="neural renderer: prepare training data from videos, export checkpoints")
    group = p.add_subparsers(dest="renderer_command", required=True)
    prep = group.add_parser("prepare", help="talking-face videos -> training data (face analysis, crops, part-1 pairs)")
    prep.add_argument("videos", help="folder of talking-face videos (.mp4, .mov, .webm; searched recursively)")
    prep.add_argument("--out", required=True, help="new (or empty) data folder")
    _add_prepare_options(prep)
    prep.set_defaults(func=cmd_prepare)
    syn = group.add_parser("synthetic", help="synthetic training data: part-1 renders of the two offline portraits")
    syn.add_argument("--out", required=True, help="new (or empty) data folder")
    syn.add_argument("--videos", type=int, default=4, help="random takes per portrait (the last is held out)")
    syn.add_argument("--frames", type=int, default=50, help="frames per take")
    _add_prepare_options(syn)
    syn.set_defaults(func=cmd_synthetic)
    exp = group.add_parser("export", help="strip a training checkpoint down to what rendering needs")
    exp.add_argument("checkpoint", help="training checkpoint (from train renderer)")
    exp.add_argument("out", help="checkpoint to write")
    exp.set_defaults(func=cmd_export)
    if "train" in sub.choices:
        _add_train(_subparsers(sub.choices["train"]))


def _add_prepare_options(p: argparse.ArgumentParser) -> None:
    d = PrepareConfig()
    p.add_argument("--size", type=int, default=d.size, help="stored frame side = the renderer's output size "
                   "(default %(default)s; 512 for a renderer trained with --upsample)")
    p.add_argument("--clip-seconds", type=float, default=d.clip_seconds, help="clip length, one crop each (default %(default)s)")
    p.add_argument("--sources", type=int, default=d.sources_per_clip, help="source frames per clip (default %(default)s)")
    p.add_argument("--pairs", type=int, default=d.pairs_per_frame, help="part-1 renders per frame (default %(default)s)")
    p.add_argument("--val-fraction", type=float, default=d.val_fraction, help="share of videos held out (default %(default)s)")
    p.add_argument("--face", choices=("single", "largest"), default=d.face,
                   help="frames with several faces: skip them (single) or use the largest (default)")
    p.add_argument("--seed", type=int, default=d.seed)


def _prepare_config(args: argparse.Namespace) -> PrepareConfig:
    return PrepareConfig(size=args.size, clip_seconds=args.clip_seconds, sources_per_clip=args.sources,
                         pairs_per_frame=args.pairs, val_fraction=args.val_fraction, face=args.face, seed=args.seed)


def _add_train(models) -> None:
    t = models.add_parser("renderer", help="train the neural renderer on prepared data (resumes from --out)")
    m, r = NeuralRendererConfig(), RendererTrainConfig()
    t.add_argument("--data", required=True, help="prepared data (dreamtalk renderer prepare)")
    t.add_argument("--out", default="renderer.pt", help="checkpoint path (resumed when it exists)")
    t.add_argument("--steps", type=int, default=r.steps, help="optimizer steps in all (default %(default)s)")
    t.add_argument("--batch", type=int, default=r.batch, help="pairs per step per process (default %(default)s)")
    t.add_argument("--lr", type=float, default=r.lr, help="generator learning rate (default %(default)s)")
    t.add_argument("--size", type=int, default=m.size, help="core resolution (default %(default)s)")
    t.add_argument("--upsample", action="store_true", help="add the x2 upsampler (output 2 x --size; data at that size)")
    t.add_argument("--width", type=int, default=m.base_channels,
                   help="base channel width; the appearance volume and the motion network get half (default %(default)s)")
    t.add_argument("--gan-start", type=int, default=r.gan_start, help="reconstruction-only steps first (default %(default)s)")
    t.add_argument("--vgg", help="VGG-19 weights file (torchvision layout) to add a perceptual loss")
    t.add_argument("--precision", choices=("bf16", "fp32"), default=r.precision, help="autocast on CUDA (default bf16)")
    t.add_argument("--device", default="cpu", help="cpu or cuda (with torchrun: each process takes LOCAL_RANK's GPU)")
    t.add_argument("--save-every", type=int, default=r.save_every, help="steps between checkpoints and validation")
    t.add_argument("--sample-every", type=int, default=r.sample_every, help="steps between sample grids")
    t.add_argument("--seed", type=int, default=r.seed)
    t.add_argument("--fresh", action="store_true", help="start over even if --out exists")
    t.set_defaults(func=cmd_train)


def cmd_prepare(args: argparse.Namespace) -> int:
    from ...progress_bar import ProgressBar
    from .prepare import prepare, summary

    config = _prepare_config(args)
    bar = ProgressBar()
    try:
        content = prepare(args.videos, args.out, config, report=bar)
    finally:
        bar.close()
    for line in summary(content):
        print(line)
    print(f"wrote {args.out}")
    return 0


def cmd_synthetic(args: argparse.Namespace) -> int:
    from ..analysis import analyse
    from ..config import RenderConfig
    from ..portraits import offline_portraits
    from .prepare import summary
    from .synthetic import write_synthetic_data

    config = _prepare_config(args)
    framing = RenderConfig(size=max(256, config.size))
    portraits = {name: analyse(image, framing) for name, image in offline_portraits().items()}
    content = write_synthetic_data(args.out, portraits, max(args.videos, 2), args.frames, config)
    for line in summary(content):
        print(line)
    print(f"wrote {args.out}")
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    from .checkpoint import export

    path = export(args.checkpoint, args.out)
    print(f"wrote {path} ({path.stat().st_size / 1e6:.1f} MB)")
    return 0


def cmd_train(args: argparse.Namespace) -> int:
    from ...learning.runs import RunFiles
    from ...progress_bar import ProgressBar
    from .train import samples_folder, train

    out = Path(args.out)
    if not out.resolve().parent.is_dir():
        raise InputError(f"output folder {out.parent} does not exist")
    cfg = NeuralRendererConfig(size=args.size, upsample=args.upsample, base_channels=args.width,
                               volume_channels=max(args.width // 2, 1), motion_channels=max(args.width // 2, 2))
    tcfg = RendererTrainConfig(steps=args.steps, batch=args.batch, lr=args.lr, gan_start=args.gan_start,
                               precision=args.precision, save_every=args.save_every,
                               sample_every=args.sample_every, seed=args.seed)
    bar = ProgressBar()
    try:
        _, state = train(args.data, out, cfg, tcfg, device=args.device, resume=not args.fresh, vgg_weights=args.vgg,
                         report=lambda step, total, losses: bar(f"loss {losses['total']:.3f}", step / total))
    finally:
        bar.close()
    files = RunFiles(out)
    best = f"; best validation loss {state.best_val_loss:.4f} (step {state.best_step}) in {files.best}" \
        if state.best_val_loss is not None else ""
    print(f"wrote {out} (losses in {files.log}, samples in {samples_folder(out)}{best})")
    return 0
