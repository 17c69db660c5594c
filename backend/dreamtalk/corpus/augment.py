"""Recording conditions for training audio (issue 18 item 3): room reverberation, background noise, a
telephone channel and a tilted spectrum, none of which moves a sound in time, so an augmented utterance
keeps its labels.

`augment(audio, rng)` applies a random chain (each part with its own probability, at least one); the
corpus caches the features of augmented copy k of an utterance beside the clean ones
(`store.Corpus.features(record, frontend, augment=k)`), seeded by the utterance id and k, so a copy is the
same in every run.

Speed copies are the one change that does move sounds in time: `change_speed` plays an utterance
`speed_of(id, k)` times faster by resampling (tempo, pitch and formants together: a shorter or longer vocal
tract, as speed perturbation in speech recognition), and whoever reads their features divides the phone times
by the same factor (`store.Corpus.features(record, frontend, speed=k)`, `scaled_phones`).
"""

from __future__ import annotations

import zlib
from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np
from scipy.signal import butter, fftconvolve, resample_poly, sosfilt


@dataclass(frozen=True)
class AugmentConfig:
    """Probabilities and ranges of the augmentation chain."""

    p_reverb: float = 0.5  # probability of room reverberation
    rt60: tuple[float, float] = (0.15, 0.8)  # s: reverberation time range
    wet: tuple[float, float] = (0.2, 0.7)  # share of reverberant energy
    p_noise: float = 0.6  # probability of added noise
    snr_db: tuple[float, float] = (8.0, 35.0)  # signal-to-noise ratio range
    p_telephone: float = 0.3  # probability of a telephone channel (300-3400 Hz, 8 kHz, mu-law)
    p_tilt: float = 0.4  # probability of a spectral tilt (first-order shelf)
    tilt_db: float = 8.0  # largest tilt either way


SPEEDS = (0.85, 0.9, 1.1, 1.15)  # speed factors of speed copies (1.1: 10% faster, every frequency 10% up)
SPEED_STREAM = 77  # seeds speed copies apart from degraded copies


def _id_seed(record_id: str) -> int:
    """A seed fixed by an utterance's id (the same in every run)."""
    return zlib.crc32(record_id.encode("utf-8"))


def seed_of(record_id: str, copy: int) -> list[int]:
    return [_id_seed(record_id), copy]


def speed_of(record_id: str, copy: int) -> float:
    """The speed factor of speed copy `copy` (1, 2, ...) of an utterance: one of SPEEDS, the same in every run."""
    rng = np.random.default_rng([_id_seed(record_id), SPEED_STREAM, copy])
    return float(rng.choice(SPEEDS))


def change_speed(audio: np.ndarray, factor: float) -> np.ndarray:
    """`audio` played `factor` times faster (factor a multiple of 0.01): `factor` times shorter, every frequency
    `factor` times higher (resampled, read at the same rate)."""
    down = int(round(100 * factor))
    return resample_poly(np.asarray(audio, np.float64), 100, down).astype(np.float32)


def scaled_phones(phones: Sequence, factor: float) -> list:
    """Timed phones of an utterance played `factor` times faster."""
    return [replace(p, start=p.start / factor, end=p.end / factor) for p in phones]


def augment(audio: np.ndarray, rate: int, rng: np.random.Generator, cfg: AugmentConfig = AugmentConfig()) -> np.ndarray:
    """`audio` (float32 mono) through a random chain of reverb, tilt, telephone channel and noise."""
    parts = {"reverb": rng.random() < cfg.p_reverb, "tilt": rng.random() < cfg.p_tilt,
             "telephone": rng.random() < cfg.p_telephone, "noise": rng.random() < cfg.p_noise}
    if not any(parts.values()):
        parts[("reverb", "tilt", "telephone", "noise")[int(rng.integers(4))]] = True
    out = audio.astype(np.float64)
    level = np.sqrt(np.mean(out**2)) + 1e-9
    if parts["reverb"]:
        out = reverb(out, rate, rng.uniform(*cfg.rt60), rng.uniform(*cfg.wet), rng)
    if parts["tilt"]:
        out = tilt(out, rate, rng.uniform(-cfg.tilt_db, cfg.tilt_db))
    if parts["telephone"]:
        out = telephone(out, rate)
    if parts["noise"]:
        out = out + coloured_noise(len(out), rng) * level * 10 ** (-rng.uniform(*cfg.snr_db) / 20)
    out *= level / (np.sqrt(np.mean(out**2)) + 1e-9)
    peak = np.abs(out).max()
    return (out / peak * 0.99 if peak > 0.99 else out).astype(np.float32)


def reverb(audio: np.ndarray, rate: int, rt60: float, wet: float, rng: np.random.Generator) -> np.ndarray:
    """A synthetic room: exponentially decaying noise (decay 60 dB over `rt60`) after the direct sound;
    the output is aligned with the input (the direct path is not delayed)."""
    n = int(rt60 * rate)
    t = np.arange(n) / rate
    tail = rng.standard_normal(n) * 10 ** (-3 * t / rt60)
    tail[: int(0.003 * rate)] = 0.0  # the first reflections arrive a few ms after the direct sound
    tail *= np.sqrt(wet / (1 - wet)) / (np.sqrt(np.sum(tail**2)) + 1e-9)
    response = np.concatenate([[1.0], tail[1:]])
    return fftconvolve(audio, response)[: len(audio)]


def tilt(audio: np.ndarray, rate: int, db: float) -> np.ndarray:
    """A first-order shelf around 1 kHz: + `db` boosts the highs, - cuts them."""
    sos = butter(1, 1000.0, "highpass", fs=rate, output="sos")
    highs = sosfilt(sos, audio)
    return audio + (10 ** (db / 20) - 1.0) * highs


def telephone(audio: np.ndarray, rate: int) -> np.ndarray:
    """300-3400 Hz band, 8-bit mu-law companding (G.711-like), back at `rate`."""
    sos = butter(4, [300.0, min(3400.0, 0.45 * rate)], "bandpass", fs=rate, output="sos")
    band = sosfilt(sos, audio)
    scale = np.abs(band).max() + 1e-9
    mu = 255.0
    coded = np.sign(band / scale) * np.log1p(mu * np.abs(band / scale)) / np.log1p(mu)
    coded = np.round(coded * 127) / 127
    return np.sign(coded) * np.expm1(np.abs(coded) * np.log1p(mu)) / mu * scale


def coloured_noise(n: int, rng: np.random.Generator) -> np.ndarray:
    """Unit-RMS noise with a spectral slope between white (0) and brown (-2), 1/f^a."""
    slope = rng.uniform(0.0, 2.0)
    spectrum = np.fft.rfft(rng.standard_normal(n))
    freqs = np.maximum(np.fft.rfftfreq(n), 1.0 / n)
    noise = np.fft.irfft(spectrum / freqs ** (slope / 2), n)
    return noise / (np.sqrt(np.mean(noise**2)) + 1e-12)
