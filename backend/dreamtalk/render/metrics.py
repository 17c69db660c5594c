"""Measurements of rendered frames (no downloaded networks): PSNR, SSIM, sharpness, re-detected landmarks.

Landmarks are re-detected on rendered frames with the same MediaPipe face mesh that analysed the
portrait and compared with where motion transfer meant them to be, in units of the inter-ocular
distance (IOD, between the iris centres of the portrait).
"""

from __future__ import annotations

import numpy as np

from ..rig import landmarks as lm
from .analysis import face_meshes

# Six-point eye outlines (corner, two upper, corner, two lower) for the eye aspect ratio.
EYE_SIX = {"right": (33, 160, 158, 133, 153, 144), "left": (362, 385, 387, 263, 373, 380)}
MOUTH_POINTS = np.array(sorted(set(lm.UPPER_LIP_OUTER + lm.LOWER_LIP_OUTER + lm.UPPER_LIP_INNER + lm.LOWER_LIP_INNER)))


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    """Peak signal-to-noise ratio in dB of two uint8 images (inf when identical)."""
    mse = float(np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2))
    return float("inf") if mse == 0 else 10.0 * np.log10(255.0 ** 2 / mse)


def ssim_map(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """(H, W) structural similarity of two RGB uint8 images (Wang et al. 2004, 7x7 windows, on luma)."""
    from skimage.metrics import structural_similarity

    _, full = structural_similarity(_luma(a), _luma(b), data_range=255.0, full=True)
    return full


def sharpness(image: np.ndarray, mask: np.ndarray | None = None) -> float:
    """Variance of the Laplacian of the luma, over `mask` (H, W bool) or the whole image."""
    import cv2

    laplacian = cv2.Laplacian(_luma(image), cv2.CV_64F, ksize=3)
    values = laplacian[mask] if mask is not None else laplacian
    return float(values.var())


def background(source_mask: np.ndarray, frame_mask: np.ndarray, margin: int = 4) -> np.ndarray:
    """(H, W) bool: background in the portrait and in the frame, `margin` pixels clear of the person
    (so that SSIM windows measure the background only)."""
    import cv2

    person = ((source_mask > 0.5) | (frame_mask > 0.5)).astype(np.uint8)
    return cv2.dilate(person, np.ones((2 * margin + 1, 2 * margin + 1), np.uint8)) == 0


def _luma(image: np.ndarray) -> np.ndarray:
    return image.astype(np.float64) @ np.array([0.299, 0.587, 0.114])


def face_region(landmarks: np.ndarray, shape: tuple[int, ...], openings: bool = False) -> np.ndarray:
    """(H, W) bool: inside the face outline (without the mouth and eye openings unless `openings`)."""
    import cv2

    from .mesh import opening, outline

    mask = np.zeros(shape[:2], np.uint8)
    cv2.fillPoly(mask, [np.round(landmarks[outline(), :2]).astype(np.int32)], 1)
    if not openings:
        holes = np.zeros_like(mask)
        for name in ("mouth", "eye_left", "eye_right"):
            cv2.fillPoly(holes, [np.round(landmarks[opening(name), :2]).astype(np.int32)], 1)
        mask[cv2.dilate(holes, np.ones((7, 7), np.uint8)) > 0] = 0
    return mask > 0


def redetect(frame: np.ndarray, near: np.ndarray) -> np.ndarray | None:
    """(478, 3) landmarks found on a rendered frame (the mesh nearest `near`), or None."""
    meshes = face_meshes(frame)
    if not meshes:
        return None
    centre = near[:468, :2].mean(0)
    return min(meshes, key=lambda m: float(np.linalg.norm(m[:468, :2].mean(0) - centre)))


def eye_aspect_ratio(landmarks: np.ndarray) -> float:
    """Mean over both eyes of (two lid distances) / (2 x corner distance) (Soukupova & Cech 2016)."""
    ratios = []
    for points in EYE_SIX.values():
        p = landmarks[list(points), :2]
        ratios.append((np.linalg.norm(p[1] - p[5]) + np.linalg.norm(p[2] - p[4])) / (2 * np.linalg.norm(p[0] - p[3])))
    return float(np.mean(ratios))


def lip_gap(landmarks: np.ndarray) -> float:
    """Inner-lip opening: mean distance between the three middle upper/lower inner-lip pairs, pixels."""
    pairs = [(82, 87), (13, 14), (312, 317)]
    return float(np.mean([np.linalg.norm(landmarks[a, :2] - landmarks[b, :2]) for a, b in pairs]))


def landmark_errors(found: np.ndarray, intended: np.ndarray, eye_distance: float) -> tuple[float, float]:
    """(face, mouth) mean 2-D distance between found and intended landmarks, in IODs."""
    distance = np.linalg.norm(found[:468, :2] - intended[:468, :2], axis=1) / eye_distance
    return float(distance.mean()), float(distance[MOUTH_POINTS].mean())
