"""The training data folder `dreamtalk renderer prepare` writes and `dreamtalk train renderer` reads.

    DATA/dataset.json                 kind, format version, frame size, preparation settings, the
                                      clips (video, split, frame count, fps, crop box) and what was skipped
    DATA/clips/NAME/frames.npy        (N, S, S, 3) uint8  the cropped frames that show one face
    DATA/clips/NAME/landmarks.npy     (N, 478, 3) float32 MediaPipe landmarks in pixels of the crop
    DATA/clips/NAME/pose.npy          (N, 3) float32      yaw, pitch, roll of the head (rig convention)
    DATA/clips/NAME/sources.npy       (N, P) int32        the source frame of each stored part-1 render
    DATA/clips/NAME/warped.npy        (N, P, S, S, 3) uint8 part 1's render of that source driven to frame n

Plain .npy files, so training memory-maps them (no decoding in the loop). A clip is a stretch of one
video with one fixed crop; its frames pair only with each other. The split is per video: every
clip of a held-out video is in "val". A clip appears (renamed into place) only when complete, and
dataset.json only when the whole preparation finished.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ...core.errors import InputError
from ...core.formats import atomic_write

DATA_KIND = "dreamtalk-renderer-data"
DATA_FORMAT = 1
ARRAYS = ("frames", "landmarks", "pose", "sources", "warped")


@dataclass
class ClipArrays:
    """One clip's arrays (in memory, or memory-mapped when read back)."""

    frames: np.ndarray  # (N, S, S, 3) uint8
    landmarks: np.ndarray  # (N, 478, 3) float32 pixels of the crop
    pose: np.ndarray  # (N, 3) float32 radians
    sources: np.ndarray  # (N, P) int32 frame index of each render's source
    warped: np.ndarray  # (N, P, S, S, 3) uint8

    def __len__(self) -> int:
        return len(self.frames)


@dataclass
class ClipInfo:
    name: str  # folder name under clips/
    video: str  # the video file it comes from (relative to the videos folder)
    frames: int  # frames stored
    fps: float  # the video's frame rate
    box: tuple[float, float, float]  # (x0, y0, side) of the crop in the video's pixels
    split: str = "train"  # "train" or "val" (per video)


@dataclass
class Skipped:
    """Frames of one video that did not make it into the data, by reason."""

    video: str
    counts: dict[str, int] = field(default_factory=dict)

    def add(self, reason: str, count: int = 1) -> None:
        self.counts[reason] = self.counts.get(reason, 0) + count


class DatasetWriter:
    """Writes clips into a new (or empty) folder; `finish` assigns the split and writes dataset.json."""

    def __init__(self, root: str | Path, size: int, settings: dict) -> None:
        self.root = Path(root)
        if self.root.exists() and (not self.root.is_dir() or any(self.root.iterdir())):
            raise InputError(f"data folder {self.root} exists and is not empty; name a new or empty folder")
        if not self.root.parent.is_dir():
            raise InputError(f"folder {self.root.parent} does not exist")
        (self.root / "clips").mkdir(parents=True, exist_ok=True)
        self.size, self.settings = size, settings
        self.clips: list[ClipInfo] = []

    def add_clip(self, info: ClipInfo, arrays: ClipArrays) -> None:
        if arrays.frames.shape[1:] != (self.size, self.size, 3):
            raise ValueError(f"clip frames are {arrays.frames.shape[1:]}, the data's size is {self.size}")
        staging = self.root / "clips" / f".{info.name}.part"
        shutil.rmtree(staging, ignore_errors=True)
        staging.mkdir()
        for name in ARRAYS:
            np.save(staging / f"{name}.npy", np.ascontiguousarray(getattr(arrays, name)))
        staging.rename(self.root / "clips" / info.name)
        self.clips.append(info)

    @property
    def videos(self) -> list[str]:
        return sorted({clip.video for clip in self.clips})

    def finish(self, skipped: list[Skipped], held: set[str]) -> dict:
        """Put the clips of the `held` videos into "val", then write dataset.json; returns its content."""
        for clip in self.clips:
            clip.split = "val" if clip.video in held else "train"
        content = {
            "kind": DATA_KIND, "format_version": DATA_FORMAT, "size": self.size, "settings": self.settings,
            "clips": [vars(clip) | {"box": list(clip.box)} for clip in self.clips],
            "skipped": [vars(s) for s in skipped if s.counts],
        }
        atomic_write(self.root / "dataset.json", lambda h: h.write(json.dumps(content, indent=1).encode()))
        return content


def held_out_videos(videos: list[str], fraction: float, seed: int) -> set[str]:
    """round(fraction * count) videos (at least one when there are two or more and fraction > 0)."""
    if fraction <= 0 or len(videos) < 2:
        return set()
    count = min(max(1, round(fraction * len(videos))), len(videos) - 1)
    order = np.random.default_rng(seed).permutation(len(videos))
    return {videos[i] for i in order[:count]}


class RendererData:
    """A prepared data folder, read back; clips memory-mapped."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)
        index = self.root / "dataset.json"
        if not index.is_file():
            raise InputError(f"{self.root} is not prepared renderer data (no dataset.json; run dreamtalk renderer prepare)")
        try:
            content = json.loads(index.read_text(encoding="utf-8"))
        except (ValueError, UnicodeDecodeError):
            raise InputError(f"{index} is not readable JSON") from None
        if content.get("kind") != DATA_KIND:
            raise InputError(f"{self.root} is not prepared renderer data (kind {str(content.get('kind'))[:40]!r})")
        if content.get("format_version") != DATA_FORMAT:
            raise InputError(f"renderer data format {content.get('format_version')} is not supported "
                             f"(this build reads {DATA_FORMAT}); prepare it again")
        self.size = int(content["size"])
        self.clips = [ClipInfo(**{**c, "box": tuple(c["box"])}) for c in content["clips"]]
        self.skipped = content.get("skipped", [])

    def split(self, name: str) -> list[tuple[ClipInfo, ClipArrays]]:
        return [(clip, self.arrays(clip)) for clip in self.clips if clip.split == name]

    def arrays(self, clip: ClipInfo) -> ClipArrays:
        folder = self.root / "clips" / clip.name
        try:
            loaded = {name: np.load(folder / f"{name}.npy", mmap_mode="r") for name in ARRAYS}
        except (OSError, ValueError) as error:
            raise InputError(f"clip {clip.name} of {self.root} is missing or damaged ({error})") from None
        return ClipArrays(**loaded)
