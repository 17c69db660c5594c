"""Corpus storage: shards of concatenated arrays + one JSON record per utterance, and a manifest.

Layout of a corpus folder:
    corpus.json              header: format, version, fps, sample rate, build settings
    shards/NAME.npz          audio (int16, 16 kHz), values (T, 52), head_pose (T, 3), eye_rotation (T, 6)
    shards/NAME.json         the shard's utterance records (offsets into the arrays, labels, phones)
    manifest.jsonl           every record of every shard, one JSON object a line (rebuilt from shards)
    features/TAG/ID.npy      cached audio features per utterance and front end
    features/TAG/augK/ID.npy the same for augmented copy K of the utterance (corpus/augment.py)
A shard is written completely (arrays first, then its records, each atomically) or not at all, so an
interrupted build or a rejected take never leaves a half shard; the manifest is rebuilt from complete
shards only.
"""

from __future__ import annotations

import io
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from ..core.arkit import ARKIT_NAMES
from ..core.curves import Curves
from ..core.errors import InputError
from ..core.formats import atomic_write

FORMAT = "dreamtalk-corpus"
VERSION = 1
SAMPLE_RATE = 16000  # Hz: all corpus audio
FPS = 25.0  # frames per second of all corpus labels
LABELER = "procedural-1"  # recorded with every label: which engine (and version) made it


def to_corpus_rate(audio: np.ndarray, rate: int) -> np.ndarray:
    """Mono float32 audio at the corpus rate (SAMPLE_RATE)."""
    from ..core.audio import resample

    audio = np.asarray(audio, np.float32)
    return audio if rate == SAMPLE_RATE else resample(audio, rate, SAMPLE_RATE)


@dataclass
class Item:
    """One utterance to store: audio, its label curves and its record (metadata)."""

    audio: np.ndarray  # (N,) float32 mono at SAMPLE_RATE
    curves: Curves  # labels at FPS
    record: dict  # id, source, speaker, split, text, emotion, level, intensity, phones, ...


def write_shard(root: Path, name: str, items: Sequence[Item]) -> list[dict]:
    """Write `shards/NAME.npz` and `shards/NAME.json`; return the records with their offsets."""
    folder = Path(root) / "shards"
    folder.mkdir(parents=True, exist_ok=True)
    records, a_off, f_off = [], 0, 0
    for item in items:
        record = dict(item.record, shard=name, audio_offset=a_off, num_samples=len(item.audio),
                      frame_offset=f_off, num_frames=item.curves.num_frames)
        records.append(record)
        a_off, f_off = a_off + len(item.audio), f_off + item.curves.num_frames
    arrays = {
        "audio": np.concatenate([_to_int16(i.audio) for i in items]),
        "values": np.concatenate([i.curves.values for i in items]).astype(np.float32),
        "head_pose": np.concatenate([i.curves.head_pose for i in items]).astype(np.float32),
        "eye_rotation": np.concatenate([_eyes(i.curves) for i in items]).astype(np.float32),
        "arkit_names": np.array(ARKIT_NAMES),
    }
    atomic_write(folder / f"{name}.npz", lambda f: np.savez(f, **arrays))
    text = json.dumps({"format": FORMAT, "version": VERSION, "records": records}, indent=0)
    atomic_write(folder / f"{name}.json", lambda f: f.write(text.encode("utf-8")))
    return records


def _to_int16(audio: np.ndarray) -> np.ndarray:
    return np.round(np.clip(audio, -1.0, 1.0) * 32767.0).astype(np.int16)


def _eyes(curves: Curves) -> np.ndarray:
    return curves.eye_rotation if curves.eye_rotation is not None else np.zeros((curves.num_frames, 6))


def shard_names(root: Path) -> list[str]:
    """Names of complete shards (both files present), sorted."""
    folder = Path(root) / "shards"
    if not folder.is_dir():
        return []
    return sorted(p.stem for p in folder.glob("*.json") if p.with_suffix(".npz").is_file())


def read_records(root: Path, name: str) -> list[dict]:
    data = json.loads((Path(root) / "shards" / f"{name}.json").read_text(encoding="utf-8"))
    if data.get("format") != FORMAT or data.get("version") != VERSION:
        raise InputError(f"shard {name} is not a {FORMAT} v{VERSION} shard")
    return data["records"]


def write_manifest(root: Path) -> int:
    """Rebuild `manifest.jsonl` from the complete shards; return the utterance count."""
    lines = [json.dumps(r) for name in shard_names(root) for r in read_records(root, name)]
    payload = ("\n".join(lines) + "\n" if lines else "").encode("utf-8")
    atomic_write(Path(root) / "manifest.jsonl", lambda f: f.write(payload))
    return len(lines)


def write_header(root: Path, settings: dict) -> None:
    header = {"format": FORMAT, "version": VERSION, "fps": FPS, "sample_rate": SAMPLE_RATE, **settings}
    text = json.dumps(header, indent=2)
    atomic_write(Path(root) / "corpus.json", lambda f: f.write(text.encode("utf-8")))


@lru_cache(maxsize=4)
def _shard_arrays(path: str, mtime: float) -> dict[str, np.ndarray]:
    with np.load(path) as data:
        return {k: data[k] for k in ("audio", "values", "head_pose", "eye_rotation")}


class Corpus:
    """Read access to a corpus folder: records, audio, label curves and cached features."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)
        header = self.root / "corpus.json"
        if not header.is_file():
            raise InputError(f"{self.root} is not a corpus (no corpus.json); build one with `dreamtalk corpus build`")
        self.header = json.loads(header.read_text(encoding="utf-8"))
        if self.header.get("format") != FORMAT or self.header.get("version") != VERSION:
            raise InputError(f"{header} is not a {FORMAT} v{VERSION} header")
        manifest = self.root / "manifest.jsonl"
        lines = manifest.read_text(encoding="utf-8").splitlines() if manifest.is_file() else []
        self.records = [json.loads(line) for line in lines if line.strip()]

    def select(self, split: str | None = None, source: str | None = None) -> list[dict]:
        """Records of one split and/or source (None: any)."""
        return [r for r in self.records
                if (split is None or r["split"] == split) and (source is None or r["source"] == source)]

    def _arrays(self, record: dict) -> dict[str, np.ndarray]:
        path = self.root / "shards" / f"{record['shard']}.npz"
        return _shard_arrays(str(path), path.stat().st_mtime)

    def audio(self, record: dict) -> np.ndarray:
        """`(N,)` float32 audio at SAMPLE_RATE."""
        a = record["audio_offset"]
        return self._arrays(record)["audio"][a: a + record["num_samples"]].astype(np.float32) / 32767.0

    def curves(self, record: dict) -> Curves:
        """The label curves of an utterance."""
        arrays, f = self._arrays(record), record["frame_offset"]
        part = slice(f, f + record["num_frames"])
        return Curves(FPS, arrays["values"][part], arrays["head_pose"][part], arrays["eye_rotation"][part])

    def features(self, record: dict, frontend, augment: int = 0, speed: int = 0) -> np.ndarray:
        """`(T, D)` features of an utterance from `frontend`, computed once and cached per utterance;
        `augment` k > 0: of its augmented copy k (`corpus.augment`, seeded by the id and k); `speed` k > 0: of
        its speed copy k instead (`augment.speed_of`: T frames for the changed duration, phones at
        `augment.scaled_phones`)."""
        if augment and speed:
            raise ValueError("a copy is either augmented or sped up, not both")
        copy = f"aug{augment}" if augment else f"speed{speed}" if speed else ""
        path = self.root / "features" / frontend.tag / copy / f"{record['id']}.npy"
        if path.is_file():
            return np.load(path)
        audio, frames = self.audio(record), record["num_frames"]
        if augment:
            from .augment import augment as degrade
            from .augment import seed_of

            audio = degrade(audio, SAMPLE_RATE, np.random.default_rng(seed_of(record["id"], augment)))
        if speed:
            from .augment import change_speed, speed_of

            factor = speed_of(record["id"], speed)
            audio, frames = change_speed(audio, factor), int(round(frames / factor))
        feats = frontend(audio, SAMPLE_RATE, FPS, frames)
        path.parent.mkdir(parents=True, exist_ok=True)
        buffer = io.BytesIO()
        np.save(buffer, feats)
        atomic_write(path, lambda f: f.write(buffer.getvalue()))
        return feats


def phones_of(record: dict) -> list:
    """The record's timed phones as objects with .phone/.start/.end."""
    return [Phone(p, s, e) for p, s, e in record.get("phones", [])]


@dataclass(frozen=True)
class Phone:
    phone: str
    start: float
    end: float


def encode_phones(phones: Iterable) -> list[list]:
    return [[p.phone, round(float(p.start), 4), round(float(p.end), 4)] for p in phones]
