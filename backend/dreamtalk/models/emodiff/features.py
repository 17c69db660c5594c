"""Audio front end: per-frame log-mel + energy + pitch at the animation frame rate.

Interim front end until `dreamtalk.features` (the corpus issue) lands; behind a tiny interface
(`name`, `dim`, `__call__(audio, rate, fps, num_frames) -> (T, dim)`) so checkpoints name theirs.
"""

from __future__ import annotations

from typing import Protocol

import numpy as np

from ...core.errors import InputError
from ...procedural.prosody import frame_windows, pitch, pitch_excursion

SAMPLE_RATE = 16000  # Hz: features are computed at this rate


class AudioFrontEnd(Protocol):
    name: str
    dim: int

    def __call__(self, audio: np.ndarray, sample_rate: int, fps: float, num_frames: int) -> np.ndarray: ...


def mel_filterbank(bands: int, n_fft: int, sample_rate: int, fmin: float = 60.0, fmax: float = 7600.0):
    """`(bands, n_fft//2+1)` triangular mel filters (HTK mel scale)."""
    def to_mel(f):
        return 2595.0 * np.log10(1.0 + np.asarray(f) / 700.0)

    def to_hz(m):
        return 700.0 * (10.0 ** (np.asarray(m) / 2595.0) - 1.0)

    edges = to_hz(np.linspace(to_mel(fmin), to_mel(fmax), bands + 2))
    bins = np.fft.rfftfreq(n_fft, 1.0 / sample_rate)
    lo, mid, hi = edges[:-2, None], edges[1:-1, None], edges[2:, None]
    rise = (bins[None, :] - lo) / (mid - lo)
    fall = (hi - bins[None, :]) / (hi - mid)
    return np.maximum(0.0, np.minimum(rise, fall)).astype(np.float32)


class LogMelFrontEnd:
    """26 log-mel bands (dB relative to the utterance's loud frames, /40) + energy, its delta,
    pitch excursion (semitones /12) and a voiced flag: 30 values per frame."""

    name = "logmel30"
    bands = 26
    dim = 30

    def __call__(self, audio: np.ndarray, sample_rate: int, fps: float, num_frames: int) -> np.ndarray:
        if sample_rate != SAMPLE_RATE:
            raise InputError(f"audio features expect {SAMPLE_RATE} Hz audio, got {sample_rate}")
        needed = int(np.ceil(num_frames * sample_rate / fps)) + 1
        audio = np.pad(audio, (0, max(0, needed - len(audio))))  # frames may reach past the audio's end
        windows = frame_windows(audio, sample_rate, fps, num_frames, width=0.04)  # (T, 640)
        windows = windows * np.hanning(windows.shape[1])[None, :]
        power = np.abs(np.fft.rfft(windows, n=1024, axis=1)) ** 2  # (T, 513)
        mel = power @ mel_filterbank(self.bands, 1024, sample_rate).T  # (T, 26)
        mel_db = 10.0 * np.log10(mel + 1e-10)
        energy_db = 10.0 * np.log10(power.sum(axis=1) + 1e-10)  # (T,)
        ref = np.percentile(energy_db, 98) if num_frames else 0.0
        mel_n = np.clip(mel_db - ref, -80.0, 0.0) / 40.0 + 1.0
        energy = np.clip(energy_db - ref, -80.0, 0.0) / 40.0 + 1.0
        delta = np.gradient(energy) if num_frames > 1 else np.zeros_like(energy)
        f0 = pitch(audio, sample_rate, fps, num_frames)
        semis = pitch_excursion(f0) / 12.0
        voiced = (f0 > 0).astype(np.float32)
        out = np.concatenate([mel_n, energy[:, None], delta[:, None], semis[:, None], voiced[:, None]], 1)
        return out.astype(np.float32)


FRONT_ENDS: dict[str, type] = {LogMelFrontEnd.name: LogMelFrontEnd}


def front_end(name: str) -> AudioFrontEnd:
    """The front end a checkpoint names; a clear error for an unknown one."""
    if name in FRONT_ENDS:
        return FRONT_ENDS[name]()
    try:  # the corpus issue's registry (`dreamtalk.features`), once it is installed
        from ...features import get_frontend
    except ImportError:
        raise InputError(f"unknown audio front end {name!r}; this build knows {', '.join(FRONT_ENDS)}") from None
    return get_frontend(name)
