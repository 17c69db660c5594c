"""`Curves`: ARKit-52 blendshape tracks + head pose (+ optional eye rotations) at a frame rate.

Values are float32 `(T, 52)` in [0, 1] in `ARKIT_NAMES` order; head pose is `(T, 3)` yaw/pitch/roll
in radians; eye rotations, when present, are `(T, 6)` left yaw/pitch/roll, right yaw/pitch/roll.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .arkit import ARKIT_NAMES, INDEX, NUM_BLENDSHAPES
from .errors import InputError

_RANGE_SLACK = 1e-4  # tolerated float noise outside [0, 1] before values count as out of range


@dataclass
class Curves:
    """ARKit-52 animation at `fps` frames per second (validated on construction)."""

    fps: float
    values: np.ndarray  # (T, 52) float32 in [0, 1]
    head_pose: np.ndarray | None = None  # (T, 3) yaw, pitch, roll in radians
    eye_rotation: np.ndarray | None = None  # (T, 6) or None
    names: tuple[str, ...] = field(default=ARKIT_NAMES)

    def __post_init__(self) -> None:
        self.fps = _check_fps(self.fps)
        self.values = _as_track(self.values, "values", NUM_BLENDSHAPES)
        frames = self.values.shape[0]
        if self.head_pose is None:
            self.head_pose = np.zeros((frames, 3), np.float32)
        self.head_pose = _as_track(self.head_pose, "head_pose", 3, frames)
        if self.eye_rotation is not None:
            self.eye_rotation = _as_track(self.eye_rotation, "eye_rotation", 6, frames)
        if tuple(self.names) != ARKIT_NAMES:
            raise InputError("curves names must be the 52 ARKit names in Apple's order")
        self.names = ARKIT_NAMES
        _check_range(self.values)

    @property
    def num_frames(self) -> int:
        return int(self.values.shape[0])

    @property
    def duration(self) -> float:
        """Seconds covered by the frames."""
        return self.num_frames / self.fps

    def channel(self, name: str) -> np.ndarray:
        """The `(T,)` track of one ARKit channel."""
        return self.values[:, INDEX[name]]

    def slice(self, start: int, stop: int) -> Curves:
        """Frames `start:stop` (Python slice semantics)."""
        eyes = None if self.eye_rotation is None else self.eye_rotation[start:stop]
        return Curves(self.fps, self.values[start:stop], self.head_pose[start:stop], eyes)

    def resample(self, fps: float) -> Curves:
        """Linear resampling onto a new frame grid covering the same duration."""
        fps = _check_fps(fps)
        if abs(fps - self.fps) < 1e-9 or self.num_frames == 0:
            return Curves(fps, self.values.copy(), self.head_pose.copy(), _copy(self.eye_rotation))
        count = max(1, int(round(self.duration * fps)))
        src_t = np.arange(self.num_frames) / self.fps
        dst_t = np.arange(count) / fps
        eyes = None if self.eye_rotation is None else _interp(self.eye_rotation, src_t, dst_t)
        values = np.clip(_interp(self.values, src_t, dst_t), 0.0, 1.0)
        return Curves(fps, values, _interp(self.head_pose, src_t, dst_t), eyes)

    def copy(self) -> Curves:
        return Curves(self.fps, self.values.copy(), self.head_pose.copy(), _copy(self.eye_rotation))


def concatenate(parts: list[Curves]) -> Curves:
    """Join curves end to end; all parts must share one fps."""
    if not parts:
        raise InputError("nothing to concatenate")
    fps = parts[0].fps
    if any(abs(p.fps - fps) > 1e-9 for p in parts):
        raise InputError("cannot concatenate curves with different fps; resample first")
    has_eyes = all(p.eye_rotation is not None for p in parts)
    eyes = np.concatenate([p.eye_rotation for p in parts]) if has_eyes else None
    return Curves(
        fps,
        np.concatenate([p.values for p in parts]),
        np.concatenate([p.head_pose for p in parts]),
        eyes,
    )


def zeros(num_frames: int, fps: float) -> Curves:
    """A neutral face for `num_frames` frames."""
    return Curves(fps, np.zeros((num_frames, NUM_BLENDSHAPES), np.float32))


def _check_fps(fps: float) -> float:
    try:
        value = float(fps)
    except (TypeError, ValueError):
        raise InputError(f"fps must be a number, got {fps!r}") from None
    if not np.isfinite(value) or not 1.0 <= value <= 1000.0:
        raise InputError(f"fps must be between 1 and 1000, got {fps!r}")
    return value


def _as_track(array: np.ndarray, what: str, width: int, frames: int | None = None) -> np.ndarray:
    out = np.asarray(array, dtype=np.float32)
    if out.ndim != 2 or out.shape[1] != width:
        raise InputError(f"{what} must have shape (frames, {width}), got {tuple(out.shape)}")
    if frames is not None and out.shape[0] != frames:
        raise InputError(f"{what} has {out.shape[0]} frames but values have {frames}")
    bad = ~np.isfinite(out)
    if bad.any():
        frame = int(np.argwhere(bad)[0][0])
        raise InputError(f"{what} contains NaN or infinite numbers (first at frame {frame})")
    return np.ascontiguousarray(out)


def _check_range(values: np.ndarray) -> None:
    low, high = values < -_RANGE_SLACK, values > 1.0 + _RANGE_SLACK
    if low.any() or high.any():
        frame, column = (np.argwhere(low | high)[0]).tolist()
        value = float(values[frame, column])
        raise InputError(
            f"blendshape {ARKIT_NAMES[column]} = {value:.4g} at frame {frame} is outside [0, 1]"
        )
    np.clip(values, 0.0, 1.0, out=values)


def _interp(track: np.ndarray, src_t: np.ndarray, dst_t: np.ndarray) -> np.ndarray:
    if track.shape[0] == 1:
        return np.repeat(track, len(dst_t), axis=0)
    return np.stack([np.interp(dst_t, src_t, track[:, c]) for c in range(track.shape[1])], axis=1)


def _copy(array: np.ndarray | None) -> np.ndarray | None:
    return None if array is None else array.copy()
