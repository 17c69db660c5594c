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


def _render_on_server(args: argparse.Namespace, job, config: RenderConfig, output: Path, bar) -> int:
    """Send the render to the backend at `--server` and write the mp4 it returns."""
    from ..core.client import Client
    from ..core.formats import atomic_write
    from ..core.request import RenderRequest

    options = {"framing": config.framing, "size": config.size, "face": config.face}
    if job.renderer:
        options["renderer"] = job.renderer
    request = RenderRequest(portrait_bytes(args.portrait), job.curves, job.audio, job.sample_rate, options)
    with Client(args.server) as client:
        video = client.render(request, on_progress=bar)
    atomic_write(output, lambda handle: handle.write(video))
    return job.curves.num_frames


def portrait_bytes(path: str) -> bytes:
    """The portrait as PNG or JPEG bytes (what the protocol carries): the file itself, or re-encoded."""
    data = Path(path).read_bytes()
    if data.startswith((b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff")):
        return data
    import io

    from PIL import Image

    from .analysis import load_image

    buffer = io.BytesIO()
    Image.fromarray(load_image(path)).save(buffer, format="PNG")
    return buffer.getvalue()


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
    if args.server and args.frames:
        raise InputError("--frames writes frames rendered here; leave it out with --server")
    config = RenderConfig(framing=args.framing, size=args.size, face=args.face, checkpoint=args.checkpoint,
                          device=args.device)
    if not args.server:  # with --server the backend picks and checks its renderer
        args.renderer = _chosen_renderer(args.renderer, config)
        if args.renderer not in available():
            raise InputError(f"unknown renderer {args.renderer!r}; available: {', '.join(available())}")
    portrait = analyse(load_image(args.portrait), config)  # a bad photo fails here, before any work
    bar = ProgressBar()
    try:
        curves, audio, rate = _curves_and_audio(args, make_request, run_generation, bar)
        job = RenderInput(portrait, curves, audio, rate, args.renderer)
        if args.server:
            count = _render_on_server(args, job, config, output, bar)
        else:
            count = render_file(job, output, config, progress=bar, frames_dir=args.frames)
    finally:
        bar.close()
    height, width = portrait.image.shape[:2]
    where = f"on {args.server}" if args.server else "here"
    renderer = f"renderer {args.renderer}" if args.renderer else "the backend's default renderer"
    print(f"wrote {output} ({count} frames at {curves.fps:g} fps, {width}x{height}, {renderer}, {where})")
    if args.frames:
        print(f"wrote {count} PNG frames into {args.frames}")
    return 0
