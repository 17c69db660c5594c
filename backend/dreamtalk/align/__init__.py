"""Phone timings for any speech: espeak-ng events for our own synthesis, pocketsphinx for the rest.

Public API: `PhoneSegment`, `WordSegment`, `ARPABET`, `SILENCE`, `phones_for` (here);
`espeak.synthesize`, `sphinx.align` / `forced_alignment` / `phone_recognition`, `real_speech.real_utterances`,
`metrics` (phone error rate, boundary error). See docs/alignment.md.
"""

from __future__ import annotations

import numpy as np

from .phones import ARPABET, SILENCE, PhoneSegment, WordSegment

__all__ = ["ARPABET", "SILENCE", "PhoneSegment", "WordSegment", "phones_for"]


def phones_for(audio: np.ndarray, sample_rate: int, transcript: str | None = None) -> list[PhoneSegment]:
    """Contiguous ARPAbet phones (+ SIL) covering the audio: pocketsphinx forced alignment when a transcript
    is given (falling back to phone recognition, with a warning, if it fails), phone recognition otherwise.
    Raises InputError for empty, NaN or silent audio, or when no speech is found."""
    from .sphinx import align

    return align(audio, sample_rate, transcript)
