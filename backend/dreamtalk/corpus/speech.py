"""Reproducible espeak-ng synthesis for the corpus.

libespeak-ng keeps synthesis state in globals across calls (the glottal phase and timing of the wave
generator carry over), so the same text spoken twice in one process differs by a few samples and
phone boundaries by ~1 ms, and `espeak_Terminate` does not reset it. Unloading the library (dlclose)
and loading it afresh before each utterance does: the same settings then give bit-identical audio in
any process and any order, which a seeded, resumable, parallel corpus build needs. Reloading costs ~3 ms.
"""

from __future__ import annotations

import _ctypes

from ..align import espeak
from .voices import VoiceSettings


def fresh_synthesize(text: str, voice: VoiceSettings) -> espeak.Synthesis:
    """`align.espeak.synthesize` from a freshly loaded libespeak-ng (deterministic output)."""
    with espeak._LOCK:
        handle = espeak._HANDLE
        if handle is not None:
            handle.lib.espeak_Terminate()
            _ctypes.dlclose(handle.lib._handle)
            espeak._HANDLE = None
    return espeak.synthesize(text, voice=voice.voice, rate=voice.rate, pitch=voice.pitch,
                             pitch_range=voice.pitch_range, amplitude=voice.amplitude)
