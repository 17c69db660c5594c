"""Render orchestration: portrait + curves (+ audio) -> mp4 file or bytes, with progress and cancellation.

Renderers are registered by name, lazily ('module:Class'), like the engines; the photoreal renderer's
callers (CLI, service) only see this module. A renderer class is built from `(Portrait, RenderConfig)`
and has `frames(curves, progress) -> iterator of (H, W, 3) uint8 frames`.
"""

from __future__ import annotations

import importlib
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..core.curves import Curves
from ..core.errors import InputError
from .analysis import Portrait, analyse
from .config import DEFAULT_CONFIG, RenderConfig
from .video import encode_video, write_video

Progress = Callable[[str, float], None]

_RENDERERS: dict[str, str | type] = {
    "geometric": "dreamtalk.render.renderer:GeometricRenderer",
    "neural": "dreamtalk.render.neural.inference:NeuralRenderer",  # needs a trained checkpoint (render/neural)
}
DEFAULT_RENDERER = "geometric"


def register(name: str, target: str | type) -> None:
    """Register a renderer by 'module:Class' path (imported on first use) or class."""
    _RENDERERS[name] = target


def available() -> list[str]:
    return sorted(_RENDERERS)


def resolve(name: str) -> type:
    target = _RENDERERS.get(name)
    if target is None:
        raise InputError(f"unknown renderer {name!r}; available: {', '.join(available())}")
    if isinstance(target, type):
        return target
    module, _, attribute = target.partition(":")
    return getattr(importlib.import_module(module), attribute)


@dataclass
class RenderInput:
    """Everything one render needs."""

    portrait: np.ndarray | Portrait  # (H, W, 3) uint8 RGB original picture, or one already analysed
    curves: Curves  # the animation, at its own frame rate
    audio: np.ndarray | None = None  # (N,) float32 mono, muxed as AAC
    sample_rate: int | None = None  # Hz, with `audio`
    renderer: str = DEFAULT_RENDERER  # a name from `available()`

    def __post_init__(self) -> None:
        check_lengths(self.curves, self.audio, self.sample_rate)


def check_lengths(curves: Curves, audio: np.ndarray | None, sample_rate: int | None) -> None:
    """Refuse curves and audio that do not last the same (within two frames or 0.1 s)."""
    if curves.num_frames == 0:
        raise InputError("the curves have no frames")
    check_durations(curves.duration, None if audio is None else len(audio) / float(sample_rate or 1), curves.fps)


def check_durations(curves_seconds: float, audio_seconds: float | None, fps: float) -> None:
    """`check_lengths` from the durations alone."""
    if audio_seconds is not None and abs(curves_seconds - audio_seconds) > max(2.0 / fps, 0.1):
        raise InputError(
            f"the curves last {curves_seconds:.2f} s but the audio lasts {audio_seconds:.2f} s; "
            f"generate the curves from this audio (or pass the matching audio)")


def _frames(job: RenderInput, config: RenderConfig, progress: Progress | None) -> Iterator[np.ndarray]:
    """Analyse the portrait now (so bad input fails before any output is opened), then frames lazily."""
    if progress is not None:
        progress("analyse", 0.0)
    portrait = job.portrait if isinstance(job.portrait, Portrait) else analyse(job.portrait, config)
    renderer = resolve(job.renderer)(portrait, config)

    def frames() -> Iterator[np.ndarray]:
        yield from renderer.frames(job.curves, progress)
        if progress is not None:
            progress("render", 1.0)
    return frames()


def _audio(job: RenderInput) -> tuple[np.ndarray, int] | None:
    return None if job.audio is None else (job.audio, int(job.sample_rate or 0))


def render_file(job: RenderInput, output: str | os.PathLike, config: RenderConfig = DEFAULT_CONFIG,
                progress: Progress | None = None, frames_dir: str | os.PathLike | None = None) -> int:
    """Render to an mp4 at `output` (and PNG frames into `frames_dir`); returns the frame count.

    Both appear only when the whole render succeeded; nothing is left behind otherwise.
    """
    frames = _frames(job, config, progress)
    if frames_dir is None:
        return write_video(output, frames, job.curves.fps, _audio(job), config)
    target = _check_frames_dir(Path(frames_dir))
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".part", dir=target.parent))
    try:
        count = write_video(output, _saving(frames, staging), job.curves.fps, _audio(job), config)
        if target.exists():
            target.rmdir()
        staging.rename(target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return count


def render_bytes(job: RenderInput, config: RenderConfig = DEFAULT_CONFIG, progress: Progress | None = None) -> bytes:
    """Render to mp4 bytes (the service's reply)."""
    return encode_video(_frames(job, config, progress), job.curves.fps, _audio(job), config)


def _check_frames_dir(target: Path) -> Path:
    if target.exists() and (not target.is_dir() or any(target.iterdir())):
        raise InputError(f"frames folder {target} exists and is not empty; name a new or empty folder")
    if not target.parent.is_dir():
        raise InputError(f"folder {target.parent} does not exist")
    return target


def _saving(frames: Iterator[np.ndarray], folder: Path) -> Iterator[np.ndarray]:
    from PIL import Image

    for index, frame in enumerate(frames):
        Image.fromarray(frame).save(folder / f"frame_{index + 1:05d}.png", compress_level=1)
        yield frame
