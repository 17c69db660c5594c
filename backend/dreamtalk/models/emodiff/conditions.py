"""Building the denoiser's conditions for whole sequences: audio windows, condition tracks, style.

Style controls beyond the paper, all in normalised x space with `K = style_frames` frame styles:
* intensity: `neutral + i * (style - neutral)` (0 = the neutral preset, 1 = the clip as it is);
* mixing presets: a weighted average of styles (`mix_styles`);
* emotion over time: `StyleKey`s cross-faded with a smoothstep over `transition` seconds, evaluated
  at every window's centre (`window_styles`); stitched windows then blend it smoothly across frames.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch

from ...core.arkit import INDEX
from .config import DenoiserConfig
from .denoiser import Conditions, style_slice

EYELIDS = [INDEX[f"eye{part}{side}"] for part in ("Blink", "Wide") for side in ("Left", "Right")]
BLINK_RISE = 0.15  # a frame whose mean eyeBlink rises this far above the clip's resting lid is in a blink


@dataclass
class StyleKey:
    """From `time` seconds on, cross-fade to `style (K, P)` (normalised) at `intensity`."""

    time: float  # seconds
    style: np.ndarray  # (K, P) normalised style frames
    intensity: float = 1.0  # 0..1


def fit_style(clip: np.ndarray, frames: int) -> np.ndarray:
    """`(S, P)` clip -> `(frames, P)`: the centred `frames` frames, or linear resampling if shorter."""
    clip = np.asarray(clip, np.float32)
    if len(clip) >= frames:
        start = (len(clip) - frames) // 2
        return clip[start:start + frames].copy()
    src = np.linspace(0.0, 1.0, len(clip))
    dst = np.linspace(0.0, 1.0, frames)
    return np.stack([np.interp(dst, src, clip[:, j]) for j in range(clip.shape[1])], 1).astype(np.float32)


def mix_styles(parts: Sequence[tuple[np.ndarray, float]]) -> np.ndarray:
    """Weighted average of `(K, P)` styles (weights normalised to sum 1)."""
    total = sum(max(0.0, float(w)) for _, w in parts)
    if total <= 0:
        raise ValueError("style mix weights must not all be zero")
    return sum(style * (max(0.0, float(w)) / total) for style, w in parts).astype(np.float32)


def smoothstep(x: np.ndarray) -> np.ndarray:
    x = np.clip(x, 0.0, 1.0)
    return x * x * (3 - 2 * x)


def window_styles(
    keys: Sequence[StyleKey], centres: np.ndarray, neutral: np.ndarray, transition: float
) -> np.ndarray:
    """`(W, K, P)` style per window centre time (seconds) from keys cross-faded over `transition` s."""
    ordered = sorted(keys, key=lambda k: k.time)
    scaled = [neutral + k.intensity * (k.style - neutral) for k in ordered]
    out = np.repeat(scaled[0][None], len(centres), axis=0)
    for key, style in zip(ordered[1:], scaled[1:]):
        ramp = smoothstep((centres - key.time) / max(transition, 1e-6))[:, None, None]
        out = out * (1 - ramp) + style[None] * ramp
    return out.astype(np.float32)


def condition_tracks(styles: np.ndarray, initial: np.ndarray | None, cfg: DenoiserConfig) -> np.ndarray:
    """`(W, N, P + 1)` time-position-aware tracks: frame 0 = initial state (window 0 only, when
    given), the middle style frames = the style, last column = valid bit."""
    tracks = np.zeros((len(styles), cfg.window, cfg.pose_dim + 1), np.float32)
    part = style_slice(cfg)
    tracks[:, part, :-1] = styles[:, : part.stop - part.start]
    tracks[:, part, -1] = 1.0
    if initial is not None:
        tracks[0, 0, :-1] = initial
        tracks[0, 0, -1] = 1.0
    return tracks


def audio_windows(features: np.ndarray, starts: Sequence[int], window: int) -> np.ndarray:
    """`(W, N, F)` feature windows (the sequence is edge-padded when shorter than a window)."""
    if len(features) < window:
        features = np.pad(features, ((0, window - len(features)), (0, 0)), mode="edge")
    return np.stack([features[s:s + window] for s in starts]).astype(np.float32)


def build_conditions(
    features: np.ndarray, styles: np.ndarray, initial: np.ndarray | None, starts: Sequence[int],
    cfg: DenoiserConfig,
) -> Conditions:
    """Conditions with one row per window (style and audio kept)."""
    count = len(starts)
    return Conditions(
        audio=torch.from_numpy(audio_windows(features, starts, cfg.window)),
        track=torch.from_numpy(condition_tracks(styles, initial, cfg)),
        style_keep=torch.ones(count, dtype=torch.bool),
        audio_keep=torch.ones(count, dtype=torch.bool),
    )


def without_blinks(x: np.ndarray, rise: float = BLINK_RISE) -> np.ndarray:
    """Raw `(K, P)` style frames with their blinks taken out: where the lids rise more than `rise` above
    their resting level (the clip's 25th percentile), one frame either side included, eyeBlink and
    eyeWide are interpolated from the frames around. For models trained on blink-free labels, whose
    statistics put a blink dozens of standard deviations away (a style clip with a blink would read as
    another emotion); the engine draws blinks as events instead."""
    x = np.asarray(x, np.float32)
    lid = x[:, EYELIDS[:2]].mean(axis=1)
    blink = lid > np.percentile(lid, 25) + rise
    blink = np.convolve(blink.astype(np.float32), np.ones(3, np.float32), mode="same") > 0
    if not blink.any() or blink.all():
        return x
    out, frames = x.copy(), np.arange(len(x))
    for channel in EYELIDS:
        out[blink, channel] = np.interp(frames[blink], frames[~blink], x[~blink, channel])
    return out
