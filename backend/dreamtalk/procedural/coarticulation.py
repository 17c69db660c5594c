"""Coarticulated mouth motion from timed phones (dominance blending after Cohen & Massaro 1993).

Every phone pulls the mouth towards its viseme target with a dominance that is flat inside the phone and
decays outside it, faster after the phone (carry-over) than before it (anticipation): the mouth starts
shaping the next sound early, as real speakers do. The mouth pose at time t is the dominance-weighted
mean of all targets. Bilabial closures are then enforced as hard constraints (`enforce_closures`).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ..core.arkit import INDEX, NUM_BLENDSHAPES
from .config import ProceduralConfig
from .visemes import BILABIALS, VISEME_DOMINANCE, VISEME_TARGETS, VOWELS, centre_frame, stressless, viseme_of

_TARGET_MATRIX = np.zeros((len(VISEME_TARGETS), NUM_BLENDSHAPES), np.float32)
for _row, _pose in enumerate(VISEME_TARGETS.values()):
    for _name, _value in _pose.items():
        _TARGET_MATRIX[_row, INDEX[_name]] = _value
_VISEME_ROW = {name: row for row, name in enumerate(VISEME_TARGETS)}
_OPENING = [INDEX[n] for n in ("jawOpen", "mouthLowerDownLeft", "mouthLowerDownRight")]
GAP_CHANNELS = [INDEX[n] for n in (
    "jawOpen", "mouthFunnel", "mouthLowerDownLeft", "mouthLowerDownRight",
    "mouthUpperUpLeft", "mouthUpperUpRight",
)]


def phone_targets(phones: Sequence, loud: np.ndarray, fps: float, cfg: ProceduralConfig) -> np.ndarray:
    """`(P, 52)` target pose per phone; vowel opening scaled by the phone's loudness."""
    targets = np.stack([_TARGET_MATRIX[_VISEME_ROW[viseme_of(p.phone)]] for p in phones])
    for i, p in enumerate(phones):
        if stressless(p.phone) in VOWELS:
            lo = int(np.floor(p.start * fps))
            hi = max(lo + 1, int(np.ceil(p.end * fps)))
            level = float(np.mean(loud[lo:hi])) if lo < len(loud) else 0.5
            targets[i, _OPENING] *= cfg.loudness_floor + cfg.loudness_gain * level
    return targets


def mouth_track(
    phones: Sequence, loud: np.ndarray, fps: float, num_frames: int, cfg: ProceduralConfig
) -> np.ndarray:
    """`(T, 52)` mouth/jaw/tongue poses (other channels 0) blended by phone dominance."""
    times = np.arange(num_frames) / fps
    numerator = np.zeros((num_frames, NUM_BLENDSHAPES), np.float64)
    denominator = np.full(num_frames, 1e-6)
    targets = phone_targets(phones, loud, fps, cfg)
    reach = 5.0 * max(cfg.anticipation, cfg.carryover)
    for phone, target in zip(phones, targets):
        lo = np.searchsorted(times, phone.start - reach)
        hi = np.searchsorted(times, phone.end + reach)
        if hi <= lo:
            continue
        dominance = _dominance(times[lo:hi], phone, cfg)
        numerator[lo:hi] += dominance[:, None] * target[None, :]
        denominator[lo:hi] += dominance
    return (numerator / denominator[:, None]).astype(np.float32)


def _dominance(times: np.ndarray, phone, cfg: ProceduralConfig) -> np.ndarray:
    """Flat inside the phone, exponential decay before (anticipation) and after (carry-over)."""
    magnitude = VISEME_DOMINANCE[viseme_of(phone.phone)]
    before = np.clip(phone.start - times, 0.0, None) / cfg.anticipation
    after = np.clip(times - phone.end, 0.0, None) / cfg.carryover
    return magnitude * np.exp(-(before**1.5) - (after**1.5))


def closure_weights(phones: Sequence, fps: float, num_frames: int, cfg: ProceduralConfig) -> np.ndarray:
    """`(T,)` in 0..1: 1 on frames where a bilabial (p, b, m) must show closed lips."""
    weights = np.zeros(num_frames, np.float32)
    for phone in phones:
        if stressless(phone.phone) not in BILABIALS:
            continue
        lo = int(np.ceil((phone.start - cfg.closure_hold) * fps))
        hi = int(np.floor((phone.end + cfg.closure_hold) * fps))
        frames = set(range(max(lo, 0), min(hi, num_frames - 1) + 1))
        frames.add(centre_frame(phone, fps, num_frames))
        for f in frames:
            weights[f] = 1.0
        for f in (min(frames) - 1, max(frames) + 1):  # soften the approach by one frame
            if 0 <= f < num_frames:
                weights[f] = max(weights[f], 0.5)
    return weights


def lip_gap(values: np.ndarray) -> np.ndarray:
    """`(T,)` lip gap from `(T, 52)` ARKit values (the lip measures' definition, docs/EVAL.md)."""
    v = values
    lower = 0.5 * (v[:, INDEX["mouthLowerDownLeft"]] + v[:, INDEX["mouthLowerDownRight"]])
    upper = 0.5 * (v[:, INDEX["mouthUpperUpLeft"]] + v[:, INDEX["mouthUpperUpRight"]])
    jaw = np.maximum(0.0, v[:, INDEX["jawOpen"]] - v[:, INDEX["mouthClose"]])
    return jaw + 0.3 * (lower + upper) + 0.2 * v[:, INDEX["mouthFunnel"]]


CLOSED_FRACTION = 0.25  # lips shut: the lip gap at most this x the take's 95th-percentile gap


def shut_threshold(gap: np.ndarray) -> float:
    """The lip gap at or below which the lips count as shut in this take (`CLOSED_FRACTION` of its
    95th-percentile gap): where the lip measures read a p/b/m closed, and the articulation stage a stray
    closure."""
    return CLOSED_FRACTION * float(np.percentile(gap, 95))


def shut_spans(shut: np.ndarray) -> list[tuple[int, int]]:
    """(start, end) frame ranges of the runs of True in `shut`."""
    edges = np.flatnonzero(np.diff(np.concatenate([[0], shut.astype(np.int8), [0]])))
    return list(zip(edges[::2].tolist(), edges[1::2].tolist()))


def enforce_closures(values: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Close the lips where `weights` is 1: opening channels fade out, mouthClose meets jawOpen."""
    w = weights[:, None]
    out = values.copy()
    jaw = INDEX["jawOpen"]
    out[:, jaw] = np.minimum(out[:, jaw], (1 - weights) * out[:, jaw] + weights * 0.1)
    for c in GAP_CHANNELS[1:]:
        out[:, c] *= 1.0 - w[:, 0]
    close = INDEX["mouthClose"]
    out[:, close] = np.maximum(out[:, close], weights * out[:, jaw])
    return out
