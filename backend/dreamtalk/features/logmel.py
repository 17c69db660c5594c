"""Log-mel + energy + pitch features, one row per curve frame (no weights; FFTs on torch, see below).

Per frame k (time k/fps): a 40-band log-mel spectrum (Slaney-style triangular filters, 60 Hz-7.6 kHz)
of a 32 ms Hann window at each of `SUBFRAMES` sub-positions spread over the frame period (so a 25 fps
row keeps the 10 ms detail a mel front end normally has), log RMS energy, and the pitch excursion in
semitones plus a voicing flag from the autocorrelation tracker of `features.prosody`.
Features are not normalised here; models normalise with statistics stored in their checkpoints.
The FFTs run on torch in float32: the learned engines that read these features have torch loaded already,
so a cold start imports nothing more (scipy's FFT module would cost about 65 ms there).
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from ..core.audio import resample
from .prosody import frame_windows, pitch

VERSION = "1"
RATE = 16000  # Hz: audio is resampled to this rate first
N_MELS = 40
SUBFRAMES = 4  # mel spectra per curve frame
WINDOW = 0.032  # s
F_MIN, F_MAX = 60.0, 7600.0
DIM = N_MELS * SUBFRAMES + 3


def _hz_to_mel(hz):
    return 2595.0 * np.log10(1.0 + np.asarray(hz) / 700.0)


def _mel_to_hz(mel):
    return 700.0 * (10.0 ** (np.asarray(mel) / 2595.0) - 1.0)


@lru_cache(maxsize=4)
def mel_filterbank(n_fft: int, rate: int = RATE, n_mels: int = N_MELS) -> np.ndarray:
    """`(n_mels, n_fft // 2 + 1)` triangular filters evenly spaced on the mel scale (HTK formula)."""
    freqs = np.fft.rfftfreq(n_fft, 1.0 / rate)
    edges = _mel_to_hz(np.linspace(_hz_to_mel(F_MIN), _hz_to_mel(F_MAX), n_mels + 2))
    lower, centre, upper = edges[:-2, None], edges[1:-1, None], edges[2:, None]
    rising = (freqs[None, :] - lower) / (centre - lower)
    falling = (upper - freqs[None, :]) / (upper - centre)
    bank = np.maximum(0.0, np.minimum(rising, falling))
    return (bank * (2.0 / (upper - lower))).astype(np.float32)  # area-normalised (Slaney)


def power_spectra(windows: np.ndarray, n_fft: int) -> np.ndarray:
    """`(T, n_fft // 2 + 1)` power spectra of float32 rows zero-padded to `n_fft` (torch's float32 FFT)."""
    import torch

    return (torch.fft.rfft(torch.from_numpy(np.ascontiguousarray(windows)), n=n_fft, dim=1).abs() ** 2).numpy()


def autocorrelation(windows: np.ndarray, size: int) -> np.ndarray:
    """`prosody.autocorrelation` on torch's float32 FFT: the inverse transform of the power spectra."""
    import torch

    return torch.fft.irfft(torch.from_numpy(power_spectra(windows, size)), n=size, dim=1).numpy()


def log_mel(audio: np.ndarray, rate: int, frame_rate: float, num_frames: int) -> np.ndarray:
    """`(num_frames, N_MELS)` log-mel spectra of Hann windows centred on k / frame_rate."""
    windows = frame_windows(np.asarray(audio, np.float32), rate, frame_rate, num_frames, WINDOW)  # (T, W)
    windows = windows * np.hanning(windows.shape[1]).astype(np.float32)[None, :]
    n_fft = 1 << int(np.ceil(np.log2(windows.shape[1])))
    power = power_spectra(windows, n_fft)
    return np.log(power @ mel_filterbank(n_fft).T + 1e-8).astype(np.float32)


def features(audio: np.ndarray, sample_rate: int, fps: float, num_frames: int) -> np.ndarray:
    """`(num_frames, DIM)`: SUBFRAMES log-mel spectra, log energy, pitch excursion, voicing."""
    audio = np.asarray(audio, np.float32)
    audio = resample(audio, sample_rate, RATE) if sample_rate != RATE else audio
    audio = np.pad(audio, (0, int(RATE / fps) + 1))  # frames may reach past the last sample
    fine = log_mel(audio, RATE, fps * SUBFRAMES, num_frames * SUBFRAMES)
    shift = SUBFRAMES // 2  # sub-positions k - 1/2 .. k + 1/2 frame around the frame time
    fine = np.pad(fine, ((shift, 0), (0, 0)), mode="edge")[: num_frames * SUBFRAMES]
    mel = fine.reshape(num_frames, SUBFRAMES * N_MELS)
    windows = frame_windows(audio, RATE, fps, num_frames, max(2.0 / fps, 0.04))
    energy = np.log(np.mean(windows**2, axis=1) + 1e-8)
    f0 = pitch(audio, RATE, fps, num_frames, autocorrelation)
    return np.column_stack([mel, energy, semitones(f0) / 12.0, (f0 > 0)]).astype(np.float32)


def semitones(f0: np.ndarray) -> np.ndarray:
    """Voiced F0 in semitones from the utterance's median voiced F0, clipped to +-12; 0 when unvoiced."""
    voiced = f0 > 0
    out = np.zeros(len(f0), np.float32)
    if voiced.any():
        out[voiced] = np.clip(12.0 * np.log2(f0[voiced] / np.median(f0[voiced])), -12.0, 12.0)
    return out
