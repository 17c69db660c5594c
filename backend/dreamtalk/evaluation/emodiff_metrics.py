"""Measurements of generated sequences used by the EmoDiff acceptance (numpy only).

* `seam_ratio`: largest frame-to-frame step at window joins / 99.9th percentile of steps elsewhere;
* `boundary_ratio`: the same at the edges of locked ranges (their neighbourhood must be continuous);
* `blink_rate`: blinks per minute (eyeBlink mean rising through 0.5);
* `seed_diversity`: upper-face/head spread across takes vs over time, and lip-gap correlation across takes;
* `signature_distance`: distance of the non-mouth mean pose from a reference (emotion contrast).
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import combinations

import numpy as np

from ..core.arkit import INDEX, UPPER_FACE
from .lipsync import lip_gap

UPPER = [INDEX[n] for n in UPPER_FACE] + [52, 53, 54]  # upper face + head pose columns of x


def frame_steps(x: np.ndarray) -> np.ndarray:
    """`(T-1,)` Euclidean step between consecutive frames of `x (T, P)`; step j is frames j -> j+1."""
    return np.linalg.norm(np.diff(x, axis=0), axis=1)


def _ratio(steps: np.ndarray, joins: np.ndarray) -> float:
    joins = joins[(joins >= 0) & (joins < len(steps))]
    inside = np.delete(steps, joins)
    return float(steps[joins].max() / max(np.percentile(inside, 99.9), 1e-9)) if joins.size else 0.0


def seam_ratio(x: np.ndarray, starts: Sequence[int], window: int) -> float:
    """Max step entering/leaving any window / 99.9th percentile of the other steps (<= 1 passes)."""
    edges = {s - 1 for s in starts[1:]} | {s + window - 1 for s in starts[:-1]}
    return _ratio(frame_steps(x), np.array(sorted(edges), dtype=int))


def boundary_ratio(x: np.ndarray, mask: np.ndarray) -> float:
    """Max step across a locked/free boundary / 99.9th percentile of the other steps."""
    return _ratio(frame_steps(x), np.flatnonzero(np.diff(mask.astype(int)) != 0))


def blink_rate(values: np.ndarray, fps: float) -> float:
    """Blinks per minute: rising crossings of 0.5 by the mean of eyeBlinkLeft/Right."""
    blink = 0.5 * (values[:, INDEX["eyeBlinkLeft"]] + values[:, INDEX["eyeBlinkRight"]])
    rises = np.count_nonzero((blink[1:] >= 0.5) & (blink[:-1] < 0.5))
    return float(rises / (len(values) / fps / 60.0))


def seed_diversity(takes: np.ndarray) -> tuple[float, float]:
    """(upper-face spread across takes / spread over time, mean pairwise lip-gap correlation)."""
    upper = takes[:, :, UPPER]  # (K, T, U)
    across = float(upper.std(axis=0).mean())
    over_time = float(upper.std(axis=1).mean())
    gaps = [lip_gap(t[:, :52]) for t in takes]
    corr = [float(np.corrcoef(a, b)[0, 1]) for a, b in combinations(gaps, 2)]
    return across / max(over_time, 1e-9), float(np.mean(corr)) if corr else float("nan")


def signature_distance(x: np.ndarray, reference: np.ndarray) -> float:
    """Distance between the mean upper-face/head pose of `x` and of `reference` (both (T, P))."""
    return float(np.linalg.norm(x[:, UPPER].mean(0) - reference[:, UPPER].mean(0)))
