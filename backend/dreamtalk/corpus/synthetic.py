"""Synthetic 'speech' with known phones: a harmonic buzz whose loudness follows hand-made CVC syllables.

For tests and smoke training that need exact phone timings without a speech synthesizer: vowels are
loud, consonants quiet, pauses silent. Not speech; numpy only.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

LEVELS = {"AA": 1.0, "AE": 0.95, "AO": 0.9, "AH": 0.8, "EH": 0.8, "IY": 0.6, "UW": 0.6, "OW": 0.8}
CONSONANTS = ("M", "P", "B", "T", "S", "F", "K", "N", "L", "R", "D", "V")


@dataclass(frozen=True)
class Phone:
    phone: str  # ARPAbet symbol or SIL
    start: float  # seconds
    end: float  # seconds


def _phones(words: int, rng: np.random.Generator) -> tuple[list[Phone], float]:
    phones, t = [Phone("SIL", 0.0, 0.3)], 0.3
    for w in range(words):
        for symbol in (rng.choice(CONSONANTS), rng.choice(list(LEVELS)), rng.choice(CONSONANTS)):
            d = rng.uniform(0.09, 0.16) if symbol in LEVELS else rng.uniform(0.05, 0.1)
            phones.append(Phone(str(symbol), t, t + d))
            t += d
        if w % 6 == 5:
            phones.append(Phone("SIL", t, t + 0.25))
            t += 0.25
    phones.append(Phone("SIL", t, t + 0.3))
    return phones, t + 0.3


def buzz_utterance(words: int, seed: int, rate: int = 16000, f0: float = 120.0):
    """(audio, rate, phones): CVC syllables as a harmonic buzz with a phone-driven envelope."""
    rng = np.random.default_rng(seed)
    phones, total = _phones(words, rng)
    n = int(total * rate)
    envelope = np.zeros(n, np.float32)
    for p in phones:
        level = LEVELS.get(p.phone, 0.0 if p.phone == "SIL" else 0.12)
        envelope[int(p.start * rate):int(p.end * rate)] = level
    kernel = np.hanning(int(0.02 * rate))
    envelope = np.convolve(envelope, kernel / kernel.sum(), mode="same")
    pitch = f0 * (1 + 0.15 * np.sin(np.arange(n) / rate * rng.uniform(1.5, 3.0)))
    phase = 2 * np.pi * np.cumsum(pitch) / rate
    buzz = sum(np.sin(k * phase) / k for k in range(1, 8))
    audio = 0.3 * envelope * buzz + 1e-3 * rng.standard_normal(n)
    return audio.astype(np.float32), rate, phones
