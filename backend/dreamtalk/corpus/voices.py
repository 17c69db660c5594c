"""Synthetic speakers and emotional prosody for the espeak-ng part of the corpus.

A speaker is an espeak-ng voice variant (timbre: m1..m8, f1..f5 and the named variants); each utterance
puts it on one of several English accents with its own base rate/pitch/range/amplitude. Splits go by
variant, so a held-out timbre never appears in training under any accent.

Emotional prosody follows the acoustic correlates summarised by Scherer (2003) and Banse & Scherer
(1996): anger louder, faster, wider pitch range; sadness slower, lower, softer, narrow range; happiness
higher and livelier; surprise high pitch excursions; fear fast and high; disgust and contempt slow and low.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from ..core.request import EMOTIONS

ACCENTS = ("en-us", "en", "en-gb-x-rp", "en-gb-scotland", "en-us-nyc", "en-029", "en-gb-x-gbclan")
MALE = ("m1", "m2", "m3", "m4", "m5", "m6", "m7", "m8", "Alex", "Andy", "adam", "benjamin", "caleb",
        "david", "ed", "edward", "iven", "john", "max", "michel", "norbert")
FEMALE = ("f1", "f2", "f3", "f4", "f5", "Annie", "Alicia", "Andrea", "anika", "belinda", "linda", "aunty")
VARIANTS = MALE + FEMALE
TEST_VARIANTS = frozenset({"m3", "f2", "benjamin", "belinda"})  # held out: evaluation only
VAL_VARIANTS = frozenset({"m6", "f5", "john"})  # held out: model selection

# MEAD-like intensity levels 1..3 as ranges of the continuous intensity (neutral is level 0, intensity 0).
LEVELS = {1: (0.25, 0.45), 2: (0.5, 0.7), 3: (0.75, 1.0)}

# Per emotion at intensity 1: (rate factor, pitch offset, pitch-range factor, amplitude factor).
EMOTION_PROSODY: dict[str, tuple[float, float, float, float]] = {
    "neutral": (1.0, 0.0, 1.0, 1.0),
    "angry": (1.15, 8.0, 1.7, 1.5),
    "disgusted": (0.88, -6.0, 1.2, 1.0),
    "contempt": (0.92, -4.0, 0.85, 0.95),
    "fear": (1.22, 14.0, 0.8, 0.9),
    "happy": (1.1, 15.0, 1.5, 1.15),
    "sad": (0.78, -12.0, 0.45, 0.7),
    "surprised": (1.05, 20.0, 2.0, 1.2),
}
ENDINGS = {"angry": "!", "surprised": "?!", "happy": "!"}  # punctuation espeak turns into intonation


def split_of(variant: str) -> str:
    """The split a synthetic speaker belongs to: test, val or train."""
    return "test" if variant in TEST_VARIANTS else "val" if variant in VAL_VARIANTS else "train"


@dataclass(frozen=True)
class VoiceSettings:
    """espeak-ng settings of one utterance."""

    accent: str  # espeak language voice
    variant: str  # espeak variant (the speaker)
    rate: int  # words per minute (espeak 80..450)
    pitch: int  # base pitch 0..100
    pitch_range: int  # pitch range 0..100
    amplitude: int  # volume 0..200

    @property
    def voice(self) -> str:
        return f"{self.accent}+{self.variant}"

    def as_dict(self) -> dict:
        return asdict(self)


def sample_emotion(rng: np.random.Generator) -> tuple[str, int, float]:
    """(emotion, level, intensity): emotions uniform, levels uniform, intensity uniform in the level."""
    emotion = EMOTIONS[int(rng.integers(len(EMOTIONS)))]
    if emotion == "neutral":
        return emotion, 0, 0.0
    level = int(rng.integers(1, 4))
    low, high = LEVELS[level]
    return emotion, level, round(float(rng.uniform(low, high)), 3)


def sample_voice(rng: np.random.Generator, emotion: str, intensity: float) -> VoiceSettings:
    """A random speaker and accent, with base prosody moved towards the emotion's prosody."""
    variant = VARIANTS[int(rng.integers(len(VARIANTS)))]
    accent = ACCENTS[int(rng.integers(len(ACCENTS)))]
    rate_f, pitch_off, range_f, amp_f = EMOTION_PROSODY[emotion]

    def toward(base: float, factor: float) -> float:
        return base * (1.0 + (factor - 1.0) * intensity)

    rate = toward(rng.uniform(145, 205), rate_f)
    pitch = rng.uniform(35, 65) + pitch_off * intensity
    pitch_range = toward(rng.uniform(35, 60), range_f)
    amplitude = toward(rng.uniform(80, 120), amp_f)
    return VoiceSettings(accent, variant, int(np.clip(rate, 90, 330)), int(np.clip(pitch, 5, 95)),
                         int(np.clip(pitch_range, 5, 100)), int(np.clip(amplitude, 30, 200)))


def with_ending(text: str, emotion: str, rng: np.random.Generator) -> str:
    """Swap the full stop for the emotion's typical punctuation half of the time."""
    if emotion in ENDINGS and text.endswith(".") and rng.random() < 0.5:
        return text[:-1] + ENDINGS[emotion]
    return text
