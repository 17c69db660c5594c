"""The emotion layer: the eight MEAD categories as ARKit offsets with intensity, onset and fluctuation.

Poses follow FACS prototypes (Ekman & Friesen): angry AU4+5+7+23, happy AU6+12, sad AU1+4+15,
surprised AU1+2+5+26, disgusted AU9+10, fear AU1+2+4+5+20, contempt unilateral AU12+14.
Emotion over time is a chain of keys cross-faded with a smoothstep of `emotion_onset` seconds.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ..core.arkit import INDEX, NUM_BLENDSHAPES
from ..core.errors import InputError
from ..core.request import EMOTIONS, EmotionKey
from .config import ProceduralConfig
from .noise import smooth, smooth_noise, smoothstep


def _both(name: str, value: float) -> dict[str, float]:
    return {f"{name}Left": value, f"{name}Right": value}


EMOTION_POSES: dict[str, dict[str, float]] = {
    "neutral": {},
    "angry": {**_both("browDown", 0.75), **_both("eyeSquint", 0.35), **_both("noseSneer", 0.25),
              **_both("mouthPress", 0.3), **_both("mouthFrown", 0.25), "jawForward": 0.1},
    "disgusted": {**_both("noseSneer", 0.7), **_both("mouthUpperUp", 0.45), **_both("browDown", 0.35),
                  **_both("eyeSquint", 0.3), **_both("mouthFrown", 0.25), **_both("cheekSquint", 0.25)},
    "contempt": {"mouthSmileLeft": 0.5, "mouthDimpleLeft": 0.35, "mouthPressRight": 0.1,
                 **_both("eyeSquint", 0.15), "browDownRight": 0.15},
    "fear": {**_both("eyeWide", 0.7), "browInnerUp": 0.75, **_both("browOuterUp", 0.3),
             **_both("mouthStretch", 0.4), **_both("mouthFrown", 0.1)},
    "happy": {**_both("mouthSmile", 0.7), **_both("cheekSquint", 0.55), **_both("eyeSquint", 0.3),
              **_both("mouthDimple", 0.2), **_both("browOuterUp", 0.08)},
    "sad": {"browInnerUp": 0.75, **_both("mouthFrown", 0.55), **_both("eyeLookDown", 0.12),
            **_both("eyeSquint", 0.12), "mouthShrugLower": 0.25, **_both("mouthPress", 0.1)},
    "surprised": {**_both("browOuterUp", 0.8), "browInnerUp": 0.65, **_both("eyeWide", 0.7),
                  "jawOpen": 0.06},
}

# Signature channels per emotion (used by the acceptance measurement and the evaluation harness).
SIGNATURES: dict[str, tuple[str, ...]] = {
    "angry": ("browDownLeft", "browDownRight"),
    "happy": ("mouthSmileLeft", "mouthSmileRight", "cheekSquintLeft", "cheekSquintRight"),
    "sad": ("browInnerUp", "mouthFrownLeft", "mouthFrownRight"),
    "surprised": ("browOuterUpLeft", "browOuterUpRight", "eyeWideLeft", "eyeWideRight"),
    "disgusted": ("noseSneerLeft", "noseSneerRight", "mouthUpperUpLeft", "mouthUpperUpRight"),
    "fear": ("eyeWideLeft", "eyeWideRight", "browInnerUp"),
}

POSE_MATRIX = np.zeros((len(EMOTIONS), NUM_BLENDSHAPES), np.float32)  # (8, 52)
for _row, _emotion in enumerate(EMOTIONS):
    for _name, _value in EMOTION_POSES[_emotion].items():
        POSE_MATRIX[_row, INDEX[_name]] = _value


def emotion_vector(emotion: str, intensity: float) -> np.ndarray:
    """`(8,)` weights over EMOTIONS for one emotion at `intensity`."""
    if emotion not in EMOTIONS:
        raise InputError(f"unknown emotion {emotion!r}; choose one of {', '.join(EMOTIONS)}")
    vector = np.zeros(len(EMOTIONS), np.float32)
    vector[EMOTIONS.index(emotion)] = intensity
    return vector


def emotion_weights(
    keys: Sequence[EmotionKey], num_frames: int, fps: float, cfg: ProceduralConfig
) -> np.ndarray:
    """`(T, 8)` emotion weights: each key cross-fades in over `emotion_onset` from its time."""
    times = np.arange(num_frames) / fps
    ordered = sorted(keys, key=lambda k: k.time)
    first = emotion_vector(ordered[0].emotion, ordered[0].intensity)
    weights = np.repeat(first[None, :] * 0.3, num_frames, axis=0)  # the face starts relaxed
    for key in ordered:
        ramp = smoothstep((times - key.time) / cfg.emotion_onset)[:, None]
        weights = weights * (1 - ramp) + emotion_vector(key.emotion, key.intensity)[None, :] * ramp
    return weights


def emotion_offsets(
    weights: np.ndarray, pitch_st: np.ndarray, loud: np.ndarray, fps: float,
    rng: np.random.Generator, cfg: ProceduralConfig,
) -> np.ndarray:
    """`(T, 52)` additive emotion offsets with slow fluctuation and prosody-coupled brow motion."""
    num_frames = weights.shape[0]
    wobble = 1.0 + cfg.emotion_fluctuation * smooth_noise(rng, num_frames, fps, 0.8)
    offsets = (weights * wobble[:, None]) @ POSE_MATRIX  # (T, 52)
    raise_ = smooth(np.clip(pitch_st, 0.0, 6.0) / 6.0, fps, 0.08)  # brow raises on pitch peaks
    lively = 0.1 + 0.15 * (weights[:, EMOTIONS.index("surprised")] + weights[:, EMOTIONS.index("happy")])
    for name in ("browInnerUp", "browOuterUpLeft", "browOuterUpRight"):
        offsets[:, INDEX[name]] += lively * raise_
    angry = weights[:, EMOTIONS.index("angry")]
    for name in ("browDownLeft", "browDownRight"):
        offsets[:, INDEX[name]] += 0.15 * angry * loud
    return offsets
