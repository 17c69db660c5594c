"""`dreamtalk` command line: generate, convert, render, demo, serve/worker/keys, corpus, preset, eval, train.

Every user error is one line on stderr and exit status 2; outputs are written atomically (the takes of
one run all together), and SIGTERM ends a command like Ctrl-C: cleanly, leaving no partial file.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import os
import signal
import sys
import tempfile
import uuid
from collections.abc import Iterator, Sequence
from pathlib import Path

from .core.errors import DreamTalkError, InputError
from .core.request import DEFAULT_ENGINE, EMOTIONS

# Modules that add their own subcommands through `add_subcommands(subparsers)`; each subparser sets
# `func=callable(args) -> int`. Listed here so that `dreamtalk --help` shows every command.
SUBCOMMAND_MODULES: list[str] = ["dreamtalk.server.cli", "dreamtalk.corpus.cli", "dreamtalk.evaluation.cli", "dreamtalk.models.cli",
                                  "dreamtalk.render.neural.cli"]  # after models.cli: adds `train renderer`


class Terminated(BaseException):
    """SIGTERM, raised in the main thread so that `finally` blocks and atomic writes clean up."""


def _add_generate(sub) -> None:
    p = sub.add_parser("generate", help="audio file -> ARKit-52 curves (.json, .csv, .npz)")
    p.add_argument("audio", help="speech recording (wav, flac, ogg, mp3)")
    p.add_argument("-o", "--output", required=True, help="output curves file: .json, .csv (Live Link Face) or .npz")
    _add_generation_options(p)
    p.add_argument("--takes", type=int, default=1, help="number of takes with consecutive seeds")
    p.add_argument("--device", help="where EmoDiff, the lip refiner, the articulation detector and the Whisper "
                   "encoder run: auto (CUDA when torch sees a GPU, the default), cpu, cuda or cuda:N; with --server "
                   "the server's own")
    p.set_defaults(func=cmd_generate)


def _add_generation_options(p: argparse.ArgumentParser) -> None:
    """Options of `generate` that `render` shares (it generates the curves when given audio alone)."""
    p.add_argument("--transcript", help="what is said (text, or @file.txt); enables forced alignment (with emodiff: "
                   "precise mode, the lips on the aligned phones)")
    p.add_argument("--precise", action="store_true",
                   help="emodiff: precise mode without a transcript, the speech transcribed by Whisper first (slower)")
    p.add_argument("--emotion", default="neutral",
                   help=f"emotion: {', '.join(EMOTIONS)}; diffusion engines also take mixes such as happy:0.7+surprised:0.3")
    p.add_argument("--intensity", type=float, default=0.6, help="emotion intensity 0..1 (default 0.6)")
    p.add_argument("--seed", type=int, default=0, help="random seed (blinks, gaze, head motion)")
    p.add_argument("--fps", type=float, default=25.0, help="output frame rate (default 25)")
    p.add_argument("--engine", default=DEFAULT_ENGINE, help="emodiff (default: the diffusion model) or procedural")
    p.add_argument("--style", help="emotion style clip: a curves file (.json/.csv/.npz; diffusion engines)")
    p.add_argument("--steps", type=int, help="sampling steps (diffusion engines; default from the model)")
    p.add_argument("--guidance", type=float, help="classifier-free guidance scale (diffusion engines)")
    p.add_argument("--refine", action=argparse.BooleanOptionalAction, default=True,
                   help="lip refinement after EmoDiff (default on; --no-refine returns EmoDiff's curves, docs/lip.md)")
    p.add_argument("--max-seconds", type=float, default=3600.0, help="refuse longer audio")
    p.add_argument("--server", help="run on a backend at this ZeroMQ address instead of in-process")


def _add_render(sub) -> None:
    p = sub.add_parser("render", help="portrait + animation -> talking-head video (.mp4, H.264 + AAC)")
    p.add_argument("portrait", help="a photo with one face (png, jpeg, ...)")
    p.add_argument("-o", "--output", required=True, help="output video (.mp4)")
    p.add_argument("--curves", help="animation to render (.json, .csv Live Link Face, .npz); else generated from --audio")
    p.add_argument("--audio", help="speech recording: muxed into the video (and animated when --curves is not given)")
    p.add_argument("--frames", help="also write every frame as PNG into this new (or empty) folder")
    p.add_argument("--size", type=int, default=512, help="side of the square head crop in pixels (default 512)")
    framing = p.add_mutually_exclusive_group()
    framing.add_argument("--crop", dest="framing", action="store_const", const="crop",
                         help="square crop around the head (default)")
    framing.add_argument("--full", dest="framing", action="store_const", const="full", help="keep the whole picture")
    p.add_argument("--face", choices=("single", "largest"), default="single",
                   help="with several faces: refuse (single, default) or animate the largest")
    p.add_argument("--renderer",
                   help="geometric (CPU, no trained weights) or neural (a trained --checkpoint); default: neural "
                        "when a checkpoint is given (--checkpoint or $DREAMTALK_RENDERER_CHECKPOINT), else geometric")
    p.add_argument("--checkpoint", help="trained neural renderer (dreamtalk train renderer); no weights ship")
    p.add_argument("--device", default="auto", help="neural renderer and the generation from --audio: auto (CUDA "
                   "when there is a GPU), cpu, cuda or cuda:N")
    _add_generation_options(p)
    p.set_defaults(func=cmd_render, framing="crop")


def _add_convert(sub) -> None:
    p = sub.add_parser("convert", help="convert curves between .json, .csv (Live Link Face) and .npz")
    p.add_argument("input")
    p.add_argument("output")
    p.add_argument("--fps", type=float, help="resample to this frame rate")
    p.set_defaults(func=cmd_convert)


def _add_demo(sub) -> None:
    p = sub.add_parser("demo", help="synthesize a short speech sample and animate it (JSON, CSV, PNG)")
    p.add_argument("--out", default="out", help="output folder (default out/)")
    p.add_argument("--emotion", default="happy", choices=EMOTIONS)
    p.add_argument("--intensity", type=float, default=0.8)
    p.add_argument("--engine", default=DEFAULT_ENGINE, help="emodiff (default) or procedural")
    p.set_defaults(func=cmd_demo)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="dreamtalk", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    _add_generate(sub)
    _add_convert(sub)
    _add_render(sub)
    _add_demo(sub)
    for module in SUBCOMMAND_MODULES:
        importlib.import_module(module).add_subcommands(sub)
    return parser


def _transcript(value: str | None) -> str | None:
    if value is None or not value.startswith("@"):
        return value
    path = Path(value[1:])
    if not path.is_file():
        raise InputError(f"transcript file not found: {path}")
    return path.read_text(encoding="utf-8").strip()


def cmd_generate(args: argparse.Namespace) -> int:
    from .core.audio import load_audio
    from .core.formats import _suffix, write_curves
    from .progress_bar import ProgressBar

    _suffix(args.output)  # reject an unknown output format before any work
    device = _device_option(args)
    outputs = [_take_path(Path(args.output), index, args.takes) for index in range(max(1, args.takes))]
    check_writable(outputs)
    audio, rate = load_audio(args.audio, sample_rate=16000, max_seconds=args.max_seconds)
    request = _generate_request(args, audio, rate, args.takes)
    bar = ProgressBar()
    try:
        takes = _run(request, args.server, bar, device)
    finally:
        bar.close()
    paths = [_take_path(Path(args.output), index, len(takes)) for index in range(len(takes))]
    write_together(takes, paths, write_curves)
    for path, curves in zip(paths, takes, strict=True):
        print(f"wrote {path} ({curves.num_frames} frames at {curves.fps:g} fps)")
    return 0


def _device_option(args: argparse.Namespace) -> str:
    """`generate --device`, checked before any work (a missing GPU is a one-line error, not a traceback)."""
    if args.device is None:
        return "auto"
    if args.server:
        raise InputError("--device applies to generation here; a server runs on its own device (serve --device)")
    from .learning.devices import check_name, resolve_device

    resolve_device(check_name(args.device))
    return args.device


def _generate_request(args: argparse.Namespace, audio, rate: int, takes: int = 1):
    from .core.formats import read_curves
    from .core.request import GenerateRequest

    style = read_curves(args.style) if args.style else None
    return GenerateRequest(
        audio=audio, sample_rate=rate, transcript=_transcript(args.transcript), emotion=args.emotion,
        intensity=args.intensity, seed=args.seed, fps=args.fps, engine=args.engine, takes=takes,
        style_clip=style, steps=args.steps, guidance=args.guidance, refine=args.refine, precise=args.precise,
    )


def cmd_render(args: argparse.Namespace) -> int:
    from functools import partial

    from .render.cli import run_render

    return run_render(args, _generate_request, partial(_run, device=args.device))  # one --device for both


def check_writable(paths: Sequence[Path]) -> None:
    """Refuse, before any work, outputs that cannot be written: a missing folder, a folder in the way,
    or a folder that does not let us create files (tried with a probe file, removed at once)."""
    for path in paths:
        folder = path.resolve().parent
        if not folder.is_dir():
            raise InputError(f"output folder {path.parent} does not exist")
        if path.is_dir():
            raise InputError(f"output {path} is a folder, not a file")
    for folder in {path.resolve().parent for path in paths}:
        try:
            handle, probe = tempfile.mkstemp(prefix=".dreamtalk-probe-", suffix=".part", dir=folder)
        except OSError as error:
            raise InputError(f"cannot write into {folder}: {error.strerror or error}") from None
        os.close(handle)
        os.unlink(probe)


def write_together(items: Sequence, paths: Sequence[Path], write) -> None:
    """`write(item, path)` for every pair so that the files appear together or not at all: each is
    written to a hidden temp file beside its path first, then all are renamed into place with
    SIGINT/SIGTERM held back; anything failing before that removes the temp files and keeps the old ones."""
    temps = [path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}.part{path.suffix}") for path in paths]
    try:
        for item, temp in zip(items, temps, strict=True):
            write(item, temp)
        with _signals_held():
            for temp, path in zip(temps, paths, strict=True):
                os.replace(temp, path)
    finally:
        for temp in temps:
            temp.unlink(missing_ok=True)


@contextlib.contextmanager
def _signals_held() -> Iterator[None]:
    if not hasattr(signal, "pthread_sigmask"):  # Windows: no signal masks (and no SIGTERM delivery to wait for)
        yield
        return
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT, signal.SIGTERM})
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)


def _run(request, server: str | None, bar, device: str = "auto") -> list:
    if server:
        from .core.client import Client

        with Client(server) as client:
            return client.generate(request, on_progress=bar)
    from .engines import Placement, Progress, generate

    return generate(request, Progress(bar), Placement(device))


def _take_path(path: Path, index: int, count: int) -> Path:
    return path if count == 1 else path.with_name(f"{path.stem}_take{index + 1}{path.suffix}")


def cmd_convert(args: argparse.Namespace) -> int:
    from .core.formats import _suffix, read_curves, write_curves

    _suffix(args.output)
    curves = read_curves(args.input)
    if args.fps:
        curves = curves.resample(args.fps)
    write_curves(curves, args.output)
    print(f"wrote {args.output} ({curves.num_frames} frames at {curves.fps:g} fps)")
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    from .demo import run_demo

    for line in run_demo(Path(args.out), args.emotion, args.intensity, args.engine):
        print(line)
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        with _sigterm_raises():
            return int(args.func(args) or 0)
    except DreamTalkError as exc:
        print(f"dreamtalk: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("dreamtalk: interrupted", file=sys.stderr)
        return 130
    except Terminated:
        print("dreamtalk: terminated", file=sys.stderr)
        return 128 + signal.SIGTERM


@contextlib.contextmanager
def _sigterm_raises() -> Iterator[None]:
    """While a command runs, SIGTERM raises `Terminated` (like Ctrl-C's KeyboardInterrupt) so that
    atomic writes remove their temp files; commands that handle SIGTERM themselves (serve) replace it."""
    import threading

    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def terminate(signum, frame) -> None:
        raise Terminated

    previous = signal.signal(signal.SIGTERM, terminate)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


if __name__ == "__main__":
    sys.exit(main())
