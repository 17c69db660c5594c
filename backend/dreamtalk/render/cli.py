"""`dreamtalk render`: checks, curves (read, or generated from the audio), then the video.

The top-level CLI owns the parser and hands in how it builds and runs a generate request, so this
package needs nothing from the engines. The portrait is analysed before anything is generated, so a
bad photo fails in a second, not after the animation was made.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Callable
from pathlib import Path

from ..core.errors import InputError
from .config import RenderConfig


def check_output(path: str) -> Path:
    """The output must be an .mp4 in an existing, writable folder (checked before any work)."""
    target = Path(path)
    if target.suffix.lower() != ".mp4":
        raise InputError(f"output {target} must end in .mp4")
    if target.is_dir():
        raise InputError(f"output {target} is a folder, not a file")
    folder = target.resolve().parent
    if not folder.is_dir():
        raise InputError(f"output folder {target.parent} does not exist")
    if not os.access(folder, os.W_OK):
        raise InputError(f"output folder {target.parent} is not writable")
    return target


def _curves_and_audio(args: argparse.Namespace, make_request: Callable, run_generation: Callable, bar):
    from ..core.audio import load_audio, resample
    from ..core.formats import read_curves

    if not args.curves and not args.audio:
        raise InputError("give --audio (the animation is generated from it) and/or --curves")
    audio = rate = None
    if args.audio:
        audio, rate = load_audio(args.audio, sample_rate=None, max_seconds=args.max_seconds)
    if args.curves:
        return read_curves(args.curves), audio, rate
    speech = resample(audio, rate, 16000) if rate != 16000 else audio
    curves = run_generation(make_request(args, speech, 16000), args.server, bar)[0]
    return curves, audio, rate


def _chosen_renderer(name: str | None, config: RenderConfig) -> str:
    """The renderer asked for, or the default for the configuration; a neural renderer's checkpoint and
    device are checked now, before any analysis or generation."""
    from .neural.settings import checkpoint_path, default_renderer

    name = name or default_renderer(config)
    if name == "neural":
        from .neural.checkpoint import read
        from .neural.inference import pick_device

        read(checkpoint_path(config))
        pick_device(config.device)
    return name


def run_render(args: argparse.Namespace, make_request: Callable, run_generation: Callable) -> int:
    from ..progress_bar import ProgressBar
    from .analysis import analyse, load_image
    from .pipeline import RenderInput, available, render_file

    output = check_output(args.output)
    if args.size % 2:
        raise InputError(f"--size must be even (H.264), got {args.size}")
    config = RenderConfig(framing=args.framing, size=args.size, face=args.face, checkpoint=args.checkpoint,
                          device=args.device)
    args.renderer = _chosen_renderer(args.renderer, config)
    if args.renderer not in available():
        raise InputError(f"unknown renderer {args.renderer!r}; available: {', '.join(available())}")
    portrait = analyse(load_image(args.portrait), config)
    bar = ProgressBar()
    try:
        curves, audio, rate = _curves_and_audio(args, make_request, run_generation, bar)
        job = RenderInput(portrait, curves, audio, rate, args.renderer)
        count = render_file(job, output, config, progress=bar, frames_dir=args.frames)
    finally:
        bar.close()
    height, width = portrait.image.shape[:2]
    print(f"wrote {output} ({count} frames at {curves.fps:g} fps, {width}x{height}, renderer {args.renderer})")
    if args.frames:
        print(f"wrote {count} PNG frames into {args.frames}")
    return 0
