"""A SMOKE corpus: the procedural engine animating synthetic buzz 'speech' with hand-made phones.

This exists to exercise training end to end before the real corpus (issue 3) lands. A model trained
on it can at best imitate the procedural teacher on buzz audio; it is NOT the shipped model.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ...core.request import EMOTIONS, EmotionKey

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


def write_smoke_corpus(folder: str | Path, clips: int = 16, words: int = 30, seed: int = 0) -> list[Path]:
    """`clips` .npz clips cycling through the 8 emotions (intensity 0.6..1.0, varied voice pitch)."""
    from ...procedural.engine import animate

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    paths = []
    for i in range(clips):
        emotion = EMOTIONS[i % len(EMOTIONS)]
        audio, rate, phones = buzz_utterance(words, seed * 1000 + i, f0=float(rng.uniform(95, 220)))
        keys = [EmotionKey(0.0, emotion, float(rng.uniform(0.6, 1.0)))]
        curves = animate(audio, rate, phones, 25.0, keys, seed=seed * 1000 + i)
        path = folder / f"smoke_{i:03d}_{emotion}.npz"
        np.savez(path, audio=audio, sample_rate=rate, values=curves.values, head_pose=curves.head_pose,
                 fps=25.0, emotion=emotion, phones=np.array([p.phone for p in phones]),
                 starts=np.array([p.start for p in phones]), ends=np.array([p.end for p in phones]))
        paths.append(path)
    return paths
