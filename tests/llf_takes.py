"""Live Link Face takes written the way the iPhone app writes them (generated, never copied files).

Layouts seen in public takes: PascalCase columns in the app's order (JawRight before JawLeft) after
`Timecode` and `BlendShapeCount` (older app versions spell it `BlendshapeCount`), 61 values per row
(52 blendshapes, head yaw/pitch/roll, both eyes' yaw/pitch/roll), timecodes `HH:MM:SS:FF.fff` at the
app's timecode rate (FF counts frames of that rate, .fff the sub-frame) starting at the time of day,
rows at the capture rate, which may differ from the timecode rate (a 60 fps timecode with rows at 30).
Channel c at time t is `value_at(t)[c]`, so timing can be checked against the file's own clock.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from dreamtalk.core.formats import LLF_COLUMNS

START = 14 * 3600 + 3 * 60 + 52.0  # the app's timecodes are the time of day: 14:03:52


def value_at(t: np.ndarray) -> np.ndarray:
    """`(T, 61)` smooth values at seconds `t` from the take start: 52 in [0.05, 0.95], then angles."""
    t = np.asarray(t, np.float64)[:, None]
    phase = np.arange(61)[None, :] * 0.41
    shapes = 0.5 + 0.45 * np.sin(0.9 * t + phase)
    return np.where(np.arange(61)[None, :] < 52, shapes, 0.2 * np.sin(0.5 * t + phase))


def timecode(seconds: float, rate: float) -> str:
    """The app's 'HH:MM:SS:FF.fff' for `seconds` of the day at timecode rate `rate`."""
    whole = int(np.floor(seconds))
    millis = int(round((seconds - whole) * rate * 1000))  # sub-frames in thousandths
    if millis >= rate * 1000:
        whole, millis = whole + 1, millis - int(rate * 1000)
    hh, rem = divmod(whole, 3600)
    mm, ss = divmod(rem, 60)
    return f"{hh % 24:02d}:{mm:02d}:{ss:02d}:{millis // 1000:02d}.{millis % 1000:03d}"


def write_take(
    path: Path,
    seconds: float,
    row_fps: float,
    timecode_fps: float,
    count_column: str = "BlendShapeCount",
    jitter: float = 0.0,
    drop: tuple[int, ...] = (),
    duplicate: tuple[int, ...] = (),
    set_values: dict[tuple[int, str], float] | None = None,
    seed: int = 0,
) -> np.ndarray:
    """Write a take; returns the row times (seconds from the take start) actually written."""
    rng = np.random.default_rng(seed)
    times = np.arange(int(round(seconds * row_fps))) / row_fps
    times = times + rng.uniform(-jitter, jitter, len(times)) * (np.arange(len(times)) > 0)
    keep = [i for i in range(len(times)) if i not in set(drop)]
    rows = []
    for i in keep:
        for _ in range(2 if i in set(duplicate) else 1):
            rows.append(i)
    table = value_at(times)
    for (row, column), value in (set_values or {}).items():
        table[row, LLF_COLUMNS.index(column)] = value
    lines = [",".join(["Timecode", count_column, *LLF_COLUMNS])]
    for i in rows:
        cells = [timecode(START + times[i], timecode_fps), "61", *(f"{v:.6f}" for v in table[i])]
        lines.append(",".join(cells))
    path.write_text("\n".join(lines) + "\n")
    return times[keep]
