"""Lip-sync measurements on ARKit curves against timed phones and the audio.

lip gap = max(0, jawOpen - mouthClose) + 0.3 * (mean mouthLowerDown + mean mouthUpperUp)
          + 0.2 * mouthFunnel   (per frame; the foundation issue's definition)
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ..core.arkit import INDEX
from ..features.prosody import loudness
from ..procedural.visemes import BILABIALS, OPEN_VOWELS

CLOSED_FRACTION = 0.25  # a bilabial is closed when its min gap <= this x the 95th-percentile gap


def lip_gap(values: np.ndarray) -> np.ndarray:
    """`(T,)` lip gap from `(T, 52)` ARKit values."""
    v = values
    lower = 0.5 * (v[:, INDEX["mouthLowerDownLeft"]] + v[:, INDEX["mouthLowerDownRight"]])
    upper = 0.5 * (v[:, INDEX["mouthUpperUpLeft"]] + v[:, INDEX["mouthUpperUpRight"]])
    jaw = np.maximum(0.0, v[:, INDEX["jawOpen"]] - v[:, INDEX["mouthClose"]])
    return jaw + 0.3 * (lower + upper) + 0.2 * v[:, INDEX["mouthFunnel"]]


def phone_frames(phone, fps: float, num_frames: int) -> np.ndarray:
    """Frame indices whose time k/fps lies inside the phone; the nearest frame if none does."""
    lo, hi = int(np.ceil(phone.start * fps - 1e-9)), int(np.floor(phone.end * fps + 1e-9))
    frames = np.arange(max(lo, 0), min(hi, num_frames - 1) + 1)
    if frames.size == 0:
        centre = int(round((phone.start + phone.end) / 2 * fps))
        frames = np.array([min(max(centre, 0), num_frames - 1)])
    return frames


def _base(phone) -> str:
    return phone.phone.rstrip("012").upper()


def closure_rate(gap: np.ndarray, phones: Sequence, fps: float) -> float:
    """Fraction of p/b/m phones whose minimum gap is <= 25% of the 95th-percentile gap."""
    threshold = CLOSED_FRACTION * float(np.percentile(gap, 95))
    mins = [gap[phone_frames(p, fps, len(gap))].min() for p in phones if _base(p) in BILABIALS]
    return float(np.mean(np.array(mins) <= threshold)) if mins else float("nan")


def open_vs_bilabial_auc(gap: np.ndarray, phones: Sequence, fps: float) -> float:
    """AUC that an open vowel's gap exceeds a bilabial's (gap at the frame nearest each phone centre)."""
    def centre_gap(p) -> float:
        return float(gap[min(max(int(round((p.start + p.end) / 2 * fps)), 0), len(gap) - 1)])

    opens = np.array([centre_gap(p) for p in phones if _base(p) in OPEN_VOWELS])
    closed = np.array([centre_gap(p) for p in phones if _base(p) in BILABIALS])
    if opens.size == 0 or closed.size == 0:
        return float("nan")
    greater = (opens[:, None] > closed[None, :]).mean()
    ties = (opens[:, None] == closed[None, :]).mean()
    return float(greater + 0.5 * ties)


def best_lag(audio: np.ndarray, sample_rate: int, gap: np.ndarray, fps: float, max_lag: int = 10):
    """(lag in frames, correlation) maximising corr(loudness[t], gap[t + lag]); + means lips lag."""
    loud = loudness(audio, sample_rate, fps, len(gap))
    best = (0, -1.0)
    for lag in range(-max_lag, max_lag + 1):
        a = loud[max(0, -lag): len(loud) - max(0, lag)]
        b = gap[max(0, lag): len(gap) - max(0, -lag)]
        if a.size > 3 and a.std() > 0 and b.std() > 0:
            corr = float(np.corrcoef(a, b)[0, 1])
            if corr > best[1]:
                best = (lag, corr)
    return best
