"""`dreamtalk corpus add-takes DIR`: ingest Live Link Face takes (CSV + sound track) as training data.

A take is a CSV of curves (Live Link Face columns) with a sound track beside it of the same stem: a
.wav/.flac/.ogg/.mp3, or the take's .mov/.mp4 video (its audio stream, decoded with PyAV when
installed). An optional `<stem>.txt` transcript enables forced alignment, so lip metrics can use phones.
Every take is checked before anything is written (missing audio; missing, duplicated or unknown
columns; NaN rows; timecodes that go back in time; audio and curves of different lengths); the new shard is written atomically, so a rejected batch leaves an
existing corpus exactly as it was. Captured curves are the labels (resampled to the corpus fps).
"""

from __future__ import annotations

import csv
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..core.arkit import ARKIT_NAMES, HEAD_POSE_NAMES, canonical_name
from ..core.audio import load_audio, prepare_audio
from ..core.errors import InputError
from ..core.formats import read_llf_csv
from ..core.request import EMOTIONS
from . import store
from .voices import LEVELS

AUDIO_SUFFIXES = (".wav", ".flac", ".ogg", ".mp3")
VIDEO_SUFFIXES = (".mov", ".mp4", ".m4a")
KNOWN_EXTRA_COLUMNS = {"timecode", "blendshapecount"}
MAX_LENGTH_MISMATCH = 0.5  # s: audio and curves may differ by this much (the shorter one wins)


@dataclass(frozen=True)
class TakeLabels:
    """What the user says about the takes of one add-takes call."""

    speaker: str  # performer name: splits go by speaker
    split: str  # train, val or test
    emotion: str = "neutral"
    intensity: float = 0.0


def find_takes(folder: Path) -> list[Path]:
    """The take CSVs in `folder` (recursively), skipping Live Link Face's frame logs."""
    if not folder.is_dir():
        raise InputError(f"takes folder not found: {folder}")
    csvs = sorted(p for p in folder.rglob("*.csv") if p.stem != "frame_log" and not p.name.startswith("."))
    if not csvs:
        raise InputError(f"no take CSV files in {folder}")
    return csvs


def check_columns(path: Path) -> None:
    """Reject a CSV whose columns are not a whole Live Link Face take: every ARKit blendshape and the
    head pose once each (they are the labels: a missing one would train as a still zero), nothing but
    those, the eye rotations, Timecode and BlendShapeCount."""
    with open(path, encoding="utf-8-sig", newline="") as handle:
        header = next(csv.reader(handle), [])
    unknown = [h for h in header if h.strip().lower() not in KNOWN_EXTRA_COLUMNS and canonical_name(h) is None]
    if unknown:
        raise InputError(f"{path}: unknown columns {unknown[:5]} (expected Live Link Face ARKit columns)")
    names = [canonical_name(h) for h in header]
    twice = sorted({n for n in names if n is not None and names.count(n) > 1})
    if twice:
        raise InputError(f"{path}: column {twice[0]} appears twice")
    missing = [n for n in ARKIT_NAMES + HEAD_POSE_NAMES if n not in names]
    if missing:
        what = "ARKit blendshape" if all(n in ARKIT_NAMES for n in missing) else "ARKit blendshape / head pose"
        raise InputError(f"{path}: misses {len(missing)} {what} columns ({', '.join(missing[:4])}"
                         f"{' ...' if len(missing) > 4 else ''}); a take must have all of them")


def sound_track(csv_path: Path) -> tuple[np.ndarray, int]:
    """The take's audio (mono float32, 16 kHz) from the audio or video file beside the CSV."""
    stems = (csv_path.stem, csv_path.stem + "_iPhone")
    for stem in stems:
        for suffix in AUDIO_SUFFIXES:
            path = csv_path.with_name(stem + suffix)
            if path.is_file():
                return load_audio(path, store.SAMPLE_RATE)
        for suffix in VIDEO_SUFFIXES:
            path = csv_path.with_name(stem + suffix)
            if path.is_file():
                return _video_audio(path)
    raise InputError(f"{csv_path}: no sound track found (expected {csv_path.stem}.wav or .mov beside it)")


def _video_audio(path: Path) -> tuple[np.ndarray, int]:
    """Decode the first audio stream of a video with PyAV."""
    try:
        import av
    except ImportError:
        raise InputError(f"{path}: reading a video's sound track needs PyAV (`pip install av`), "
                         "or export the audio as .wav beside the CSV") from None
    try:
        with av.open(str(path)) as container:
            if not container.streams.audio:
                raise InputError(f"{path} has no audio stream")
            stream = container.streams.audio[0]
            chunks = [frame.to_ndarray().astype(np.float32) for frame in container.decode(stream)]
            rate = stream.rate
    except av.error.FFmpegError as exc:
        raise InputError(f"{path} could not be decoded: {exc}") from None
    if not chunks:
        raise InputError(f"{path} has an empty audio stream")
    data = np.concatenate([c.reshape(c.shape[0], -1) for c in chunks], axis=1).T  # (N, channels)
    if np.abs(data).max() > 1.5:  # integer sample formats
        data = data / 32768.0
    return prepare_audio(data, rate, store.SAMPLE_RATE, source=str(path))


def load_take(csv_path: Path, labels: TakeLabels) -> store.Item:
    """Validate one take and turn it into a corpus item."""
    check_columns(csv_path)
    curves = read_llf_csv(csv_path)
    audio, _ = sound_track(csv_path)
    audio_seconds = len(audio) / store.SAMPLE_RATE
    if abs(audio_seconds - curves.duration) > MAX_LENGTH_MISMATCH:
        raise InputError(f"{csv_path}: curves last {curves.duration:.2f} s but the audio {audio_seconds:.2f} s; "
                         "export the take's own sound track")
    curves = curves.resample(store.FPS)
    frames = min(curves.num_frames, int(round(audio_seconds * store.FPS)))
    curves = curves.slice(0, frames)
    audio = audio[: int(round(frames / store.FPS * store.SAMPLE_RATE))]
    transcript = _transcript(csv_path)
    record = {
        "id": f"take-{_slug(labels.speaker)}-{_slug(csv_path.stem)}-{zlib.crc32(str(csv_path).encode()):08x}",
        "source": "capture", "speaker": labels.speaker, "split": labels.split, "text": transcript or "",
        "emotion": labels.emotion, "level": level_of(labels.emotion, labels.intensity),
        "intensity": labels.intensity, "labels": "captured", "take": csv_path.name, "phones": [],
    }
    return store.Item(audio.astype(np.float32), curves, record)


def _transcript(csv_path: Path) -> str | None:
    path = csv_path.with_suffix(".txt")
    return path.read_text(encoding="utf-8").strip() if path.is_file() else None


def _slug(text: str) -> str:
    return "".join(c if c.isalnum() else "_" for c in text)[:40]


def level_of(emotion: str, intensity: float) -> int:
    """MEAD-like level 1..3 of a continuous intensity (0 for neutral)."""
    if emotion == "neutral":
        return 0
    return next((lvl for lvl, (low, _) in sorted(LEVELS.items(), reverse=True) if intensity >= low), 1)


def _align(item: store.Item) -> None:
    """Forced-align takes that have a transcript (phones are used by the lip metrics only)."""
    if item.record["text"]:
        from ..align import phones_for

        item.record["phones"] = store.encode_phones(phones_for(item.audio, store.SAMPLE_RATE, item.record["text"]))


def add_takes(corpus_dir: Path, folder: Path, labels: TakeLabels, align: bool = True) -> list[dict]:
    """Validate every take in `folder`, then add them all as one new shard; return their records."""
    corpus = store.Corpus(corpus_dir)  # must already be a corpus
    if labels.emotion not in EMOTIONS:
        raise InputError(f"unknown emotion {labels.emotion!r}; choose one of {', '.join(EMOTIONS)}")
    if labels.split not in ("train", "val", "test"):
        raise InputError(f"split must be train, val or test, not {labels.split!r}")
    items = [load_take(path, labels) for path in find_takes(Path(folder))]  # all checks before any write
    known = {r["id"] for r in corpus.records}
    clash = [i.record["id"] for i in items if i.record["id"] in known]
    if clash:
        raise InputError(f"takes already in the corpus: {clash[:3]}")
    if align:
        for item in items:
            _align(item)
    name = f"take-{_slug(labels.speaker)}-{zlib.crc32(''.join(sorted(i.record['id'] for i in items)).encode()):08x}"
    records = store.write_shard(corpus.root, name, items)
    store.write_manifest(corpus.root)
    return records
