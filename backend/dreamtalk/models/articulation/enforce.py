"""Move the lips by the detector's probabilities (plain numpy): open the jaw on open vowels, then close the lips
on p/b/m as the procedural engine closes them on aligned phones (`coarticulation.enforce_closures`)."""

from __future__ import annotations

import numpy as np

from ...core.arkit import INDEX, MOUTH
from ...procedural.coarticulation import enforce_closures, lip_gap, shut_spans, shut_threshold
from .config import ArticulationConfig

JAW, CLOSE = INDEX["jawOpen"], INDEX["mouthClose"]
MOUTH_CHANNELS = np.array([INDEX[name] for name in MOUTH])


def ramp(probability: np.ndarray, on: float, width: float) -> np.ndarray:
    """0..1: none below `on - width/2`, full above `on + width/2`, linear between."""
    return np.clip((probability - on) / width + 0.5, 0.0, 1.0).astype(np.float32)


def open_vowels(values: np.ndarray, p_open: np.ndarray, p_bilabial: np.ndarray, cfg: ArticulationConfig
                ) -> np.ndarray:
    """`(T, 52+)` copy where an open vowel is heard, except where a p/b/m may be: the jaw at least `open_fraction`
    x the take's 90th-percentile jawOpen (mouthClose let go), plus `open_gain` x p(open vowel) x that
    percentile, so the opening peaks where the vowel is surest."""
    allowed = 1.0 - ramp(p_bilabial, cfg.veto_on, cfg.veto_width)
    strength = ramp(p_open, cfg.open_on, cfg.open_width) * allowed
    out = values.copy()
    typical = float(np.percentile(values[:, JAW], 90))
    out[:, JAW] = np.maximum(out[:, JAW], strength * cfg.open_fraction * typical)
    out[:, JAW] += cfg.open_gain * typical * (p_open * allowed).astype(np.float32)
    out[:, CLOSE] *= 1.0 - strength
    return out


def articulate(values: np.ndarray, p_bilabial: np.ndarray, p_open: np.ndarray, cfg: ArticulationConfig
               ) -> np.ndarray:
    """`(T, 52)` ARKit values (or wider rows: the first 52 are ARKit) opened on open vowels and closed on p/b/m;
    frames where neither is heard come back unchanged."""
    out = np.array(values, np.float32, copy=True)
    arkit = open_vowels(out[:, :52], p_open, p_bilabial, cfg)
    out[:, :52] = enforce_closures(arkit, ramp(p_bilabial, cfg.close_on, cfg.close_width))
    return out


def reopen_strays(values: np.ndarray, allowed: np.ndarray, cfg: ArticulationConfig) -> np.ndarray:
    """`(T, 52+)` copy with every span of shut lips that touches no `allowed` frame (near a p/b/m, or silence:
    `procedural.visemes.shut_allowed`) reopened: the mouth channels bridged linearly between the most open
    frames within `stray_reach` frames either side of the span. Spans at the clip's ends stay."""
    out = np.array(values, np.float32, copy=True)
    gap = lip_gap(out[:, :52])
    last = len(gap) - 1
    for start, end in shut_spans(gap <= shut_threshold(gap)):
        if start == 0 or end > last or allowed[start:end].any():
            continue
        left = max(start - cfg.stray_reach, 0) + int(np.argmax(gap[max(start - cfg.stray_reach, 0): start]))
        right = end + int(np.argmax(gap[end: min(end + cfg.stray_reach, last) + 1]))
        weight = ((np.arange(left + 1, right) - left) / (right - left))[:, None]
        bridged = (1 - weight) * out[left, MOUTH_CHANNELS] + weight * out[right, MOUTH_CHANNELS]
        out[left + 1:right, MOUTH_CHANNELS] = bridged
    return out
