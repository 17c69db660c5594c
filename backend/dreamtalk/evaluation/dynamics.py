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
    """Mean step at window joins vs everywhere else, and how the joins rank among shifted join grids.

    The step of a frame pair is the mean absolute change over the 52 channels (robust to blinks, which
    move 2 channels). Joins sit at multiples of `hop_seconds` (the window hop of a windowed sampler;
    default the window). `ratio` near 1 means no visible seams; `phase_rank` is the fraction of the other
    hop - 1 grid offsets whose mean join step is lower than the true grid's (near 1 = seams stand out).
    """
    steps = np.abs(np.diff(curves.values, axis=0)).mean(axis=1)  # (T-1,)
    hop = int(round((hop_seconds or window_seconds) * curves.fps))
    if hop < 2 or len(steps) <= hop:
        return {"joins": 0, "join_step": float("nan"), "other_step": float("nan"), "ratio": float("nan"),
                "phase_rank": float("nan")}
    grids = [np.arange(hop - 1 + shift, len(steps), hop) for shift in range(hop)]  # step i: frames i, i+1
    means = np.array([steps[g].mean() for g in grids])
    mask = np.zeros(len(steps), bool)
    mask[grids[0]] = True
    join, other = float(means[0]), float(steps[~mask].mean())
    return {"joins": int(mask.sum()), "join_step": join, "other_step": other, "ratio": join / max(other, 1e-9),
            "phase_rank": float(np.mean(means[1:] < join))}


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


BLINK_CLOSE, BLINK_REOPEN = 0.6, 0.3  # hysteresis: a blink closes past 0.6 and ends below 0.3


def blink_signal(curves: Curves) -> np.ndarray:
    """`(T,)` mean of eyeBlinkLeft and eyeBlinkRight."""
    return 0.5 * (curves.values[:, INDEX["eyeBlinkLeft"]] + curves.values[:, INDEX["eyeBlinkRight"]])


def blink_episodes(blink: np.ndarray, close: float = BLINK_CLOSE, reopen: float = BLINK_REOPEN) -> list[dict]:
    """Every excursion of the eyelid above `reopen`: start and end frames, peak, how many times it went
    past `close` (re-closing only counts after dropping back below `close`), and whether it opened
    again before the end of the clip."""
    above = blink > reopen
    edges = np.flatnonzero(np.diff(np.concatenate([[0], above.astype(np.int8), [0]])))
    episodes = []
    for start, end in zip(edges[::2], edges[1::2]):
        shut = blink[start:end] >= close
        closings = int(np.sum(shut[1:] & ~shut[:-1]) + shut[0])
        episodes.append({"start": int(start), "end": int(end), "peak": float(blink[start:end].max()),
                         "closings": closings, "reopened": bool(end < len(blink))})
    return episodes


def blink_stats(curves: Curves) -> dict:
    """Blinks counted with hysteresis (close past 0.6, reopen below 0.3) per minute; `blink_complete`:
    the fraction of eyelid excursions above 0.3 that are one full close-and-open (past 0.6 exactly once,
    then below 0.3 again) rather than a flutter or a half close; `blink_mean`: the mean eyeBlink value."""
    blink = blink_signal(curves)
    episodes = blink_episodes(blink)
    blinks = sum(e["closings"] > 0 for e in episodes)
    complete = sum(e["closings"] == 1 and e["reopened"] for e in episodes)
    return {"blinks": blinks, "blinks_per_min": 60.0 * blinks / max(curves.duration, 1e-9),
            "episodes": len(episodes), "complete": complete,
            "blink_complete": complete / len(episodes) if episodes else float("nan"),
            "blink_mean": float(blink.mean())}
