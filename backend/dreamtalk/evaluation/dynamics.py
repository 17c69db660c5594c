"""Dynamics and diversity measurements on ARKit curves (no engine, no audio needed)."""

from __future__ import annotations

import numpy as np

from ..core.arkit import INDEX, MOUTH, UPPER_FACE, indices
from ..core.curves import Curves

BLINK_THRESHOLD = 0.5  # eyeBlink value above which the eye counts as closed


def blink_rate(curves: Curves) -> float:
    """Blinks per minute: upward crossings of BLINK_THRESHOLD by the mean of both eyeBlink channels."""
    blink = 0.5 * (curves.values[:, INDEX["eyeBlinkLeft"]] + curves.values[:, INDEX["eyeBlinkRight"]])
    closed = blink > BLINK_THRESHOLD
    onsets = int(np.sum(closed[1:] & ~closed[:-1]) + closed[0])
    return 60.0 * onsets / max(curves.duration, 1e-9)


def frame_steps(curves: Curves) -> np.ndarray:
    """`(T-1,)` largest absolute change of any blendshape between consecutive frames."""
    return np.abs(np.diff(curves.values, axis=0)).max(axis=1) if curves.num_frames > 1 else np.zeros(0)


def seam_ratio(curves: Curves, window_seconds: float, hop_seconds: float | None = None) -> dict:
    """Mean step at window joins (the frame pair straddling each join) vs everywhere else.

    Joins sit at multiples of `hop_seconds` (the window hop of a windowed sampler; default the window).
    A ratio near 1 means no visible seams.
    """
    steps = frame_steps(curves)
    hop = int(round((hop_seconds or window_seconds) * curves.fps))
    joins = np.arange(hop, len(steps) + 1, hop) - 1  # step i is between frames i and i+1
    joins = joins[(joins >= 0) & (joins < len(steps))]
    mask = np.zeros(len(steps), bool)
    mask[joins] = True
    if not mask.any() or mask.all():
        return {"joins": 0, "join_step": float("nan"), "other_step": float("nan"), "ratio": float("nan")}
    join, other = float(steps[mask].mean()), float(steps[~mask].mean())
    return {"joins": int(mask.sum()), "join_step": join, "other_step": other, "ratio": join / max(other, 1e-9)}


def diversity(takes: list[Curves]) -> dict:
    """Spread across seeds: mean per-frame standard deviation across takes, by region.

    Upper face and head should differ between seeds (blinks, gaze, brows, head motion); lips should
    agree (they follow the audio), so `mouth_sd` should be far below `upper_sd`.
    """
    values = np.stack([t.values for t in takes])  # (S, T, 52)
    pose = np.stack([t.head_pose for t in takes])  # (S, T, 3)
    upper = float(values[:, :, indices(UPPER_FACE)].std(axis=0).mean())
    mouth = float(values[:, :, indices(MOUTH)].std(axis=0).mean())
    head = float(np.degrees(pose.std(axis=0)).mean())
    return {"upper_sd": upper, "mouth_sd": mouth, "head_sd_deg": head, "upper_to_mouth": upper / max(mouth, 1e-9)}
