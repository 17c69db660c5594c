"""Phones (ARPAbet) -> visemes -> ARKit mouth/jaw/tongue targets.

Viseme classes follow the common 15-class set (Oculus/Preston-Blair family): silence, PP (p b m), FF (f v),
TH, DD (t d), kk (k g ng), CH (ch jh sh zh), SS (s z), nn (n l), RR (r er), aa, E, ih, oh, ou.
Each viseme has an ARKit target pose and a dominance (how strongly it resists coarticulation, after
Cohen & Massaro 1993): bilabials and labiodentals dominate, schwa-like vowels and /h/ barely do.
"""

from __future__ import annotations

import numpy as np

PHONE_TO_VISEME: dict[str, str] = {
    "SIL": "sil",
    "P": "PP", "B": "PP", "M": "PP",
    "F": "FF", "V": "FF",
    "TH": "TH", "DH": "TH",
    "T": "DD", "D": "DD",
    "K": "kk", "G": "kk", "NG": "kk", "HH": "kk",
    "CH": "CH", "JH": "CH", "SH": "CH", "ZH": "CH",
    "S": "SS", "Z": "SS",
    "N": "nn", "L": "nn",
    "R": "RR", "ER": "RR",
    "AA": "aa", "AE": "aa", "AH": "aa", "AY": "aa", "AW": "aa",
    "EH": "E", "EY": "E",
    "IH": "ih", "IY": "ih", "Y": "ih",
    "AO": "oh", "OW": "oh", "OY": "oh",
    "UH": "ou", "UW": "ou", "W": "ou",
}

BILABIALS = frozenset({"P", "B", "M"})
OPEN_VOWELS = frozenset({"AA", "AE", "AH", "AO", "AW", "AY"})
VOWELS = frozenset({"AA", "AE", "AH", "AO", "AW", "AY", "EH", "ER", "EY", "IH", "IY", "OW", "OY", "UH", "UW"})

# Target poses (channels not named stay at 0). `jawOpen` of vowels is scaled by loudness later.
VISEME_TARGETS: dict[str, dict[str, float]] = {
    "sil": {"jawOpen": 0.02},
    "PP": {"jawOpen": 0.06, "mouthClose": 0.06, "mouthPressLeft": 0.35, "mouthPressRight": 0.35,
           "mouthRollLower": 0.12, "mouthRollUpper": 0.08},
    "FF": {"jawOpen": 0.08, "mouthClose": 0.04, "mouthRollLower": 0.55, "mouthUpperUpLeft": 0.18,
           "mouthUpperUpRight": 0.18, "mouthShrugUpper": 0.1},
    "TH": {"jawOpen": 0.16, "tongueOut": 0.35, "mouthLowerDownLeft": 0.1, "mouthLowerDownRight": 0.1},
    "DD": {"jawOpen": 0.14, "mouthLowerDownLeft": 0.12, "mouthLowerDownRight": 0.12,
           "mouthStretchLeft": 0.1, "mouthStretchRight": 0.1},
    "kk": {"jawOpen": 0.18, "mouthLowerDownLeft": 0.1, "mouthLowerDownRight": 0.1,
           "mouthStretchLeft": 0.08, "mouthStretchRight": 0.08},
    "CH": {"jawOpen": 0.12, "mouthFunnel": 0.45, "mouthPucker": 0.2, "mouthUpperUpLeft": 0.15,
           "mouthUpperUpRight": 0.15, "mouthLowerDownLeft": 0.12, "mouthLowerDownRight": 0.12},
    "SS": {"jawOpen": 0.08, "mouthStretchLeft": 0.25, "mouthStretchRight": 0.25,
           "mouthUpperUpLeft": 0.1, "mouthUpperUpRight": 0.1, "mouthLowerDownLeft": 0.08,
           "mouthLowerDownRight": 0.08},
    "nn": {"jawOpen": 0.14, "mouthLowerDownLeft": 0.1, "mouthLowerDownRight": 0.1},
    "RR": {"jawOpen": 0.14, "mouthFunnel": 0.3, "mouthPucker": 0.3},
    "aa": {"jawOpen": 0.55, "mouthLowerDownLeft": 0.3, "mouthLowerDownRight": 0.3,
           "mouthUpperUpLeft": 0.12, "mouthUpperUpRight": 0.12},
    "E": {"jawOpen": 0.35, "mouthStretchLeft": 0.25, "mouthStretchRight": 0.25,
          "mouthLowerDownLeft": 0.22, "mouthLowerDownRight": 0.22, "mouthSmileLeft": 0.08,
          "mouthSmileRight": 0.08},
    "ih": {"jawOpen": 0.22, "mouthStretchLeft": 0.32, "mouthStretchRight": 0.32,
           "mouthSmileLeft": 0.12, "mouthSmileRight": 0.12, "mouthLowerDownLeft": 0.12,
           "mouthLowerDownRight": 0.12},
    "oh": {"jawOpen": 0.42, "mouthFunnel": 0.55, "mouthPucker": 0.25, "mouthLowerDownLeft": 0.12,
           "mouthLowerDownRight": 0.12},
    "ou": {"jawOpen": 0.2, "mouthPucker": 0.7, "mouthFunnel": 0.4},
}

# Dominance magnitude (resistance to neighbours) per viseme.
VISEME_DOMINANCE: dict[str, float] = {
    "sil": 0.6, "PP": 3.0, "FF": 2.5, "TH": 1.4, "DD": 0.7, "kk": 0.5, "CH": 1.6, "SS": 1.2,
    "nn": 0.6, "RR": 1.1, "aa": 1.3, "E": 1.1, "ih": 1.0, "oh": 1.5, "ou": 1.8,
}

VISEMES: tuple[str, ...] = tuple(VISEME_TARGETS)


def stressless(phone: str) -> str:
    """An ARPAbet phone's name without its stress digit, upper case ("ah1" -> "AH")."""
    return phone.rstrip("012").upper()


def viseme_of(phone: str) -> str:
    """Viseme class of an ARPAbet phone (stress digits ignored); unknown phones count as silence."""
    return PHONE_TO_VISEME.get(stressless(phone), "sil")


def centre_frame(phone, fps: float, num_frames: int) -> int:
    """The frame nearest `phone`'s centre (anything with `start` and `end` in seconds), within the clip: where
    the lip measures read a phone and where a phone too short to hold a frame shows."""
    return min(max(int(round((phone.start + phone.end) / 2 * fps)), 0), num_frames - 1)


def phone_frames(phone, fps: float, num_frames: int) -> np.ndarray:
    """Frame indices whose time k/fps lies inside `phone` (anything with `start`, `end` in seconds); the nearest
    frame if none does."""
    lo, hi = int(np.ceil(phone.start * fps - 1e-9)), int(np.floor(phone.end * fps + 1e-9))
    frames = np.arange(max(lo, 0), min(hi, num_frames - 1) + 1)
    return frames if frames.size else np.array([centre_frame(phone, fps, num_frames)])


def shut_allowed(phones, fps: float, num_frames: int, margin: int) -> np.ndarray:
    """`(num_frames,)` True where shut lips are explained by the phones: within `margin` frames of a p/b/m's
    frames, or on silence."""
    allowed = np.zeros(num_frames, bool)
    for phone in phones:
        frames = phone_frames(phone, fps, num_frames)
        if stressless(phone.phone) in BILABIALS:
            allowed[max(int(frames.min()) - margin, 0): int(frames.max()) + margin + 1] = True
        elif viseme_of(phone.phone) == "sil":
            allowed[frames] = True
    return allowed
