"""Sliding windows over a sequence and their overlap blending: one implementation for EmoDiff's
stitched sampling and the lip refiner (numpy; the networks and samplers are elsewhere).

Windows of `window` frames start every `window - overlap` frames; the last one is moved back so it
ends on the last frame (sequences shorter than a window are edge-padded). Each window's output is
weighted by a trapezoid that never reaches zero (linear ramps over `overlap` frames at both ends, 1 in
the middle), so every frame gets a weighted average of the windows covering it and a frame-wise
network is reproduced exactly.
"""

from __future__ import annotations

import numpy as np


def window_starts(length: int, window: int, overlap: int) -> list[int]:
    """Start frames of windows covering `length` frames with at least `overlap` shared frames."""
    if not 0 <= overlap < window:
        raise ValueError(f"overlap must be within 0..{window - 1}, got {overlap}")
    if length <= window:
        return [0]
    stride = window - overlap
    starts = list(range(0, length - window + 1, stride))
    if starts[-1] != length - window:
        starts.append(length - window)
    return starts


def blend_weights(window: int, overlap: int) -> np.ndarray:
    """`(window,)` float32 trapezoid: (i + 1) / (overlap + 1) up the first `overlap` frames, 1 in the
    middle, mirrored at the end (all > 0)."""
    ramp = (np.arange(window, dtype=np.float32) + 1) / np.float32(overlap + 1)
    return np.minimum(np.ones(window, np.float32), np.minimum(ramp, ramp[::-1]))


def pad_to(seq: np.ndarray, frames: int) -> np.ndarray:
    """Edge-pad `(T, C)` along time to at least `frames` frames."""
    return np.pad(seq, ((0, max(0, frames - len(seq))), (0, 0)), mode="edge") if len(seq) else seq


def cut(seq: np.ndarray, starts: list[int], window: int, context: int = 0) -> np.ndarray:
    """`(W, window + 2 * context, C)` windows of `(T, C)`, edge-padded outside the sequence."""
    padded = np.pad(pad_to(seq, window), ((context, context), (0, 0)), mode="edge")
    return np.stack([padded[s: s + window + 2 * context] for s in starts])


def blend(windows: np.ndarray, starts: list[int], frames: int, overlap: int) -> np.ndarray:
    """`(W, window, C)` window outputs -> `(frames, C)` weighted average over covering windows."""
    window = windows.shape[1]
    w = blend_weights(window, overlap)[:, None]
    total = np.zeros((max(frames, window), windows.shape[2]), np.float64)
    weight = np.zeros((max(frames, window), 1), np.float64)
    for start, out in zip(starts, windows):
        total[start: start + window] += w * out
        weight[start: start + window] += w
    return (total / weight)[:frames].astype(np.float32)
