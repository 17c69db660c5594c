"""Small raster helpers shared by the mouth and eye layers: boxes, coverage masks, 2-D affine fits."""

from __future__ import annotations

import numpy as np

Box = tuple[int, int, int, int]  # x0, y0, x1, y1 (x1, y1 exclusive)


def box_around(points: np.ndarray, margin: float, shape: tuple[int, ...]) -> Box:
    """Integer box around (N, 2) points grown by `margin` pixels, clipped to an image of `shape`."""
    lo = np.floor(points.min(0) - margin).astype(int)
    hi = np.ceil(points.max(0) + margin).astype(int) + 1
    x0, y0 = max(int(lo[0]), 0), max(int(lo[1]), 0)
    return x0, y0, max(min(int(hi[0]), shape[1]), x0), max(min(int(hi[1]), shape[0]), y0)


def coverage(polygon: np.ndarray, box: Box) -> np.ndarray:
    """(h, w) float32 anti-aliased coverage of a closed (N, 2) pixel polygon inside `box`."""
    import cv2

    x0, y0, x1, y1 = box
    canvas = np.zeros((y1 - y0, x1 - x0), np.uint8)
    fixed = np.round((polygon - (x0, y0)) * 16).astype(np.int32)
    cv2.fillPoly(canvas, [fixed], 255, lineType=cv2.LINE_AA, shift=4)
    return canvas.astype(np.float32) / 255.0


def polygon_area(polygon: np.ndarray) -> float:
    x, y = polygon[:, 0], polygon[:, 1]
    return 0.5 * abs(float(np.dot(x, np.roll(y, -1)) - np.dot(y, np.roll(x, -1))))


def fit_affine(source: np.ndarray, target: np.ndarray) -> np.ndarray:
    """(2, 3) least-squares affine taking (N, 2) `source` points onto `target`."""
    design = np.concatenate([source, np.ones((len(source), 1))], 1)
    solution, *_ = np.linalg.lstsq(design, target, rcond=None)
    return solution.T


def pixel_grid(box: Box) -> np.ndarray:
    """(h, w, 2) float32 pixel-centre coordinates of `box`."""
    x0, y0, x1, y1 = box
    ys, xs = np.mgrid[y0:y1, x0:x1].astype(np.float32)
    return np.stack([xs, ys], -1)


def apply_affine(affine: np.ndarray, points: np.ndarray) -> np.ndarray:
    """Apply a (2, 3) affine to (..., 2) points."""
    return points @ affine[:, :2].T + affine[:, 2]


def sample(image: np.ndarray, positions: np.ndarray, cubic: bool = True) -> np.ndarray:
    """Read `image` at (h, w, 2) float positions (edges replicated)."""
    import cv2

    flag = cv2.INTER_CUBIC if cubic else cv2.INTER_LINEAR
    positions = positions.astype(np.float32)
    return cv2.remap(image, positions[..., 0], positions[..., 1], flag, borderMode=cv2.BORDER_REPLICATE)
