"""Keyframe reduction within a max-error tolerance (pure numpy, no bpy).

Ramer-Douglas-Peucker on the (frame, value) polyline, measured as *vertical* error (the value
difference at each dropped frame), so that linear interpolation between the kept keys reproduces
every original sample to within `tolerance`. Iterative (explicit stack), O(n log n) typical.
"""

from __future__ import annotations

import numpy as np


def reduce_keys(values: np.ndarray, tolerance: float) -> np.ndarray:
    """Indices of the samples to keep: first, last and every point needed to stay within `tolerance`.

    `values` is `(T,)` sampled at consecutive frames; `tolerance <= 0` keeps every sample.
    """
    values = np.asarray(values, np.float64)
    count = len(values)
    if tolerance <= 0 or count <= 2:
        return np.arange(count)
    keep = np.zeros(count, bool)
    keep[0] = keep[-1] = True
    stack = [(0, count - 1)]
    while stack:
        lo, hi = stack.pop()
        if hi - lo < 2:
            continue
        frames = np.arange(lo + 1, hi)
        line = values[lo] + (values[hi] - values[lo]) * (frames - lo) / (hi - lo)
        error = np.abs(values[lo + 1:hi] - line)
        worst = int(np.argmax(error))
        if error[worst] > tolerance:
            mid = lo + 1 + worst
            keep[mid] = True
            stack.extend(((lo, mid), (mid, hi)))
    return np.flatnonzero(keep)
