"""Prosody-driven head motion: nods follow loudness accents, pitch raises lift the head, slow drift.

Head motion correlates with speech prosody (Busso et al. 2007; Graf et al. 2002): beats on stressed,
loud syllables, upward motion with rising F0. Angles in radians: yaw + = turn to the character's left,
pitch + = nod down, roll + = tilt towards the character's right shoulder.
"""

from __future__ import annotations

import numpy as np

from ..core.request import EMOTIONS
from .config import ProceduralConfig
from .noise import smooth, smooth_noise

# Mean pose offset per emotion (yaw, pitch, roll) in radians.
EMOTION_HEAD_BIAS: dict[str, tuple[float, float, float]] = {
    "neutral": (0.0, 0.0, 0.0), "angry": (0.0, 0.06, 0.0), "disgusted": (0.04, -0.03, 0.03),
    "contempt": (0.06, -0.04, 0.07), "fear": (0.0, 0.05, 0.0), "happy": (0.0, -0.03, 0.04),
    "sad": (0.0, 0.12, 0.02), "surprised": (0.0, -0.07, 0.0),
}
# How lively the head moves per emotion (scales the prosody-driven motion).
EMOTION_HEAD_ENERGY: dict[str, float] = {
    "neutral": 1.0, "angry": 1.4, "disgusted": 1.0, "contempt": 0.8, "fear": 0.9, "happy": 1.3,
    "sad": 0.55, "surprised": 1.3,
}


def head_pose(
    loud: np.ndarray, pitch_st: np.ndarray, weights: np.ndarray, fps: float,
    rng: np.random.Generator, cfg: ProceduralConfig,
) -> np.ndarray:
    """`(T, 3)` yaw, pitch, roll in radians."""
    num_frames = len(loud)
    energy_levels = np.array([EMOTION_HEAD_ENERGY[e] for e in EMOTIONS], np.float32)
    strength = np.clip(weights.sum(axis=1), 0.0, 1.0)
    liveliness = (1 - strength) + weights @ energy_levels  # (T,)
    accents = loud - smooth(loud, fps, 0.6)  # loudness beats above the local level
    nod = smooth(accents, fps, 0.06) * 1.6
    lift = -smooth(pitch_st, fps, 0.15) / 12.0
    amp = cfg.head_amplitude
    yaw = 0.8 * smooth_noise(rng, num_frames, fps, 1.5) + 0.3 * smooth_noise(rng, num_frames, fps, 0.4)
    pitch = nod + 0.5 * lift + 0.4 * smooth_noise(rng, num_frames, fps, 1.2)
    roll = 0.5 * smooth_noise(rng, num_frames, fps, 1.8)
    pose = amp * liveliness[:, None] * np.stack([yaw, pitch, roll], axis=1)
    bias = np.array([EMOTION_HEAD_BIAS[e] for e in EMOTIONS], np.float32)  # (8, 3)
    pose += weights @ bias
    return smooth(pose, fps, cfg.head_smoothing * 0.3).astype(np.float32)
