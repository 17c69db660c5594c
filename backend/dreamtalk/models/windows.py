"""Sliding windows over a sequence and their overlap blending (numpy; the network is elsewhere).

Windows of `window` frames start every `window - overlap` frames; the last one is moved back so it
ends on the last frame (sequences shorter than a window are edge-padded). Each window's output is
weighted by a triangular ramp that never reaches zero, so every frame gets a weighted average of
the windows covering it and a frame-wise network is reproduced exactly.
"""

from __future__ import annotations

import numpy as np

from .emodiff.long import window_starts  # the same covering as EmoDiff's windows

__all__ = ["blend", "blend_weights", "cut", "pad_to", "window_starts"]


def blend_weights(window: int, overlap: int) -> np.ndarray:
    """`(window,)` weights: a ramp up over the overlap, flat in the middle, a ramp down (all > 0)."""
    ramp = (np.arange(overlap) + 0.5) / overlap if overlap else np.zeros(0)
    w = np.ones(window)
    w[:overlap] = ramp
    w[window - overlap:] = np.minimum(w[window - overlap:], ramp[::-1]) if overlap else 1.0
    return w.astype(np.float32)


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
