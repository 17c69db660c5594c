"""Frame-level prosody: loudness envelope and F0 (autocorrelation pitch), at any frame rate."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

F0_MIN, F0_MAX = 70.0, 400.0  # Hz: search range of the pitch tracker


def frame_windows(audio: np.ndarray, sample_rate: int, fps: float, num_frames: int, width: float):
    """`(num_frames, W)` windows of `width` seconds centred on each frame's time k/fps."""
    half = int(round(width * sample_rate / 2))
    centers = np.round(np.arange(num_frames) * sample_rate / fps).astype(np.int64)
    padded = np.pad(audio, (half, half + 1))
    return np.lib.stride_tricks.sliding_window_view(padded, 2 * half)[centers]  # (T, W), a copy


def loudness(audio: np.ndarray, sample_rate: int, fps: float, num_frames: int) -> np.ndarray:
    """RMS in dB per frame mapped to 0..1 against the utterance's own range (5th..98th percentile)."""
    windows = frame_windows(audio, sample_rate, fps, num_frames, width=max(2.0 / fps, 0.04))
    rms_db = 20.0 * np.log10(np.sqrt(np.mean(windows**2, axis=1)) + 1e-6)
    low, high = np.percentile(rms_db, 5), np.percentile(rms_db, 98)
    return np.clip((rms_db - low) / max(high - low, 6.0), 0.0, 1.0).astype(np.float32)


def autocorrelation(windows: np.ndarray, size: int) -> np.ndarray:
    """`(T, size)` circular autocorrelation of each float32 row zero-padded to `size` (scipy's float32 FFTs;
    imported here, so importing this module does not import scipy)."""
    from scipy import fft as scipy_fft

    return scipy_fft.irfft(np.abs(scipy_fft.rfft(windows, n=size, axis=1)) ** 2, n=size, axis=1)


def pitch(audio: np.ndarray, sample_rate: int, fps: float, num_frames: int,
          autocorrelate: Callable[[np.ndarray, int], np.ndarray] = autocorrelation) -> np.ndarray:
    """F0 in Hz per frame by normalised autocorrelation (0 where unvoiced); `autocorrelate` computes it
    (another FFT backend may be passed: the log-mel front end runs on torch's)."""
    windows = frame_windows(np.asarray(audio, np.float32), sample_rate, fps, num_frames, width=0.04)
    windows = windows - windows.mean(axis=1, keepdims=True)
    windows *= np.hanning(windows.shape[1]).astype(np.float32)[None, :]
    lag_min, lag_max = int(sample_rate / F0_MAX), int(sample_rate / F0_MIN)
    size = 1 << int(np.ceil(np.log2(windows.shape[1] + lag_max)))  # no wrap-around below lag_max
    corr = autocorrelate(windows, size)  # (T, size)
    region = corr[:, lag_min:lag_max] / (corr[:, :1] + 1e-9)
    best = np.argmax(region, axis=1)
    strength = region[np.arange(len(best)), best]
    f0 = sample_rate / (best + lag_min)
    return np.where(strength > 0.45, f0, 0.0).astype(np.float32)


def pitch_excursion(f0: np.ndarray, fps: float) -> np.ndarray:
    """Pitch in semitones relative to the utterance median per frame: unvoiced frames are bridged by
    interpolation, octave jumps clipped, and the contour smoothed over ~60 ms (an intonation contour)."""
    from scipy.ndimage import gaussian_filter1d

    voiced = f0 > 0
    if voiced.sum() < 3:
        return np.zeros_like(f0)
    semitones = 12.0 * np.log2(f0[voiced] / np.median(f0[voiced]))
    frames = np.arange(len(f0))
    contour = np.interp(frames, frames[voiced], np.clip(semitones, -12.0, 12.0))
    contour = gaussian_filter1d(contour, max(0.06 * fps, 0.5), mode="nearest")
    return np.where(_near(voiced, int(round(0.1 * fps))), contour, 0.0).astype(np.float32)


def _near(mask: np.ndarray, reach: int) -> np.ndarray:
    """Frames within `reach` frames of a True frame."""
    if reach <= 0:
        return mask
    kernel = np.ones(2 * reach + 1)
    return np.convolve(mask.astype(float), kernel, mode="same") > 0
