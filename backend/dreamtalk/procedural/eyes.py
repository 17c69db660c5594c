"""Stochastic blinks and gaze saccades.

Blinks: a renewal process with a refractory period; spontaneous blink rates of ~10-25/min and
durations of 100-400 ms (Bentivoglio et al. 1997), rate shifted by emotion. Saccades: small gaze jumps
every ~1.3 s, each reached within ~40 ms and then held (Bahill et al. 1975 main sequence).
"""

from __future__ import annotations

import numpy as np

from ..core.arkit import INDEX
from ..core.request import EMOTIONS
from .config import BlinkConfig, ProceduralConfig

BLINKS_PER_MINUTE: dict[str, float] = {
    "neutral": 17.0, "angry": 12.0, "disgusted": 18.0, "contempt": 14.0,
    "fear": 26.0, "happy": 19.0, "sad": 15.0, "surprised": 10.0,
}
EYE_RANGE = 0.5  # rad: eye rotation at eyeLook* = 1


def blink_rate(weights: np.ndarray) -> np.ndarray:
    """`(T,)` blinks per minute from `(T, 8)` emotion weights (neutral where weights are small)."""
    rates = np.array([BLINKS_PER_MINUTE[e] for e in EMOTIONS], np.float32)
    strength = np.clip(weights.sum(axis=1), 0.0, 1.0)
    mixed = (weights @ rates) / np.maximum(weights.sum(axis=1), 1e-6)
    return (1 - strength) * BLINKS_PER_MINUTE["neutral"] + strength * mixed


def blink_track(rate: np.ndarray, fps: float, rng: np.random.Generator, cfg: ProceduralConfig) -> np.ndarray:
    """`(T,)` eyelid closure 0..1 with blinks drawn from a refractory renewal process."""
    num_frames = len(rate)
    track = np.zeros(num_frames, np.float32)
    t = rng.uniform(0.3, 2.0)
    duration_s = num_frames / fps
    while t < duration_s:
        frame = min(int(t * fps), num_frames - 1)
        _add_blink(track, t, fps, rng, cfg)
        mean_gap = 60.0 / max(float(rate[frame]), 1.0)
        t += 0.6 + rng.gamma(2.0, max(mean_gap - 0.6, 0.2) / 2.0)
    return track


def _add_blink(track: np.ndarray, start: float, fps: float, rng, cfg: ProceduralConfig) -> None:
    duration = float(np.clip(rng.normal(cfg.blink_duration, 0.05), 0.12, 0.4))
    close, hold = 0.3 * duration, 0.15 * duration
    depth = 1.0 if rng.random() < 0.85 else rng.uniform(0.6, 0.9)
    times = np.arange(len(track)) / fps - start
    shape = np.interp(times, [0.0, close, close + hold, duration], [0.0, depth, depth, 0.0], 0.0, 0.0)
    np.maximum(track, shape.astype(np.float32), out=track)


def blink_events(rate: np.ndarray, fps: float, rng: np.random.Generator, cfg: BlinkConfig | None = None,
                 free: np.ndarray | None = None) -> np.ndarray:
    """`(T,)` eyelid closure 0..1 with full blinks (close, hold shut for at least a frame, open) drawn as
    events: intervals of `refractory` + a gamma(2) variable with mean 60 / rate, so the long-run rate is
    `rate` (blinks per minute, per frame) x `rate_scale`; the first blink comes as it would in a process
    already running. A blink that would overlap frames where `free` is False (locked) or not reopen before
    the end is left out."""
    cfg = cfg or BlinkConfig()
    num_frames = len(rate)
    track = np.zeros(num_frames, np.float32)
    duration_s = num_frames / fps

    def gap(t: float) -> float:
        per_minute = max(float(rate[min(int(t * fps), num_frames - 1)]) * cfg.rate_scale, 1.0)
        return 60.0 / per_minute

    t = rng.uniform(0.1, max(gap(0.0), 0.2))
    while t < duration_s:
        length = float(np.clip(rng.normal(cfg.duration, cfg.duration_sd), cfg.min_duration, cfg.max_duration))
        lo, hi = int(np.floor(t * fps)), int(np.ceil((t + length) * fps))
        if hi < num_frames and (free is None or free[lo:hi + 1].all()):
            _full_blink(track, t, length, fps)
        t += cfg.refractory + rng.gamma(2.0, max(gap(t) - cfg.refractory, 0.1) / 2.0)
    return track


def _full_blink(track: np.ndarray, start: float, length: float, fps: float) -> None:
    """Add one blink: shut for max(15 %, one frame); of the rest, 35 % closing and 65 % opening."""
    hold = max(0.15 * length, 1.0 / fps)
    close = 0.35 * (length - hold)
    times = np.arange(len(track)) / fps - start
    shape = np.interp(times, [0.0, close, close + hold, length], [0.0, 1.0, 1.0, 0.0], 0.0, 0.0)
    np.maximum(track, shape.astype(np.float32), out=track)


def apply_blinks(values: np.ndarray, blink: np.ndarray) -> np.ndarray:
    """`(T, 52)` values with blinks written over the eyelids (as `apply_eyes` does): eyeBlink is at
    least the blink, eyeWide gives way while the lid is down."""
    out = values.copy()
    for side in ("Left", "Right"):
        b = INDEX[f"eyeBlink{side}"]
        out[:, b] = np.maximum(out[:, b], blink)
        out[:, INDEX[f"eyeWide{side}"]] *= 1.0 - blink
    return out


def gaze_track(num_frames: int, fps: float, rng: np.random.Generator, cfg: ProceduralConfig) -> np.ndarray:
    """`(T, 2)` gaze yaw/pitch in eyeLook units (-1..1), piecewise constant with fast transitions."""
    gaze = np.zeros((num_frames, 2), np.float32)
    current = np.zeros(2, np.float32)
    t, frame = 0.0, 0
    while frame < num_frames:
        hold = max(0.25, rng.exponential(cfg.saccade_interval))
        target = rng.normal(0.0, cfg.gaze_amplitude, 2).astype(np.float32)
        target[1] *= 0.6  # vertical saccades are smaller in conversation
        end = min(num_frames, int((t + hold) * fps) + 1)
        gaze[frame:end] = target
        if frame < num_frames:
            gaze[frame] = 0.5 * (current + target)  # ~40 ms saccade: one in-between frame
        current, t, frame = target, t + hold, end
    return gaze


def apply_eyes(values: np.ndarray, blink: np.ndarray, gaze: np.ndarray) -> np.ndarray:
    """Write blinks and gaze into `(T, 52)` values; returns `(T, 6)` eye rotations in radians."""
    for side in ("Left", "Right"):
        b = INDEX[f"eyeBlink{side}"]
        values[:, b] = np.maximum(values[:, b], blink)
        values[:, INDEX[f"eyeWide{side}"]] *= 1.0 - blink
    yaw, pitch = gaze[:, 0], gaze[:, 1]
    left, right = np.clip(yaw, 0, None), np.clip(-yaw, 0, None)  # + = towards the character's left
    values[:, INDEX["eyeLookOutLeft"]] += left
    values[:, INDEX["eyeLookInRight"]] += left
    values[:, INDEX["eyeLookInLeft"]] += right
    values[:, INDEX["eyeLookOutRight"]] += right
    for side in ("Left", "Right"):
        values[:, INDEX[f"eyeLookUp{side}"]] += np.clip(pitch, 0, None)
        values[:, INDEX[f"eyeLookDown{side}"]] += np.clip(-pitch, 0, None)
    angles = np.stack([yaw, -pitch, np.zeros_like(yaw)], axis=1) * EYE_RANGE
    return np.concatenate([angles, angles], axis=1).astype(np.float32)
