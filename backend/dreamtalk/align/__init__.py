"""Phone timings for any speech: espeak-ng events for our own synthesis, pocketsphinx for the rest.

Public API: `PhoneSegment`, `WordSegment`, `ARPABET`, `SILENCE`, `phones_for`, `aligned_phones` (here);
`espeak.synthesize`, `sphinx.align` / `forced_alignment` / `phone_recognition`, `real_speech.real_utterances`,
`metrics` (phone error rate, boundary error). See docs/alignment.md.
"""

from __future__ import annotations

import logging

import numpy as np

from .phones import ARPABET, SILENCE, PhoneSegment, WordSegment

log = logging.getLogger(__name__)

__all__ = ["ARPABET", "SILENCE", "PhoneSegment", "WordSegment", "aligned_phones", "phones_for"]


def phones_for(
    audio: np.ndarray, sample_rate: int, transcript: str | None = None, auto_transcribe: bool = True
) -> list[PhoneSegment]:
    """Contiguous ARPAbet phones (+ SIL) covering the audio: pocketsphinx forced alignment to the
    transcript (falling back to phone recognition, with a warning, if it fails). Without a transcript,
    the audio is first transcribed by Whisper when the `whisper` extra is installed (and
    `auto_transcribe`), else its phones are recognised directly.
    Raises InputError for empty, NaN or silent audio, or when no speech is found."""
    from ..core.audio import prepare_audio
    from . import transcribe
    from .sphinx import RATE, align

    if not (transcript and transcript.strip()) and auto_transcribe and transcribe.available():
        audio, sample_rate = prepare_audio(audio, sample_rate, RATE)
        try:
            transcript = transcribe.transcribe(audio) or None
        except RuntimeError as exc:
            log.warning("%s; recognising phones instead", exc)
    return align(audio, sample_rate, transcript)


def aligned_phones(audio: np.ndarray, sample_rate: int, transcript: str) -> list[PhoneSegment]:
    """Contiguous ARPAbet phones (+ SIL) of pocketsphinx forced alignment to `transcript` (its default beams,
    then wide ones for audio those lose), with no fallback: raises InputError when both fail (no word with a
    pronunciation, nothing matched, a decoder error), so a caller with a better fallback than phone
    recognition can use it."""
    from ..core.audio import prepare_audio
    from ..core.errors import InputError
    from .phones import tidy
    from .sphinx import RATE, forced_alignment_any_beams

    audio16, _ = prepare_audio(audio, sample_rate, RATE)
    try:
        return tidy(forced_alignment_any_beams(audio16, transcript), len(audio16) / RATE)
    except (InputError, RuntimeError, ValueError) as exc:
        raise InputError(f"forced alignment failed: {exc}") from exc
