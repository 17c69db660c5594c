"""Seeded smooth random signals and small smoothing helpers shared by the procedural layers."""

from __future__ import annotations

import numpy as np
from scipy.ndimage import gaussian_filter1d


def smooth_noise(rng: np.random.Generator, num_frames: int, fps: float, timescale: float) -> np.ndarray:
    """Gaussian-filtered white noise with unit standard deviation and correlation time ~`timescale` s."""
    sigma = max(timescale * fps, 0.5)
    pad = int(4 * sigma) + 1
    raw = rng.standard_normal(num_frames + 2 * pad)
    smooth = gaussian_filter1d(raw, sigma)[pad:pad + num_frames]
    std = float(np.std(gaussian_filter1d(rng.standard_normal(4096 + 2 * pad), sigma)))
    return (smooth / max(std, 1e-6)).astype(np.float32)


def smooth(track: np.ndarray, fps: float, seconds: float) -> np.ndarray:
    """Gaussian smoothing along time (axis 0) with a standard deviation of `seconds`."""
    sigma = seconds * fps
    if sigma < 0.3:
        return track
    return gaussian_filter1d(track, sigma, axis=0, mode="nearest")


def smoothstep(x: np.ndarray) -> np.ndarray:
    """Hermite ramp from 0 (x <= 0) to 1 (x >= 1)."""
    x = np.clip(x, 0.0, 1.0)
    return x * x * (3.0 - 2.0 * x)
