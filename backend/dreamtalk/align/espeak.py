"""Speech synthesis with exact phone timings: libespeak-ng (from the `espeakng-loader` wheel) via ctypes.

espeak-ng reports a PHONEME event (type 7) for every phone it speaks with its sample position, so the
timings of speech we synthesize ourselves are exact, with no recogniser in the loop. espeak keeps global
state: one lock serialises every call in the process.
"""

from __future__ import annotations

import _ctypes
import atexit
import ctypes
import logging
import re
import shutil
import tempfile
import threading
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..core.errors import InputError
from .phones import SILENCE, PhoneSegment, WordSegment, tidy

_AUDIO_OUTPUT_SYNCHRONOUS = 2
_INIT_PHONEME_EVENTS, _INIT_DONT_EXIT = 0x0001, 0x8000
_EVENT_WORD, _EVENT_PHONEME, _EVENT_LIST_END = 1, 7, 0
_POS_CHARACTER, _CHARS_UTF8 = 1, 1
_PARAM = {"rate": 1, "volume": 2, "pitch": 3, "range": 4}

# espeak-ng English phoneme mnemonics -> ARPAbet. Stress marks (' , % =) are stripped first. Some espeak
# phonemes fold two CMU phones into one (r-coloured vowels 'A@' = AA R, syllabic '@L' = AH L): they map to
# two phones and their duration is split (see `_split`). Checked against the CMU dictionary that ships with
# pocketsphinx (bench/measure_alignment.py: phone error rate of espeak+table vs CMU on random words).
ESPEAK_TO_ARPABET: dict[str, tuple[str, ...]] = {k: tuple(v.split()) for k, v in {
    "p": "P", "b": "B", "t": "T", "d": "D", "k": "K", "g": "G", "m": "M", "n": "N", "N": "NG",
    "f": "F", "v": "V", "T": "TH", "D": "DH", "s": "S", "z": "Z", "S": "SH", "Z": "ZH",
    "tS": "CH", "dZ": "JH", "h": "HH", "l": "L", "r": "R", "j": "Y", "w": "W",
    "t#": "T", "t2": "T", "d#": "D", "?": "T", "n-": "N", "m-": "M", "l-": "L", "r-": "R",
    "x": "K", "C": "HH", "W": "W", "l/": "L", "l/2": "L", "z/2": "Z", "s2": "S", "k2": "K", "n2": "N",
    "a": "AE", "aa": "AE", "a#": "AH", "A:": "AA", "A@": "AA R", "A": "AA", "aI": "AY", "aI@": "AY AH",
    "aI3": "AY ER", "aU": "AW", "aU@": "AW ER", "@": "AH", "@2": "AH", "@5": "AH", "@L": "AH L", "@-": "AH",
    "3": "ER", "3:": "ER", "VR": "ER", "E": "EH", "e@": "EH R", "E@": "EH R", "eI": "EY", "e": "EH",
    "I": "IH", "I2": "IH", "I#": "IH", "i": "IY", "i:": "IY", "i@": "IY AH", "i@3": "IH R", "IR": "IH R",
    "0": "AA", "O": "AO", "O2": "AO", "O:": "AO", "O@": "AO R", "o@": "AO R", "OI": "OY", "oU": "OW",
    "oU#": "OW", "o": "OW", "U": "UH", "U@": "UH R", "u:": "UW", "u": "UW", "V": "AH", "0@": "AO R",
}.items()}
_MODIFIERS = {";", ":", "#"}  # palatalisation / length marks espeak may emit as separate events
_STRESS = "',%="
_WARNED: set[str] = set()
log = logging.getLogger(__name__)


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
    """Synthesized speech with its phones (ARPAbet), words and the raw espeak phoneme names."""

    audio: np.ndarray  # (N,) float32 mono in [-1, 1]
    sample_rate: int  # Hz (22050 for espeak-ng)
    phones: list[PhoneSegment]
    words: list[WordSegment] = field(default_factory=list)
    espeak_phonemes: list[str] = field(default_factory=list)

    @property
    def duration(self) -> float:
        return len(self.audio) / self.sample_rate


def clean_mnemonic(name: str) -> str:
    """An espeak phoneme name without stress marks and padding: "'aI" -> "aI"."""
    return name.strip().strip(_STRESS)


def to_arpabet(name: str) -> tuple[str, ...]:
    """ARPAbet phones of an espeak phoneme mnemonic (one, or two for r-coloured/syllabic ones).

    Pauses ('_', '_:' ...) are SIL. A name missing from the table (another language's phoneme) falls back
    to its base letters, then to AH for a vowel-like name and SIL otherwise, with a one-time warning."""
    clean = clean_mnemonic(name)
    if not clean or clean.startswith("_") or clean in _MODIFIERS:
        return (SILENCE,)
    if clean in ESPEAK_TO_ARPABET:
        return ESPEAK_TO_ARPABET[clean]
    trimmed = clean.rstrip(":#;/-0123456789")
    if trimmed in ESPEAK_TO_ARPABET:
        return ESPEAK_TO_ARPABET[trimmed]
    if clean not in _WARNED:
        _WARNED.add(clean)
        log.warning("espeak phoneme %r has no ARPAbet entry; approximated", clean)
    return ("AH",) if trimmed[:1] in "aeiouyAEIOUY@0123V" else (SILENCE,)


class _Espeak:
    """A libespeak-ng handle loaded from `library` (use only under `_LOCK`)."""

    def __init__(self, library: str) -> None:
        import espeakng_loader

        self.lib = ctypes.CDLL(library)
        self.lib.espeak_Initialize.restype = ctypes.c_int
        data = espeakng_loader.get_data_path().encode()
        self.sample_rate = self.lib.espeak_Initialize(
            _AUDIO_OUTPUT_SYNCHRONOUS, 0, data, _INIT_PHONEME_EVENTS | _INIT_DONT_EXIT
        )
        if self.sample_rate <= 0:
            raise InputError("espeak-ng could not be initialised (espeakng-loader data missing?)")
        self._chunks: list[np.ndarray] = []
        self._events: list[tuple[int, int, int, int, str]] = []
        self._callback = _CALLBACK(self._on_audio)  # kept alive as long as the handle
        self.lib.espeak_SetSynthCallback(self._callback)
        self.lib.espeak_ng_SetRandSeed(ctypes.c_long(RAND_SEED))  # else seeded from the clock at load
        self._voice = ""

    def unload(self) -> None:
        """Terminate and dlclose the library, dropping every bit of synthesis state it kept."""
        self.lib.espeak_Terminate()
        _ctypes.dlclose(self.lib._handle)

    def _on_audio(self, wav, count, events) -> int:
        if count > 0:
            self._chunks.append(np.ctypeslib.as_array(wav, (count,)).copy())
        i = 0
        while events[i].type != _EVENT_LIST_END:
            e = events[i]
            if e.type in (_EVENT_PHONEME, _EVENT_WORD):
                name = e.id.decode("utf-8", "replace") if e.type == _EVENT_PHONEME else ""
                self._events.append((e.type, e.sample, e.text_position, e.length, name))
            i += 1
        return 0

    def speak(self, text: str, voice: str, params: dict[str, int]) -> tuple[np.ndarray, list[tuple]]:
        """int16 samples and (type, sample, text_position, length, phoneme) events of one utterance."""
        if voice != self._voice:
            if self.lib.espeak_SetVoiceByName(voice.encode()) != 0:
                raise InputError(f"espeak-ng has no voice {voice!r}")
            self._voice = voice
        for name, value in params.items():
            self.lib.espeak_SetParameter(_PARAM[name], int(value), 0)
        self._chunks, self._events = [], []
        raw = text.encode("utf-8")
        status = self.lib.espeak_Synth(raw, len(raw) + 1, 0, _POS_CHARACTER, 0, _CHARS_UTF8, None, None)
        self.lib.espeak_Synchronize()
        if status != 0:
            raise InputError(f"espeak-ng could not synthesize the text (error {status})")
        audio = np.concatenate(self._chunks) if self._chunks else np.zeros(0, np.int16)
        return audio, self._events


_LOCK = threading.Lock()
_HANDLE: _Espeak | None = None
_PRIVATE_LIBRARY: list[str] = []  # this process's private copy of libespeak-ng
RAND_SEED = 12345  # espeak-ng's noise generator (breathy variants such as f5 use it)


def _private_library() -> str:
    """Path of a private copy of libespeak-ng: nothing else in the process holds it open, so unloading
    it really drops its state."""
    import espeakng_loader

    if not _PRIVATE_LIBRARY:
        folder = Path(tempfile.mkdtemp(prefix="dreamtalk-espeak-"))
        atexit.register(shutil.rmtree, folder, True)
        target = folder / "libespeak-ng-private.so"
        shutil.copyfile(espeakng_loader.get_library_path(), target)
        _PRIVATE_LIBRARY.append(str(target))
    return _PRIVATE_LIBRARY[0]


def _fresh_handle() -> _Espeak:
    """Unload the previous handle and load libespeak-ng afresh (caller holds `_LOCK`).

    libespeak-ng keeps synthesis state in globals (the wave generator's glottal phase and timing carry
    over), so the same text spoken twice in one process differs by a few samples and phone boundaries
    shift; `espeak_Terminate` alone does not reset it. A fresh load (~3 ms) does, and with the noise
    generator seeded the same settings give bit-identical audio in any process and any order."""
    global _HANDLE
    if _HANDLE is not None:
        _HANDLE.unload()
        _HANDLE = None
    _HANDLE = _Espeak(_private_library())
    return _HANDLE


def synthesize(
    text: str,
    voice: str = "en-us",
    rate: int = 175,
    pitch: int = 50,
    pitch_range: int = 50,
    amplitude: int = 100,
    variant: str | None = None,
) -> Synthesis:
    """Speak `text` with espeak-ng (thread-safe: calls are serialised; espeak is global state).

    voice: an espeak voice name, optionally with a variant ("en-us+f3"); `variant` ("f3", "m3", "klatt"
    ...) is appended when given. rate: words/min (80-450); pitch, pitch_range: 0-99; amplitude: 0-200.
    Deterministic: every call starts from a freshly loaded library (see `_fresh_handle`).
    Raises InputError for empty text or an unknown voice."""
    text = _CONTROL.sub(" ", text or "")
    if not text.strip():
        raise InputError("nothing to say: the text is empty")
    if variant:
        voice = f"{voice.split('+')[0]}+{variant}"
    params = {"rate": int(np.clip(rate, 80, 450)), "pitch": int(np.clip(pitch, 0, 99)),
              "range": int(np.clip(pitch_range, 0, 99)), "volume": int(np.clip(amplitude, 0, 200))}
    with _LOCK:
        handle = _fresh_handle()
        samples, events = handle.speak(text, voice, params)
        hz = handle.sample_rate
    audio = (samples.astype(np.float32) / 32768.0).clip(-1.0, 1.0)
    phone_events = [(e[1], e[4]) for e in events if e[0] == _EVENT_PHONEME]
    phones = _segments(phone_events, hz, len(audio))
    words = _words(text, [e for e in events if e[0] == _EVENT_WORD], phones, hz)
    return Synthesis(audio, hz, phones, words, [name for _, name in phone_events])


_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")  # NUL would end the C string early


_TOKEN = re.compile(r"[\w'’-]+")


def _split(phones: tuple[str, ...], start: float, end: float) -> list[PhoneSegment]:
    """One espeak phoneme's span over its ARPAbet phones: 60 % to the first of two (the vowel nucleus)."""
    if len(phones) == 1:
        return [PhoneSegment(phones[0], start, end)]
    cut = start + 0.6 * (end - start)
    return [PhoneSegment(phones[0], start, cut), PhoneSegment(phones[1], cut, end)]


def _segments(events: list[tuple[int, str]], rate: int, length: int) -> list[PhoneSegment]:
    """Phone segments from (sample, mnemonic) events: each phone lasts until the next event."""
    kept = [(s, to_arpabet(n)) for s, n in events if clean_mnemonic(n) not in _MODIFIERS]
    segments: list[PhoneSegment] = []
    for i, (sample, phones) in enumerate(kept):
        end = kept[i + 1][0] if i + 1 < len(kept) else length
        if len(phones) == 2 and i + 1 < len(kept) and kept[i + 1][1][0] == phones[1]:
            phones = phones[:1]  # 'U@' + linking 'r': one R, not two
        if end > sample:
            segments += _split(phones, sample / rate, end / rate)
    return tidy(segments, length / rate)


def _words(text: str, events: list[tuple], phones: list[PhoneSegment], rate: int) -> list[WordSegment]:
    """Word spans from WORD events (1-based character position + length): from the event to the end of
    the last non-silent phone before the next word."""
    starts = [e[1] / rate for e in events]
    words = []
    for i, event in enumerate(events):
        limit = starts[i + 1] if i + 1 < len(starts) else float("inf")
        spoken = [p for p in phones if p.phone != SILENCE and starts[i] - 1e-6 <= p.start < limit - 1e-6]
        if spoken:
            token = _TOKEN.match(text, max(event[2] - 1, 0))
            word = token.group(0) if token else text[event[2] - 1: event[2] - 1 + event[3]].strip()
            words.append(WordSegment(word, spoken[0].start, spoken[-1].end))
    return words
