"""Locked frames (Regenerate range) at any frame rate, for every engine.

A request's locked frames come at the caller's rate (a Blender scene at 24, 29.97 or 30 fps). An
engine that works at its own rate gets them resampled with `resample_locked` (EmoDiff: 25 fps), and
whatever an engine returns is brought back by `keep_locked`: onto the request's frame grid, the
locked frames exactly as given, the free frames beside them eased onto them (`ease_into_locked`, the
raised-cosine blend EmoDiff uses after inpainting). Plain numpy: shared by the engines and the tests.
"""

from __future__ import annotations

import numpy as np

from .curves import Curves
from .errors import InputError

LOCK_EASE_SECONDS = 0.32  # free time eased onto each locked range's edge (EmoDiff's 8 frames at 25 fps)


def resample_locked(curves: Curves, mask: np.ndarray | None, fps: float, frames: int) -> tuple[Curves, np.ndarray]:
    """`curves` on `frames` frames at `fps` (linear in time), and its `(T,)` locked `mask` on that grid.

    A new frame is locked only when the source frames on both sides of its time are locked, so a
    free span never shrinks; frames past the source's end repeat its last frame."""
    source_t = np.arange(curves.num_frames) / curves.fps
    target_t = np.arange(frames) / fps

    def track(array: np.ndarray | None) -> np.ndarray | None:
        if array is None:
            return None
        return np.stack([np.interp(target_t, source_t, array[:, c]) for c in range(array.shape[1])], axis=1)

    out = Curves(fps, np.clip(track(curves.values), 0.0, 1.0), track(curves.head_pose), track(curves.eye_rotation))
    if mask is None:
        return out, np.zeros(frames, bool)
    position = np.clip(target_t * curves.fps, 0, curves.num_frames - 1)
    return out, mask[np.floor(position).astype(int)] & mask[np.ceil(position).astype(int)]


def keep_locked(take: Curves, locked: Curves, mask: np.ndarray, ease_seconds: float = LOCK_EASE_SECONDS) -> Curves:
    """`take` on `locked`'s frame grid: `locked` where `mask`, the free frames eased onto the locked ones."""
    mask = check_mask(locked, mask)
    grid, _ = resample_locked(take, None, locked.fps, locked.num_frames)
    eyes = grid.eye_rotation is not None and locked.eye_rotation is not None
    x = _stack(grid, eyes)  # (T, 55 [+ 6])
    x = np.where(mask[:, None], _stack(locked, eyes), x)
    x = ease_into_locked(x[None], mask, max(1, int(round(ease_seconds * locked.fps))))[0]
    eye_rotation = x[:, 55:] if eyes else grid.eye_rotation
    return Curves(locked.fps, np.clip(x[:, :52], 0.0, 1.0), x[:, 52:55], eye_rotation)


def check_mask(locked: Curves, mask) -> np.ndarray:
    """The `(T,)` bool mask of `locked`, or a one-line InputError."""
    mask = np.asarray(mask, bool).reshape(-1)
    if mask.shape != (locked.num_frames,):
        raise InputError(f"locked_mask has {mask.size} entries for {locked.num_frames} locked frames")
    return mask


def _stack(curves: Curves, eyes: bool) -> np.ndarray:
    parts = [curves.values, curves.head_pose] + ([curves.eye_rotation] if eyes else [])
    return np.concatenate(parts, axis=1).astype(np.float64)


def ease_into_locked(x: np.ndarray, locked_mask: np.ndarray, frames: int) -> np.ndarray:
    """`x (K, T, P)` with the free frames beside each locked range eased onto it; locked frames untouched.

    Inpainting keeps locked frames exact but can leave a jump where they meet generated ones. At each
    boundary the free frame's offset from where the motion would continue (the locked edge frame plus
    the mean of the steps on either side) is taken out, fading with a raised cosine over `frames` free
    frames, as an animator blends a take into keyed poses."""
    mask = np.asarray(locked_mask, bool)
    if frames < 1 or not mask.any() or mask.all():
        return x
    out = x.copy()
    fade = 0.5 * (1.0 + np.cos(np.pi * np.arange(frames) / frames))  # 1 at the boundary, then down
    for edge in np.flatnonzero(np.diff(mask.astype(int))):
        lock, free, way = (edge, edge + 1, 1) if mask[edge] else (edge + 1, edge, -1)
        run = _free_run(mask, free, way, frames)
        steps = _step_along(x, mask, lock - way, way, True) + _step_along(x, mask, free, way, False)
        offset = x[:, free] - (x[:, lock] + 0.5 * steps)  # (K, P)
        out[:, run] -= fade[None, : len(run), None] * offset[:, None, :]
    return out


def _free_run(mask: np.ndarray, start: int, way: int, limit: int) -> np.ndarray:
    """Up to `limit` consecutive free frames from `start`, walking in direction `way` (+1 or -1)."""
    run = []
    while 0 <= start < len(mask) and not mask[start] and len(run) < limit:
        run.append(start)
        start += way
    return np.array(run, int)


def _step_along(x: np.ndarray, mask: np.ndarray, frame: int, way: int, locked: bool) -> np.ndarray | float:
    """`x[frame + way] - x[frame]` when both frames are locked (or both free) as asked, else 0."""
    other = frame + way
    if not (0 <= frame < len(mask) and 0 <= other < len(mask)) or mask[frame] != locked or mask[other] != locked:
        return 0.0
    return x[:, other] - x[:, frame]
