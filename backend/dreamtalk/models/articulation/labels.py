"""Frame phone classes from timed phones (plain numpy): what the detector learns to hear."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ...procedural.visemes import BILABIALS, OPEN_VOWELS, centre_frame, stressless

PHONES: tuple[str, ...] = ("SIL", "AA", "AE", "AH", "AO", "AW", "AY", "B", "CH", "D", "DH", "EH", "ER", "EY", "F",
                           "G", "HH", "IH", "IY", "JH", "K", "L", "M", "N", "NG", "OW", "OY", "P", "R", "S", "SH",
                           "T", "TH", "UH", "UW", "V", "W", "Y", "Z", "ZH")  # ARPAbet + silence (anything else)
CLASS = {p: i for i, p in enumerate(PHONES)}
BILABIAL_CLASSES = np.array(sorted(CLASS[p] for p in BILABIALS))
OPEN_CLASSES = np.array(sorted(CLASS[p] for p in OPEN_VOWELS))


def frame_classes(phones: Sequence, frames: int, fps: float) -> np.ndarray:
    """`(frames,)` class of each frame: the phone whose span holds the frame time k / fps (SIL outside any).
    A p/b/m or open vowel too short to hold a frame claims its nearest frame (as the lip-sync measures read
    it, `procedural.visemes.phone_frames`), a p/b/m taking precedence."""
    out = np.zeros(frames, np.int64)
    times = np.arange(frames) / fps
    for p in phones:
        out[(times >= p.start - 1e-9) & (times < p.end - 1e-9)] = CLASS.get(stressless(p.phone), 0)
    for kinds in (OPEN_VOWELS, BILABIALS):  # bilabials last: they win a shared frame
        for p in phones:
            name = stressless(p.phone)
            if name in kinds and frames and np.floor(p.end * fps + 1e-9) < np.ceil(p.start * fps - 1e-9):
                nearest = centre_frame(p, fps, frames)
                if kinds is BILABIALS or out[nearest] not in BILABIAL_CLASSES:
                    out[nearest] = CLASS[name]
    return out


def phone_probabilities(phones: Sequence, frames: int, fps: float) -> tuple[np.ndarray, np.ndarray]:
    """`(frames,)` p(p/b/m) and p(open vowel) as known phones give them (1 on the frames `frame_classes`
    gives those classes, else 0): what the detector's probabilities stand for, when the phones are aligned."""
    classes = frame_classes(phones, frames, fps)
    return (np.isin(classes, BILABIAL_CLASSES).astype(np.float32),
            np.isin(classes, OPEN_CLASSES).astype(np.float32))


def doubtful_frames(words: Sequence, frames: int, fps: float, below: float, pad: float) -> np.ndarray:
    """`(frames,)` True within `pad` seconds of a word (anything with `start`, `end` in seconds and
    `probability`: `align.transcribe.HeardWord`) heard with a probability below `below`: a word a recogniser
    may have misheard, whose aligned phones may not be the spoken ones."""
    times = np.arange(frames) / fps
    doubtful = np.zeros(frames, bool)
    for word in words:
        if word.probability < below:
            doubtful |= (times >= word.start - pad) & (times <= word.end + pad)
    return doubtful
