"""`dreamtalk renderer prepare VIDEOS_DIR --out DATA`: any talking-face videos -> training data.

Every frame of every video (mp4, mov, webm; read one frame at a time by part 1's PyAV reader) goes
through part 1's face analysis (MediaPipe face mesh with irises). Frames without a usable face are
skipped and counted by reason: no face, several faces (with `face="single"`), face too small, face
leaving the clip's crop. A video is cut into clips of `clip_seconds`; each clip gets one square crop
framed as `dreamtalk render` frames a portrait (around the clip's median face), so the head moves
inside it as it will at render time. Per clip: the crops, their landmarks, head poses, and the part-1
renders of the training pairs (`pairs.py`, person masks from MediaPipe's selfie segmentation).
Whole videos are held out for validation.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np

from ...core.errors import InputError
from ..analysis import MOUTH_AND_EYES, _frame_image, face_meshes, frame_box, person_mask
from ..config import RenderConfig
from ..video import iter_frames
from .config import PrepareConfig, config_to_dict
from .driving import frame_pose
from .pairs import render_pairs
from .store import ClipArrays, ClipInfo, DatasetWriter, Skipped, held_out_videos

VIDEO_SUFFIXES = (".mp4", ".mov", ".webm")
Report = Callable[[str, float], None]  # (label, fraction done)


def find_videos(folder: str | Path) -> list[Path]:
    root = Path(folder)
    if not root.is_dir():
        raise InputError(f"videos folder {root} does not exist")
    videos = sorted(p for p in root.rglob("*") if p.suffix.lower() in VIDEO_SUFFIXES and p.is_file())
    if not videos:
        raise InputError(f"no videos ({', '.join(VIDEO_SUFFIXES)}) in {root}")
    return videos


def _usable_face(frame: np.ndarray, config: PrepareConfig, skipped: Skipped) -> np.ndarray | None:
    """The frame's (478, 3) landmarks, or None (the reason counted in `skipped`)."""
    meshes = face_meshes(frame)
    if not meshes:
        skipped.add("no face")
        return None
    if len(meshes) > 1 and config.face == "single":
        skipped.add("several faces")
        return None
    points = max(meshes, key=lambda m: float(np.prod(np.ptp(m[:468, :2], 0))))
    if float(np.linalg.norm(points[468, :2] - points[473, :2])) < config.min_eye_distance:
        skipped.add("face too small")
        return None
    return points


def _chunks(path: Path, config: PrepareConfig, skipped: Skipped, report: Report | None, label: str,
            span: tuple[float, float]) -> Iterator[tuple[float, list[np.ndarray], list[np.ndarray]]]:
    """(fps, frames, landmarks) of consecutive usable frames, `clip_seconds` of video at most each."""
    frames, points, fps = [], [], 25.0
    for index, (frame, fps, count) in enumerate(iter_frames(path)):
        if report is not None and count:
            report(label, span[0] + (span[1] - span[0]) * min(index / count, 1.0))
        found = _usable_face(frame, config, skipped)
        if found is not None:
            frames.append(frame)
            points.append(found)
        if len(frames) >= max(1, round(config.clip_seconds * (fps or 25.0))):
            yield fps, frames, points
            frames, points = [], []
    if frames:
        yield fps, frames, points


def _crop_clip(frames: list[np.ndarray], points: list[np.ndarray], config: PrepareConfig,
               skipped: Skipped) -> tuple[tuple[float, float, float], np.ndarray, np.ndarray]:
    """One square crop for the clip (around its median face): the cropped frames and landmarks."""
    framing = RenderConfig(size=max(config.size, 64), crop_scale=config.crop_scale, crop_lift=config.crop_lift)
    box = frame_box(np.median(np.stack(points), 0), frames[0].shape, framing)
    x0, y0, side = box
    scale = config.size / side
    kept_frames, kept_points = [], []
    for frame, found in zip(frames, points):
        moved = found.copy()
        moved[:, :2] = (found[:, :2] + 0.5 - (x0, y0)) * scale - 0.5
        moved[:, 2] *= scale
        parts = moved[list(MOUTH_AND_EYES), :2]
        if parts.min() < 0 or parts.max() > config.size - 1:
            skipped.add("face leaves the crop")
            continue
        kept_frames.append(_frame_image(frame, box, config.size))
        kept_points.append(moved)
    return box, np.stack(kept_frames) if kept_frames else np.zeros((0,)), np.array(kept_points, np.float32)


def _clip_arrays(frames: np.ndarray, points: np.ndarray, config: PrepareConfig,
                 rng: np.random.Generator) -> ClipArrays:
    pose = np.stack([frame_pose(p) for p in points]).astype(np.float32)
    sources, warped = render_pairs(frames, points, pose, lambda i: person_mask(frames[i]), config.sources_per_clip,
                                   config.pairs_per_frame, rng)
    return ClipArrays(frames, points, pose, sources, warped)


def prepare(videos_dir: str | Path, out: str | Path, config: PrepareConfig | None = None,
            report: Report | None = None) -> dict:
    """Prepare every video under `videos_dir` into a new data folder `out`; returns dataset.json's content.
    On any failure nothing is left at `out` (a folder that existed empty is emptied again)."""
    config = config or PrepareConfig()
    videos, root = find_videos(videos_dir), Path(out)
    existed = root.exists()
    writer = DatasetWriter(root, config.size, config_to_dict(config))
    rng = np.random.default_rng(config.seed)
    skipped: list[Skipped] = []
    try:
        for number, path in enumerate(videos):
            name = path.relative_to(Path(videos_dir)).as_posix()
            skipped.append(Skipped(name))
            span = (number / len(videos), (number + 1) / len(videos))
            for fps, frames, points in _chunks(path, config, skipped[-1], report, name, span):
                box, crops, landmarks = _crop_clip(frames, points, config, skipped[-1])
                if len(crops) < 2:
                    skipped[-1].add("clip too short", len(crops))
                    continue
                arrays = _clip_arrays(crops, landmarks, config, rng)
                clip = ClipInfo(f"{Path(name).stem}_{len(writer.clips):04d}", name, len(arrays), fps, box)
                writer.add_clip(clip, arrays)
        if not writer.clips:
            raise InputError(f"no usable face in any frame of the {len(videos)} videos in {videos_dir}")
        return writer.finish(skipped, held_out_videos(writer.videos, config.val_fraction, config.seed))
    except BaseException:
        shutil.rmtree(root, ignore_errors=True)
        if existed:
            root.mkdir()
        raise


def summary(content: dict) -> list[str]:
    """Lines for the user: what was stored, what was skipped and why."""
    clips = content["clips"]
    frames = {split: sum(c["frames"] for c in clips if c["split"] == split) for split in ("train", "val")}
    videos = {split: len({c["video"] for c in clips if c["split"] == split}) for split in ("train", "val")}
    lines = [f"{len(clips)} clips, {frames['train']} training frames from {videos['train']} videos, "
             f"{frames['val']} validation frames from {videos['val']} held-out videos, at {content['size']} px"]
    for entry in content["skipped"]:
        reasons = ", ".join(f"{count} {reason}" for reason, count in sorted(entry["counts"].items()))
        lines.append(f"skipped in {entry['video']}: {reasons}")
    return lines
