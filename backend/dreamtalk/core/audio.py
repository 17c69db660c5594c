"""Audio loading: wav/flac/ogg/mp3 through soundfile, mono mix, polyphase resampling.

Every failure is a one-line `InputError`: missing file, not audio, empty or silent, too long, NaN.
"""

from __future__ import annotations

import os
from fractions import Fraction
from pathlib import Path

import numpy as np

from .errors import InputError

DEFAULT_MAX_SECONDS = 3600.0  # one hour; configurable per call
SILENCE_PEAK = 1e-4  # a peak below this (about -80 dBFS) counts as silence
_MAX_WAV_CHUNKS = 64  # chunks looked at before a WAV's data chunk


def load_audio(
    path: str | os.PathLike,
    sample_rate: int | None = 16000,
    max_seconds: float = DEFAULT_MAX_SECONDS,
) -> tuple[np.ndarray, int]:
    """Read `path` as mono float32 in [-1, 1], resampled to `sample_rate` (None keeps the file's rate)."""
    import soundfile  # deferred: keeps `import dreamtalk.core` light

    p = Path(path)
    if not p.exists():
        raise InputError(f"audio file not found: {p}")
    if p.is_dir():
        raise InputError(f"{p} is a folder, not an audio file")
    try:
        info = soundfile.info(str(p))
    except (RuntimeError, soundfile.LibsndfileError):
        raise InputError(f"{p} is not a readable audio file (wav, flac, ogg or mp3)") from None
    if info.frames <= 0 or info.samplerate <= 0:
        raise InputError(f"{p} contains no audio")
    if info.frames / info.samplerate > max_seconds:
        raise InputError(
            f"{p} is {info.frames / info.samplerate:.1f} s long; the limit is {max_seconds:.0f} s"
        )
    declared = wav_declared_frames(p)
    if declared is not None and declared > info.frames + 1:
        raise InputError(f"{p} is truncated: its header declares {declared / info.samplerate:.2f} s of audio "
                         f"but the file holds {info.frames / info.samplerate:.2f} s")
    try:
        data, rate = soundfile.read(str(p), dtype="float32", always_2d=True)
    except (RuntimeError, soundfile.LibsndfileError) as exc:
        raise InputError(f"{p} could not be decoded: {exc}") from None
    return prepare_audio(data, rate, sample_rate, max_seconds, str(p))


def wav_declared_frames(path: str | os.PathLike) -> int | None:
    """Frames the data chunk of a RIFF/WAVE header declares (libsndfile reads a cut file silently to
    its end), or None: not a plain WAV, or a streaming header whose size is unknown (0 or 0xFFFFFFFF)."""
    with open(path, "rb") as handle:
        head = handle.read(12)
        if len(head) < 12 or head[:4] != b"RIFF" or head[8:12] != b"WAVE":
            return None
        block_align = 0
        for _ in range(_MAX_WAV_CHUNKS):
            chunk = handle.read(8)
            if len(chunk) < 8:
                return None
            kind, size = chunk[:4], int.from_bytes(chunk[4:], "little")
            if kind == b"data":
                return size // block_align if block_align and size not in (0, 0xFFFFFFFF) else None
            body = handle.read(min(size, 64)) if kind == b"fmt " else b""
            if len(body) >= 14:
                block_align = int.from_bytes(body[12:14], "little")
            handle.seek(size + (size & 1) - len(body), os.SEEK_CUR)
    return None


def prepare_audio(
    data: np.ndarray,
    rate: int,
    sample_rate: int | None = 16000,
    max_seconds: float = DEFAULT_MAX_SECONDS,
    source: str = "audio",
) -> tuple[np.ndarray, int]:
    """Validate in-memory audio `(N,)` or `(N, channels)`, mix to mono, resample."""
    samples = np.asarray(data, dtype=np.float32)
    if samples.ndim == 2:
        samples = samples.mean(axis=1)
    samples = samples.reshape(-1)
    if rate <= 0:
        raise InputError(f"{source}: sample rate must be positive, got {rate}")
    if samples.size == 0:
        raise InputError(f"{source} is empty")
    if not np.isfinite(samples).all():
        raise InputError(f"{source} contains NaN or infinite samples")
    if samples.size / rate > max_seconds:
        raise InputError(f"{source} is {samples.size / rate:.1f} s long; the limit is {max_seconds:.0f} s")
    if float(np.max(np.abs(samples))) < SILENCE_PEAK:
        raise InputError(f"{source} is silent")
    if sample_rate is not None and sample_rate != rate:
        samples = resample(samples, rate, sample_rate)
        rate = sample_rate
    return np.clip(samples, -1.0, 1.0).astype(np.float32), int(rate)


def resample(samples: np.ndarray, rate_in: int, rate_out: int) -> np.ndarray:
    """Polyphase resampling (scipy.signal.resample_poly) from `rate_in` to `rate_out` Hz."""
    from scipy.signal import resample_poly

    ratio = Fraction(int(rate_out), int(rate_in)).limit_denominator(1000)
    return resample_poly(samples, ratio.numerator, ratio.denominator).astype(np.float32)
