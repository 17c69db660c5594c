"""Curves file formats: JSON (ours), Live Link Face CSV, NPZ. See docs/formats.md.

Every writer goes through `atomic_write`: a temp file in the target folder, renamed over the target
only when complete, so a failure never leaves a half-written file or destroys the previous one.
"""

from __future__ import annotations

import csv
import io
import json
import logging
import os
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from . import live_link
from .arkit import ARKIT_NAMES, EYE_ROTATION_NAMES, HEAD_POSE_NAMES, canonical_name, match_names, pascal_case
from .curves import Curves
from .errors import InputError
from .live_link import TakeSummary

JSON_FORMAT = "arkit52"
JSON_VERSION = 1
NPZ_VERSION = 1
LLF_SHAPE_COUNT = 61  # 52 blendshapes + head yaw/pitch/roll + 2 x eye yaw/pitch/roll
log = logging.getLogger(__name__)

# Live Link Face writes Jaw and Mouth Right before Left: a different order from Apple's.
_LLF_ORDER = list(ARKIT_NAMES)
for _a, _b in (("jawLeft", "jawRight"), ("mouthLeft", "mouthRight")):
    _i, _j = _LLF_ORDER.index(_a), _LLF_ORDER.index(_b)
    _LLF_ORDER[_i], _LLF_ORDER[_j] = _LLF_ORDER[_j], _LLF_ORDER[_i]
LLF_COLUMNS: tuple[str, ...] = tuple(
    pascal_case(n) for n in _LLF_ORDER + list(HEAD_POSE_NAMES) + list(EYE_ROTATION_NAMES)
)


def atomic_write(path: str | os.PathLike, write: Callable[[io.BufferedWriter], None]) -> Path:
    """Call `write(file)` on a temp file beside `path`, then rename it into place."""
    target = Path(path)
    if target.is_dir():
        raise InputError(f"output {target} is a folder, not a file")
    if not target.parent.exists():
        raise InputError(f"output folder {target.parent} does not exist")
    fd, temp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".part", dir=target.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            write(handle)
        os.chmod(temp, _file_mode(target))  # mkstemp makes 0600; give the file its usual permissions
        os.replace(temp, target)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise
    return target


def _file_mode(target: Path) -> int:
    """The replaced file's permissions, or what a new file gets under the process umask."""
    if target.exists():
        return target.stat().st_mode & 0o7777
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return 0o666 & ~int(line.split()[1], 8)
    except OSError:
        pass
    return 0o644


# ---------------------------------------------------------------- JSON

def to_json_dict(curves: Curves) -> dict:
    data = {
        "format": JSON_FORMAT,
        "version": JSON_VERSION,
        "fps": curves.fps,
        "names": list(ARKIT_NAMES),
        "frames": np.round(curves.values.astype(np.float64), 6).tolist(),
        "head_pose": np.round(curves.head_pose.astype(np.float64), 6).tolist(),
    }
    if curves.eye_rotation is not None:
        data["eye_rotation"] = np.round(curves.eye_rotation.astype(np.float64), 6).tolist()
    return data


def from_json_dict(data: dict, source: str = "JSON") -> Curves:
    if not isinstance(data, dict) or data.get("format") != JSON_FORMAT:
        raise InputError(f"{source} is not an arkit52 curves file (missing \"format\": \"arkit52\")")
    if int(data.get("version", 0)) > JSON_VERSION:
        raise InputError(f"{source} has format version {data.get('version')}; this build reads <= {JSON_VERSION}")
    try:
        names = [str(n) for n in data["names"]]
        frames = np.asarray(data["frames"], dtype=np.float32).reshape(-1, len(names))
        head = data.get("head_pose")
        head = None if head is None else np.asarray(head, dtype=np.float32).reshape(-1, 3)
        eyes = data.get("eye_rotation")
        eyes = None if eyes is None else np.asarray(eyes, dtype=np.float32).reshape(-1, 6)
        fps = data["fps"]
    except (KeyError, TypeError, ValueError) as exc:
        raise InputError(f"{source} is malformed: {exc}") from None
    return Curves(fps, _reorder(frames, names, source), head, eyes)


def write_json(curves: Curves, path: str | os.PathLike) -> Path:
    text = json.dumps(to_json_dict(curves), separators=(",", ":"))
    return atomic_write(path, lambda f: f.write(text.encode("utf-8")))


def load_json_file(path: str | os.PathLike) -> object:
    """Parsed JSON of a file; one-line InputError when it is missing, a folder or not JSON."""
    raw = _read_bytes(path)
    try:
        return json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InputError(f"{path} is not valid JSON: {exc}") from None


def read_json(path: str | os.PathLike) -> Curves:
    return from_json_dict(load_json_file(path), str(path))


# ---------------------------------------------------------------- Live Link Face CSV

def format_timecode(frame: int, fps: float, start_seconds: float = 0.0) -> str:
    """'HH:MM:SS:FF.mmm' for frame `frame` (FF counts frames within the second, .mmm the subframe)."""
    t = start_seconds + frame / fps
    whole = int(np.floor(t + 1e-9))
    within = (t - whole) * fps
    ff = int(np.floor(within + 1e-6))
    sub = max(0.0, within - ff)
    hh, rem = divmod(whole, 3600)
    mm, ss = divmod(rem, 60)
    return f"{hh % 24:02d}:{mm:02d}:{ss:02d}:{ff:02d}.{int(round(sub * 1000)) % 1000:03d}"


def parse_timecode(text: str, fps: float) -> float:
    """Seconds for a 'HH:MM:SS:FF.mmm' (or 'HH:MM:SS:FF' / 'HH:MM:SS.sss') timecode at `fps`."""
    parts = text.strip().split(":")
    try:
        if len(parts) == 4:
            frames = float(parts[3])
            return int(parts[0]) * 3600 + int(parts[1]) * 60 + int(parts[2]) + frames / fps
        if len(parts) == 3:
            return int(parts[0]) * 3600 + int(parts[1]) * 60 + float(parts[2])
    except ValueError:
        pass
    raise InputError(f"bad timecode {text!r}; expected HH:MM:SS:FF.mmm")


def write_llf_csv(curves: Curves, path: str | os.PathLike) -> Path:
    eyes = curves.eye_rotation if curves.eye_rotation is not None else np.zeros((curves.num_frames, 6))
    order = [ARKIT_NAMES.index(n) for n in _LLF_ORDER]
    table = np.concatenate([curves.values[:, order], curves.head_pose, eyes], axis=1)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["Timecode", "BlendShapeCount", *LLF_COLUMNS])
    for frame, row in enumerate(table):
        writer.writerow([format_timecode(frame, curves.fps), LLF_SHAPE_COUNT, *(f"{v:.6f}" for v in row)])
    return atomic_write(path, lambda f: f.write(out.getvalue().encode("utf-8")))


@dataclass
class LlfTake:
    """A Live Link Face take as read: the curves on a regular grid and what reading found."""

    curves: Curves
    summary: TakeSummary


def read_llf_take(path: str | os.PathLike, fps: float | None = None) -> LlfTake:
    """Read a Live Link Face CSV (any column order) on its own clock; see `live_link`.

    Timing comes from the timecodes; `fps` declares their rate (else inferred from the largest FF)
    and is required when there is no Timecode column (rows are then taken as regular at `fps`).
    """
    rows = _csv_rows(path)
    header, body = rows[0], rows[1:]
    columns = _llf_columns(path, header)
    timecode_col = next((i for i, h in enumerate(header) if h.strip().lower() == "timecode"), None)
    table = _numeric_table(path, body, header, timecode_col, columns)
    values = np.zeros((len(body), len(ARKIT_NAMES)), np.float64)
    for i, name in enumerate(ARKIT_NAMES):
        if name in columns:
            values[:, i] = table[:, columns[name]]
    clamped, worst = live_link.clamp_blendshapes(str(path), values, np.arange(len(body)) + 2)
    blocks = [values, _optional_block(table, columns, HEAD_POSE_NAMES), _optional_block(table, columns, EYE_ROTATION_NAMES)]
    rate, times = _llf_times(path, body, timecode_col, fps)
    frames, grid_fps, dropped, duplicates = live_link.regular_frames(
        times, np.concatenate([b for b in blocks if b is not None], axis=1), rate or float(fps),
    )  # (T, 52 [+3 head] [+6 eyes])
    head = frames[:, 52:55] if blocks[1] is not None else None
    eyes = frames[:, -6:] if blocks[2] is not None else None
    curves = Curves(grid_fps, frames[:, :52], head, eyes)
    summary = TakeSummary(len(body), curves.num_frames, grid_fps, rate, dropped, duplicates, clamped, worst)
    return LlfTake(curves, summary)


def _llf_times(path, body: list[list[str]], timecode_col: int | None, fps: float | None):
    """(timecode rate or None, `(N,)` row seconds from the first row)."""
    if timecode_col is None:
        if fps is None:
            raise InputError(f"{path} has no Timecode column; pass the fps explicitly")
        return None, np.arange(len(body)) / float(fps)
    fields = live_link.timecode_fields(str(path), [r[timecode_col] for r in body])
    rate = live_link.timecode_rate(str(path), fields, fps)
    return rate, live_link.row_times(str(path), fields, rate)


def read_llf_csv(path: str | os.PathLike, fps: float | None = None) -> Curves:
    """`read_llf_take(...).curves`; clamped values are logged as one warning line."""
    take = read_llf_take(path, fps)
    if take.summary.warning():
        log.warning("%s: %s", Path(path).name, take.summary.warning())
    return take.curves


def _llf_columns(path, header: list[str]) -> dict[str, int]:
    """Canonical name -> column of the header; a name given twice or no ARKit column is refused."""
    columns = match_names(header)
    if not any(n in columns for n in ARKIT_NAMES):
        raise InputError(f"{path} has no ARKit blendshape columns")
    for index, raw in enumerate(header):
        canon = canonical_name(raw)
        if canon is not None and columns[canon] != index:
            raise InputError(f"{path}: column {raw.strip()} appears twice (columns {columns[canon] + 1} and {index + 1})")
    return columns


def _csv_rows(path: str | os.PathLike) -> list[list[str]]:
    try:
        text = _read_bytes(path).decode("utf-8-sig")
    except UnicodeDecodeError:
        raise InputError(f"{path} is not a text CSV file") from None
    rows = [r for r in csv.reader(io.StringIO(text)) if any(c.strip() for c in r)]
    if len(rows) < 2:
        raise InputError(f"{path} has no data rows")
    return rows


def _numeric_table(path, body, header, timecode_col, columns) -> np.ndarray:
    width = len(header)
    table = np.zeros((len(body), width), np.float64)
    wanted = sorted(set(columns.values()))
    for r, row in enumerate(body):
        if len(row) != width:
            raise InputError(f"{path} row {r + 2} has {len(row)} fields, the header has {width}")
        try:
            table[r, wanted] = [float(row[c]) for c in wanted]
        except ValueError:
            raise InputError(f"{path} row {r + 2} has a non-numeric value") from None
    if not np.isfinite(table).all():
        bad_row = int(np.argwhere(~np.isfinite(table))[0][0])
        raise InputError(f"{path} row {bad_row + 2} contains NaN or infinite values")
    return table


def _optional_block(table: np.ndarray, columns: dict[str, int], names: tuple[str, ...]):
    if not all(n in columns for n in names):
        return None
    return table[:, [columns[n] for n in names]]


# ---------------------------------------------------------------- NPZ

def write_npz(curves: Curves, path: str | os.PathLike) -> Path:
    arrays = {
        "format": np.array(JSON_FORMAT), "version": np.array(NPZ_VERSION),
        "fps": np.array(curves.fps, np.float64), "names": np.array(ARKIT_NAMES),
        "values": curves.values, "head_pose": curves.head_pose,
    }
    if curves.eye_rotation is not None:
        arrays["eye_rotation"] = curves.eye_rotation
    return atomic_write(path, lambda f: np.savez_compressed(f, **arrays))


def read_npz(path: str | os.PathLike) -> Curves:
    try:
        with np.load(io.BytesIO(_read_bytes(path)), allow_pickle=False) as data:
            if str(data["format"]) != JSON_FORMAT:
                raise InputError(f"{path} is not an arkit52 curves file")
            names = [str(n) for n in data["names"]]
            eyes = data["eye_rotation"] if "eye_rotation" in data else None
            values = _reorder(data["values"], names, str(path))
            return Curves(float(data["fps"]), values, data["head_pose"], eyes)
    except InputError:
        raise
    except (KeyError, ValueError, OSError) as exc:
        raise InputError(f"{path} is not a valid curves NPZ: {exc}") from None


# ---------------------------------------------------------------- dispatch

READERS = {".json": read_json, ".csv": read_llf_csv, ".npz": read_npz}
WRITERS = {".json": write_json, ".csv": write_llf_csv, ".npz": write_npz}


def read_curves(path: str | os.PathLike) -> Curves:
    """Read any supported curves file, chosen by extension."""
    return READERS[_suffix(path)](path)


def write_curves(curves: Curves, path: str | os.PathLike) -> Path:
    """Write curves in the format named by the extension (.json, .csv, .npz), atomically."""
    return WRITERS[_suffix(path)](curves, path)


def _suffix(path: str | os.PathLike) -> str:
    suffix = Path(path).suffix.lower()
    if suffix not in READERS:
        raise InputError(f"unsupported curves format {suffix or '(none)'!r} for {path}; use .json, .csv or .npz")
    return suffix


def _read_bytes(path: str | os.PathLike) -> bytes:
    p = Path(path)
    if not p.exists():
        raise InputError(f"file not found: {p}")
    if p.is_dir():
        raise InputError(f"{p} is a folder, not a file")
    return p.read_bytes()


def _reorder(frames: np.ndarray, names: list[str], source: str) -> np.ndarray:
    """Columns of `frames` (named `names`) rearranged into ARKit order, matched by name."""
    frames = np.asarray(frames, np.float32)
    if frames.ndim != 2 or frames.shape[1] != len(names):
        raise InputError(f"{source}: frames have {frames.shape[-1]} columns for {len(names)} names")
    columns = match_names(names)
    unknown = [n for n in names if n not in {names[c] for c in columns.values()}]
    if unknown:
        raise InputError(f"{source}: unknown blendshape names {unknown[:5]}")
    out = np.zeros((frames.shape[0], len(ARKIT_NAMES)), np.float32)
    for i, name in enumerate(ARKIT_NAMES):
        if name in columns:
            out[:, i] = frames[:, columns[name]]
    return out
