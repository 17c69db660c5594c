"""Live Link Face takes as recorded: timing from the timecodes, capture noise clamped, a summary.

The iPhone app stamps each row with a time-of-day timecode `HH:MM:SS:FF.fff` at its timecode rate
(`FF` counts frames of that rate, `.fff` the sub-frame). Rows come at the capture rate, which need not
be the timecode rate (a 60 fps timecode over rows at 30 fps), and real takes drop or repeat a frame now
and then. So the rows are placed on the take's own clock and resampled onto a regular grid at the rate
the timecodes show; the timecode rate is the check (a frame number at or past it is refused).
ARKit values a hair outside [0, 1] (1.003) are capture noise and are clamped and counted; values
further out than `CLAMP_LIMIT` mean a broken file and are refused.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .arkit import ARKIT_NAMES
from .errors import InputError

CLAMP_LIMIT = 0.05  # blendshape values up to this far outside [0, 1] are clamped, further out refused
TIMECODE_RATES = (24.0, 25.0, 30.0, 48.0, 50.0, 60.0, 120.0)  # FF ranges of the timecode rates in use
CAPTURE_RATES = (24 / 1.001, 24.0, 25.0, 30 / 1.001, 30.0, 48.0, 50.0, 60 / 1.001, 60.0, 100.0, 120.0)
RATE_SNAP = 0.002  # a measured row rate within this fraction of a rate in CAPTURE_RATES snaps to it
DUPLICATE_STEP = 0.5  # rows closer than this many frames to the previous one repeat it (dropped)
DAY = 86400.0


@dataclass(frozen=True)
class TakeSummary:
    """What reading a take found; `line()` for the user, `warning()` when values were clamped."""

    rows: int  # data rows in the file
    frames: int  # frames on the regular grid
    fps: float  # rate of the grid (the rows' rate, measured from the timecodes)
    timecode_fps: float | None  # the timecodes' own rate (None: no Timecode column)
    dropped: int = 0  # grid frames with no row (filled by interpolation)
    duplicates: int = 0  # rows repeating the previous row's time (skipped)
    clamped: int = 0  # blendshape values clamped into [0, 1]
    worst: str = ""  # the clamped value furthest out: 'eyeLookInRight = 1.003 at row 545'

    @property
    def duration(self) -> float:
        return self.frames / self.fps

    def line(self) -> str:
        text = f"{self.frames} frames, {self.duration:.1f} s at {self.fps:g} fps"
        if self.timecode_fps is not None and abs(self.timecode_fps - self.fps) > 0.01:
            text += f" (timecode {self.timecode_fps:g} fps)"
        extras = [f"{self.dropped} dropped frames filled"] if self.dropped else []
        extras += [f"{self.duplicates} duplicate rows skipped"] if self.duplicates else []
        extras.append(f"{self.clamped} value{'s' if self.clamped != 1 else ''} clamped")
        return f"{text}; {', '.join(extras)}"

    def warning(self) -> str | None:
        if not self.clamped:
            return None
        noun = "value" if self.clamped == 1 else "values"
        return f"clamped {self.clamped} blendshape {noun} outside [0, 1] (furthest: {self.worst})"


def timecode_fields(source: str, texts: list[str]) -> np.ndarray:
    """`(N, 4)` hours, minutes, seconds, frames (with sub-frame) of 'HH:MM:SS:FF.fff' timecodes."""
    out = np.zeros((len(texts), 4))
    for row, text in enumerate(texts):
        parts = text.strip().split(":")
        try:
            if len(parts) != 4:
                raise ValueError
            out[row] = [int(parts[0]), int(parts[1]), int(parts[2]), float(parts[3])]
        except ValueError:
            raise InputError(f"{source}: bad timecode {text!r} at row {row + 2}; expected HH:MM:SS:FF.fff") from None
    return out


def timecode_rate(source: str, fields: np.ndarray, declared: float | None) -> float:
    """The timecodes' rate: `declared` when given (checked), else the standard rate their FF fits."""
    top = int(fields[:, 3].max())
    if declared is not None:
        if top >= declared:
            row = int(np.argmax(fields[:, 3])) + 2
            raise InputError(f"{source}: timecode frame {top} at row {row} does not fit the declared {declared:g} fps")
        return float(declared)
    count = top + 1
    for standard in TIMECODE_RATES:
        if count <= standard and (len(fields) < standard or count > standard * 0.8):
            return standard
    return float(count)


def row_times(source: str, fields: np.ndarray, rate: float) -> np.ndarray:
    """Seconds of each row from the first one; a take may run past midnight, never backwards."""
    seconds = fields[:, 0] * 3600 + fields[:, 1] * 60 + fields[:, 2] + fields[:, 3] / rate
    steps = np.diff(seconds)
    seconds[1:] += DAY * np.cumsum(steps < -DAY / 2)  # 23:59:59 -> 00:00:00
    back = np.flatnonzero(np.diff(seconds) < -0.25 / rate)
    if back.size:
        raise InputError(f"{source}: the timecode goes back in time at row {back[0] + 3}; rows must be in time order")
    return seconds - seconds[0]


def regular_frames(times: np.ndarray, table: np.ndarray, rate: float) -> tuple[np.ndarray, float, int, int]:
    """`(frames, fps, dropped, duplicates)`: the rows of `table` (N, C) at `times` on a regular grid.

    The grid rate is the rows' own rate measured over the whole take, snapped to a common capture
    rate when it is that close; frames between rows are interpolated linearly.
    """
    if len(times) < 2:
        return table.copy(), rate, 0, 0
    step = float(np.median(np.diff(times)))
    keep = np.concatenate([[True], np.diff(times) >= DUPLICATE_STEP * step])
    times, table = times[keep], table[keep]
    steps = np.maximum(1, np.round(np.diff(times) / step))
    fps = float(steps.sum() / times[-1])
    near = min(CAPTURE_RATES, key=lambda r: abs(r - fps))
    fps = near if abs(near - fps) <= RATE_SNAP * near else round(fps, 3)
    count = int(round(times[-1] * fps)) + 1
    grid = np.arange(count) / fps
    frames = np.stack([np.interp(grid, times, table[:, c]) for c in range(table.shape[1])], axis=1)
    return frames, fps, max(0, count - len(times)), int((~keep).sum())


def clamp_blendshapes(source: str, values: np.ndarray, rows: np.ndarray) -> tuple[int, str]:
    """Clamp `values (N, 52)` into [0, 1] in place; (count, worst) or InputError beyond `CLAMP_LIMIT`.

    `rows` are the file rows of `values` (for messages)."""
    beyond = np.maximum(values - 1.0, -values)  # (N, 52) distance outside [0, 1]; <= 0 inside
    frame, column = np.unravel_index(int(np.argmax(beyond)), beyond.shape)
    where = f"{ARKIT_NAMES[column]} = {values[frame, column]:.4g} at row {rows[frame]}"
    if beyond[frame, column] > CLAMP_LIMIT:
        raise InputError(f"{source}: blendshape {where} is outside [0, 1] by more than {CLAMP_LIMIT:g}")
    count = int((beyond > 0).sum())
    np.clip(values, 0.0, 1.0, out=values)
    return count, where if count else ""
