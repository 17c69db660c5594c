"""The part-1 input of each training pair, rendered once while preparing data.

A clip keeps a few source frames; each driving frame gets `pairs_per_frame` part-1 renders, each from
a random source of the clip, driven by the geometry that takes that source to the driving frame
(`driving.video_geometry`). Training then learns what part 1 leaves wrong: target = the driving frame.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from ..analysis import Portrait
from ..config import DEFAULT_CONFIG
from ..renderer import GeometricRenderer
from .driving import video_geometry
from .store import ClipArrays

Progress = Callable[[int, int], None]  # (done, total)


def source_frames(count: int, wanted: int, rng: np.random.Generator) -> np.ndarray:
    """Up to `wanted` distinct frame indices, spread over the clip (one random pick per equal stretch)."""
    wanted = min(wanted, count)
    edges = np.linspace(0, count, wanted + 1)
    return np.array([int(rng.integers(int(a), max(int(a) + 1, int(b)))) for a, b in zip(edges[:-1], edges[1:])])


def render_pairs(frames: np.ndarray, landmarks: np.ndarray, pose: np.ndarray, mask_of: Callable[[int], np.ndarray],
                 sources_per_clip: int, pairs_per_frame: int, rng: np.random.Generator,
                 progress: Progress | None = None) -> tuple[np.ndarray, np.ndarray]:
    """-> sources (N, P) int32 and warped (N, P, S, S, 3) uint8 for a clip's frames (N, S, S, 3).

    `mask_of(i)` gives frame i's person mask (H, W) float 0..1 (selfie segmentation, or known).
    """
    count = len(frames)
    config = DEFAULT_CONFIG  # warp, mouth and eye settings of `dreamtalk render` (its size is unused here)
    renderers = {}
    for index in source_frames(count, sources_per_clip, rng):
        portrait = Portrait(np.ascontiguousarray(frames[index]), landmarks[index].astype(np.float64), mask_of(index),
                            (0.0, 0.0, 0.0))
        renderers[int(index)] = GeometricRenderer(portrait, config)
    pool = np.array(sorted(renderers))
    sources = np.empty((count, pairs_per_frame), np.int32)
    warped = np.empty((count, pairs_per_frame, *frames.shape[1:]), np.uint8)
    for index in range(count):
        others = pool[pool != index] if len(pool) > 1 else pool
        for slot in range(pairs_per_frame):
            source = int(rng.choice(others))
            renderer = renderers[source]
            geometry = video_geometry(renderer, pose[source], landmarks[index], pose[index], config.seal_gain)
            sources[index, slot] = source
            warped[index, slot] = renderer.render_geometry(geometry)
        if progress is not None:
            progress(index + 1, count)
    return sources, warped


def resize_clip(arrays: ClipArrays, size: int) -> ClipArrays:
    """The clip at another square size (area down-sampling; landmarks scaled about pixel centres)."""
    import cv2

    side = arrays.frames.shape[1]
    if side == size:
        return arrays
    scale = size / side

    def shrink(images: np.ndarray) -> np.ndarray:
        flat = images.reshape(-1, side, side, 3)
        out = np.stack([cv2.resize(image, (size, size), interpolation=cv2.INTER_AREA) for image in flat])
        return out.reshape(*images.shape[:-3], size, size, 3)

    landmarks = arrays.landmarks.copy()
    landmarks[..., :2] = (landmarks[..., :2] + 0.5) * scale - 0.5
    landmarks[..., 2] *= scale
    return ClipArrays(shrink(arrays.frames), landmarks.astype(np.float32), arrays.pose, arrays.sources,
                      shrink(arrays.warped))
