"""The frame the learned models see and its normalisation, shared by EmoDiff and the lip refiner.

A frame `x` is the 52 ARKit values followed by head yaw, pitch and roll (radians): `POSE_DIM` numbers.
Models work on `(x - mean) / std` per channel over their training data; channels that barely move
are scaled as if their std were `STD_FLOOR`.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ..core.arkit import HEAD_POSE_NAMES, NUM_BLENDSHAPES
from ..core.curves import Curves

POSE_DIM = NUM_BLENDSHAPES + len(HEAD_POSE_NAMES)  # size of one frame x (52 ARKit + 3 head pose)
STD_FLOOR = 0.02  # channels that barely move are scaled as if they had this std


def curves_to_x(curves: Curves, fps: float) -> np.ndarray:
    """`(T, POSE_DIM)` raw frames from curves, resampled to `fps`."""
    c = curves.resample(fps)
    return np.concatenate([c.values, c.head_pose], axis=1).astype(np.float32)


def statistics(frames: Sequence[np.ndarray], floor: float = STD_FLOOR) -> tuple[np.ndarray, np.ndarray]:
    """Per-channel mean and std (floored) over every frame of `(T, P)` arrays."""
    stacked = np.concatenate(list(frames))
    return stacked.mean(0).astype(np.float32), np.maximum(stacked.std(0), floor).astype(np.float32)


def normalize(x: np.ndarray, mean: np.ndarray, std: np.ndarray) -> np.ndarray:
    return ((np.asarray(x, np.float32) - mean) / std).astype(np.float32)


def denormalize(z: np.ndarray, mean: np.ndarray, std: np.ndarray) -> np.ndarray:
    return (np.asarray(z, np.float32) * std + mean).astype(np.float32)
