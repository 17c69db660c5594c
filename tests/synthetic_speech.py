"""Phone sequences with matching buzz audio for engine tests that need no speech synthesizer."""

from dataclasses import dataclass

import numpy as np

LEVELS = {"AA": 1.0, "AE": 0.95, "AO": 0.9, "AH": 0.8, "EH": 0.8, "IY": 0.6, "UW": 0.6, "OW": 0.8}


@dataclass(frozen=True)
class Phone:
    phone: str
    start: float
    end: float


def make_utterance(words: int = 40, seed: int = 0, rate: int = 16000):
    """(audio, rate, phones): CVC syllables with pauses; vowels loud, consonants quiet."""
    rng = np.random.default_rng(seed)
    consonants = ["M", "P", "B", "T", "S", "F", "K", "N", "L", "R", "D", "V"]
    vowels = list(LEVELS)
    phones, t = [Phone("SIL", 0.0, 0.3)], 0.3
    for w in range(words):
        for symbol in (rng.choice(consonants), rng.choice(vowels), rng.choice(consonants)):
            d = rng.uniform(0.09, 0.16) if symbol in LEVELS else rng.uniform(0.05, 0.1)
            phones.append(Phone(str(symbol), t, t + d))
            t += d
        if w % 6 == 5:
            phones.append(Phone("SIL", t, t + 0.25))
            t += 0.25
    phones.append(Phone("SIL", t, t + 0.3))
    t += 0.3
    n = int(t * rate)
    envelope = np.zeros(n, np.float32)
    for p in phones:
        envelope[int(p.start * rate):int(p.end * rate)] = LEVELS.get(p.phone, 0.0 if p.phone == "SIL" else 0.12)
    kernel = np.hanning(int(0.02 * rate))
    envelope = np.convolve(envelope, kernel / kernel.sum(), mode="same")
    f0 = 120 + 20 * np.sin(np.arange(n) / rate * 2.0)
    phase = 2 * np.pi * np.cumsum(f0) / rate
    buzz = sum(np.sin(k * phase) / k for k in range(1, 8))
    audio = 0.3 * envelope * buzz + 1e-3 * rng.standard_normal(n)
    return audio.astype(np.float32), rate, phones
