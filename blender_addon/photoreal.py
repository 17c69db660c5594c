"""Render photoreal: the active take + a portrait -> a talking-head video made by the backend.

`prepare` (main thread) reads the target's current shape-key action (and head rotation) back as curves
over the take's audio, reads the portrait and the audio, and snapshots them into a plain `RenderJob`.
The worker thread sends a `render` request and writes the returned mp4 atomically; `apply_result`
(main thread) puts it in the Video Sequencer as a movie strip at the take's start frame, replacing the
strip of an earlier render of the same target unless the animator moved it.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import bpy
import numpy as np

from . import apply, generate
from ._core import Curves, RenderRequest, formats

PORTRAIT_SIGNATURES = {b"\x89PNG\r\n\x1a\n": "PNG", b"\xff\xd8\xff": "JPEG"}
MAX_PORTRAIT_BYTES = 50 << 20
STRIP_NAME = "DT video"


@dataclass
class RenderJob:
    """A plain snapshot of one photoreal render."""

    scene: str
    target: str
    start_frame: int
    output: str  # absolute path of the .mp4 to write
    request: RenderRequest


def read_portrait(path: str) -> bytes:
    """The portrait file's bytes; it must be a PNG or JPEG image (what the protocol carries)."""
    file = Path(path) if path else None
    if file is None or not file.is_file():
        raise ValueError(f"portrait not found: {path or '(none chosen)'}")
    data = file.read_bytes()
    if not any(data.startswith(signature) for signature in PORTRAIT_SIGNATURES):
        raise ValueError(f"portrait {file.name} must be a PNG or JPEG image")
    if len(data) > MAX_PORTRAIT_BYTES:
        raise ValueError(f"portrait {file.name} is over {MAX_PORTRAIT_BYTES >> 20} MB")
    return data


def output_path(settings) -> str:
    """The .mp4 to write (Blender's // paths resolved); its folder must exist."""
    path = Path(bpy.path.abspath(settings.render_output or "//dreamtalk_render.mp4"))
    if path.suffix.lower() != ".mp4":
        raise ValueError(f"render output {path.name} must end in .mp4")
    if not path.parent.is_dir():
        raise ValueError(f"render output folder {path.parent} does not exist (save the .blend, or choose a folder)")
    return str(path)


def take_curves(settings, scene, obj, frames: np.ndarray) -> Curves:
    """The target's current take read back at scene `frames` (shape keys, and the head if it is set)."""
    key = apply.shape_keys_of(obj)
    if key.animation_data is None or key.animation_data.action is None:
        raise ValueError(f"{obj.name} has no take to render; Generate first")
    fps = apply.scene_fps(scene)
    curves = apply.read_back(obj, generate.retarget_map(settings, obj), frames, fps)
    head = generate.head_target(settings)
    if head is not None:
        curves = Curves(curves.fps, curves.values, apply.read_head(head, frames), curves.eye_rotation)
    return curves


def prepare(context) -> RenderJob:
    """Validate the panel and snapshot the render (ValueError / InputError with one line if bad)."""
    scene, settings = context.scene, context.scene.dreamtalk
    obj = settings.target
    if obj is None:
        raise ValueError("choose the target object whose take to render")
    portrait = read_portrait(bpy.path.abspath(settings.portrait_path))
    output = output_path(settings)
    path, start, _ = generate.audio_source(settings, scene)
    audio, rate = generate.read_audio(path)
    frames = start + np.arange(max(1, int(round(len(audio) / rate * apply.scene_fps(scene)))))
    options = {"size": int(settings.render_size), "framing": "full" if settings.render_full else "crop"}
    request = RenderRequest(portrait, take_curves(settings, scene, obj, frames), audio, rate, options)
    return RenderJob(scene.name, obj.name, start, output, request)


def render_work(make_client, job: RenderJob):
    """Work (worker thread): ask the backend for the video and write it; returns the path."""

    def work(progress, cancel: threading.Event) -> Any:
        client = make_client()
        try:
            video = client.render(job.request, on_progress=progress, cancel=cancel)
        finally:
            client.close()
        formats.atomic_write(job.output, lambda handle: handle.write(video))
        return job.output

    return work


def apply_result(job: RenderJob, path: str) -> str:
    """Main thread: the video into the sequencer at the take's start; returns the report line."""
    scene = bpy.data.scenes.get(job.scene)
    if scene is None:
        return f"Rendered {path} (the scene was deleted, so no movie strip)"
    note = place_movie_strip(scene, path, job.start_frame, job.target)
    return f"Rendered {path} ({job.request.curves.num_frames} frames); {note}"


def place_movie_strip(scene, path: str, frame_start: int, target: str) -> str:
    """One movie strip per target's render: an earlier one is replaced unless the animator moved it."""
    editor = scene.sequence_editor or scene.sequence_editor_create()
    ours, moved = apply.owned_strips(editor, "MOVIE", target)
    if moved:
        return f"movie strip {moved[0].name} kept where you moved it (load {Path(path).name} yourself)"
    strips = apply.sequencer_strips(editor)
    for strip in ours:
        strips.remove(strip)
    strip = apply.on_free_channel(strips, lambda channel: strips.new_movie(STRIP_NAME, path, channel, frame_start),
                                  "movie strip", first=2)
    apply.mark_owned(strip, target)
    return f"movie strip {strip.name} ({strip.frame_final_duration} frames) at frame {frame_start}"
