"""Reproducible espeak-ng synthesis for the corpus: a voice's settings applied to `align.espeak`.

`align.espeak.synthesize` reloads libespeak-ng and seeds its noise generator on every call, so the
same settings give bit-identical audio in any process and any order, which a seeded, resumable,
parallel corpus build needs.
"""

from __future__ import annotations

from ..align import espeak
from .voices import VoiceSettings


def fresh_synthesize(text: str, voice: VoiceSettings) -> espeak.Synthesis:
    """Speak `text` with one corpus voice (deterministic output)."""
    return espeak.synthesize(text, voice=voice.voice, rate=voice.rate, pitch=voice.pitch,
                             pitch_range=voice.pitch_range, amplitude=voice.amplitude)
