"""Reproducible espeak-ng synthesis for the corpus.

libespeak-ng keeps synthesis state in globals across calls (the glottal phase and timing of the wave
generator carry over), so the same text spoken twice in one process differs by a few samples and
phone boundaries by ~1 ms, and `espeak_Terminate` does not reset it. Unloading the library (dlclose)
and loading it afresh before each utterance does. So that nothing else in the process holds the same
library open (which would keep it, and its state, loaded), the corpus loads a private copy of the
library file. The same settings then give bit-identical audio in any process and any order, which a
seeded, resumable, parallel corpus build needs. Reloading costs ~3 ms. espeak-ng's own noise generator
(breath noise of variants such as f5) is seeded from the clock when the library loads: it is re-seeded
with a constant after each load.
"""

from __future__ import annotations

import _ctypes
import atexit
import ctypes
import shutil
import tempfile
from pathlib import Path

from ..align import espeak
from .voices import VoiceSettings

RAND_SEED = 12345  # espeak-ng's noise generator (breathy variants such as f5 use it)
_PRIVATE: list[str] = []  # path of this process's private copy of libespeak-ng


def _private_library() -> str:
    import espeakng_loader

    if not _PRIVATE:
        folder = Path(tempfile.mkdtemp(prefix="dreamtalk-espeak-"))
        atexit.register(shutil.rmtree, folder, True)
        target = folder / "libespeak-ng-corpus.so"
        shutil.copyfile(espeakng_loader.get_library_path(), target)
        _PRIVATE.append(str(target))
    return _PRIVATE[0]


def _fresh_handle() -> espeak._Espeak:
    """A handle on a freshly loaded private copy of libespeak-ng (the previous private one unloaded)."""
    import espeakng_loader

    path = _private_library()
    old = espeak._HANDLE
    if old is not None and getattr(old.lib, "_name", None) == path:
        old.lib.espeak_Terminate()
        _ctypes.dlclose(old.lib._handle)
    original = espeakng_loader.get_library_path
    espeakng_loader.get_library_path = lambda: path  # _Espeak() loads whatever this names
    try:
        handle = espeak._Espeak()
    finally:
        espeakng_loader.get_library_path = original
    handle.lib.espeak_ng_SetRandSeed(ctypes.c_long(RAND_SEED))  # else seeded from the clock at load
    return handle


def fresh_synthesize(text: str, voice: VoiceSettings) -> espeak.Synthesis:
    """`align.espeak.synthesize` from a freshly loaded libespeak-ng (deterministic output)."""
    with espeak._LOCK:
        espeak._HANDLE = _fresh_handle()
    return espeak.synthesize(text, voice=voice.voice, rate=voice.rate, pitch=voice.pitch,
                             pitch_range=voice.pitch_range, amplitude=voice.amplitude)
