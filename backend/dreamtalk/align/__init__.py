"""Phone timings for any speech: espeak-ng events for our own synthesis, pocketsphinx for the rest."""

from __future__ import annotations

from .phones import ARPABET, SILENCE, PhoneSegment

__all__ = ["ARPABET", "SILENCE", "PhoneSegment", "phones_for"]


def phones_for(audio, sample_rate: int, transcript: str | None = None) -> list[PhoneSegment]:
    """Forced alignment when a transcript is given, phone recognition otherwise (pocketsphinx)."""
    from .sphinx import align

    return align(audio, sample_rate, transcript)
