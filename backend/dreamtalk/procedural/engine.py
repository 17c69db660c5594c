"""The procedural engine's animation: timed phones + prosody + emotion -> ARKit-52 curves (the
`--engine procedural` pipeline around it, alignment included, is `engines/procedural.py`).

Layers, in order: coarticulated visemes (mouth/jaw/tongue) -> emotion offsets -> blinks and gaze ->
bilabial closures enforced last (so no emotion can open a p/b/m) -> head pose from prosody.
Everything random is drawn from one seeded generator: the same inputs and seed give the same curves.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ..core.curves import Curves
from ..core.request import EmotionKey
from ..features import prosody
from . import coarticulation, emotion, eyes, head
from .config import ProceduralConfig
from .noise import smooth

ANALYSIS_RATE = 16000  # Hz: prosody and alignment run at this rate (engines.procedural resamples to it)


def animate(
    audio: np.ndarray,
    sample_rate: int,
    phones: Sequence,
    fps: float = 25.0,
    emotion_keys: Sequence[EmotionKey] = (),
    seed: int = 0,
    cfg: ProceduralConfig | None = None,
) -> Curves:
    """Curves for `audio` (mono float32) given its timed `phones` (objects with .phone/.start/.end)."""
    cfg = cfg or ProceduralConfig()
    num_frames = max(1, int(round(len(audio) / sample_rate * fps)))
    rng = np.random.default_rng(seed)
    loud = prosody.loudness(audio, sample_rate, fps, num_frames)
    pitch_st = prosody.pitch_excursion(prosody.pitch(audio, sample_rate, fps, num_frames), fps)
    keys = list(emotion_keys) or [EmotionKey(0.0, "neutral", 0.0)]

    values = smooth(coarticulation.mouth_track(phones, loud, fps, num_frames, cfg), fps, cfg.smoothing)
    weights = emotion.emotion_weights(keys, num_frames, fps, cfg)  # (T, 8)
    values = values + emotion.emotion_offsets(weights, pitch_st, loud, fps, rng, cfg)
    blink = eyes.blink_track(eyes.blink_rate(weights), fps, rng, cfg)  # drawn either way: same seed, same gaze
    blink = blink if cfg.blinks else np.zeros_like(blink)
    eye_rotation = eyes.apply_eyes(values, blink, eyes.gaze_track(num_frames, fps, rng, cfg))
    closures = coarticulation.closure_weights(phones, fps, num_frames, cfg)
    values = coarticulation.enforce_closures(np.clip(values, 0.0, 1.0), closures)
    pose = head.head_pose(loud, pitch_st, weights, fps, rng, cfg)
    return Curves(fps, np.clip(values, 0.0, 1.0), pose, eye_rotation)
