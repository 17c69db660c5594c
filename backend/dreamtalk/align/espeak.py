"""Speech synthesis with exact phone timings: libespeak-ng (from the `espeakng-loader` wheel) via ctypes.

espeak-ng reports a PHONEME event (type 7) for every phone it speaks with its sample position, so the
timings of speech we synthesize ourselves are exact, with no recogniser in the loop. espeak keeps global
state: one lock serialises every call in the process.
"""

from __future__ import annotations

import ctypes
import threading
from dataclasses import dataclass, field

import numpy as np

from ..core.errors import InputError
from .phones import SILENCE, PhoneSegment, tidy

_AUDIO_OUTPUT_SYNCHRONOUS = 2
_INIT_PHONEME_EVENTS, _INIT_DONT_EXIT = 0x0001, 0x8000
_EVENT_WORD, _EVENT_PHONEME, _EVENT_LIST_END = 1, 7, 0
_POS_CHARACTER, _CHARS_UTF8 = 1, 1
_PARAM = {"rate": 1, "volume": 2, "pitch": 3, "range": 4}

# espeak-ng English phoneme mnemonics -> ARPAbet. Stress marks (' , % =) are stripped first.
ESPEAK_TO_ARPABET: dict[str, str] = {
    "p": "P", "b": "B", "t": "T", "d": "D", "k": "K", "g": "G", "m": "M", "n": "N", "N": "NG",
    "f": "F", "v": "V", "T": "TH", "D": "DH", "s": "S", "z": "Z", "S": "SH", "Z": "ZH",
    "tS": "CH", "dZ": "JH", "h": "HH", "l": "L", "r": "R", "j": "Y", "w": "W",
    "t#": "T", "d#": "D", "?": "T", "n-": "N", "l-": "L", "r-": "R", "x": "HH", "C": "HH", "W": "W",
    "a": "AE", "aa": "AE", "a#": "AH", "A:": "AA", "A@": "AA", "A": "AA", "aI": "AY", "aI@": "AY",
    "aI3": "AY", "aU": "AW", "aU@": "AW", "@": "AH", "@2": "AH", "@5": "AH", "@L": "AH", "@-": "AH",
    "3": "ER", "3:": "ER", "VR": "ER", "E": "EH", "e@": "EH", "E@": "EH", "eI": "EY", "e": "EH",
    "I": "IH", "I2": "IH", "I#": "IH", "i": "IY", "i:": "IY", "i@": "IY", "i@3": "IY", "IR": "IH",
    "0": "AA", "O": "AO", "O:": "AO", "O@": "AO", "o@": "AO", "OI": "OY", "oU": "OW", "oU#": "OW",
    "o": "OW", "U": "UH", "U@": "UH", "u:": "UW", "u": "UW", "V": "AH", "0@": "AO",
}
_MODIFIERS = {";", ":", "#"}  # palatalisation / length marks espeak may emit as separate events


class _EspeakEvent(ctypes.Structure):
    _fields_ = [
        ("type", ctypes.c_int), ("unique_identifier", ctypes.c_uint), ("text_position", ctypes.c_int),
        ("length", ctypes.c_int), ("audio_position", ctypes.c_int), ("sample", ctypes.c_int),
        ("user_data", ctypes.c_void_p), ("id", ctypes.c_char * 8),
    ]


_CALLBACK = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.POINTER(ctypes.c_short), ctypes.c_int,
                             ctypes.POINTER(_EspeakEvent))


@dataclass
class Synthesis:
    """Synthesized speech with its phones (ARPAbet) and the raw espeak phoneme names."""

    audio: np.ndarray  # (N,) float32 mono in [-1, 1]
    sample_rate: int  # Hz (22050 for espeak-ng)
    phones: list[PhoneSegment]
    espeak_phonemes: list[str] = field(default_factory=list)

    @property
    def duration(self) -> float:
        return len(self.audio) / self.sample_rate


def to_arpabet(name: str) -> str:
    """ARPAbet phone of an espeak phoneme mnemonic; pauses ('_', '_:' ...) are SIL."""
    clean = name.strip().lstrip("',%=").rstrip("',%=")
    if not clean or clean.startswith("_"):
        return SILENCE
    if clean in ESPEAK_TO_ARPABET:
        return ESPEAK_TO_ARPABET[clean]
    trimmed = clean.rstrip(":#;0123456789")
    return ESPEAK_TO_ARPABET.get(trimmed, "AH" if trimmed[:1] in "aeiouAEIOU@03V" else SILENCE)


class _Espeak:
    """The process-wide libespeak-ng handle."""

    def __init__(self) -> None:
        import espeakng_loader

        self.lib = ctypes.CDLL(espeakng_loader.get_library_path())
        self.lib.espeak_Initialize.restype = ctypes.c_int
        data = espeakng_loader.get_data_path().encode()
        self.sample_rate = self.lib.espeak_Initialize(
            _AUDIO_OUTPUT_SYNCHRONOUS, 0, data, _INIT_PHONEME_EVENTS | _INIT_DONT_EXIT
        )
        if self.sample_rate <= 0:
            raise InputError("espeak-ng could not be initialised (espeakng-loader data missing?)")
        self._chunks: list[np.ndarray] = []
        self._events: list[tuple[int, str]] = []
        self._callback = _CALLBACK(self._on_audio)  # kept alive as long as the handle
        self.lib.espeak_SetSynthCallback(self._callback)

    def _on_audio(self, wav, count, events) -> int:
        if count > 0:
            self._chunks.append(np.ctypeslib.as_array(wav, (count,)).copy())
        i = 0
        while events[i].type != _EVENT_LIST_END:
            if events[i].type == _EVENT_PHONEME:
                self._events.append((events[i].sample, events[i].id.decode("utf-8", "replace")))
            i += 1
        return 0

    def speak(self, text: str, voice: str, params: dict[str, int]) -> tuple[np.ndarray, list[tuple[int, str]]]:
        if self.lib.espeak_SetVoiceByName(voice.encode()) != 0:
            raise InputError(f"espeak-ng has no voice {voice!r}")
        for name, value in params.items():
            self.lib.espeak_SetParameter(_PARAM[name], int(value), 0)
        self._chunks, self._events = [], []
        raw = text.encode("utf-8")
        self.lib.espeak_Synth(raw, len(raw) + 1, 0, _POS_CHARACTER, 0, _CHARS_UTF8, None, None)
        self.lib.espeak_Synchronize()
        audio = np.concatenate(self._chunks) if self._chunks else np.zeros(0, np.int16)
        return audio, self._events


_LOCK = threading.Lock()
_HANDLE: _Espeak | None = None


def synthesize(
    text: str,
    voice: str = "en-us",
    rate: int = 175,
    pitch: int = 50,
    pitch_range: int = 50,
    amplitude: int = 100,
) -> Synthesis:
    """Speak `text` with espeak-ng. rate: words/min (80-450); pitch, pitch_range: 0-99; amplitude: 0-200."""
    global _HANDLE
    if not text or not text.strip():
        raise InputError("nothing to say: the text is empty")
    params = {"rate": int(np.clip(rate, 80, 450)), "pitch": int(np.clip(pitch, 0, 99)),
              "range": int(np.clip(pitch_range, 0, 99)), "volume": int(np.clip(amplitude, 0, 200))}
    with _LOCK:
        if _HANDLE is None:
            _HANDLE = _Espeak()
        samples, events = _HANDLE.speak(text, voice, params)
        rate_hz = _HANDLE.sample_rate
    audio = (samples.astype(np.float32) / 32768.0).clip(-1.0, 1.0)
    return Synthesis(audio, rate_hz, _segments(events, rate_hz, len(audio)), [name for _, name in events])


def _segments(events: list[tuple[int, str]], rate: int, length: int) -> list[PhoneSegment]:
    """Phone segments from (sample, mnemonic) events: each phone lasts until the next event."""
    kept = [(s, n) for s, n in events if n.strip() not in _MODIFIERS]
    segments = []
    for i, (sample, name) in enumerate(kept):
        end = kept[i + 1][0] if i + 1 < len(kept) else length
        if end > sample:
            segments.append(PhoneSegment(to_arpabet(name), sample / rate, end / rate))
    return tidy(segments, length / rate)
