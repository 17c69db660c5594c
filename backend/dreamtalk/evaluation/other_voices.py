"""Speech the models never train on, all offline from Debian packages unpacked into the cache:

* Flite (CMU, `flite` + `libflite1`): the kal16, awb, rms and slt voices (diphone / clustergen), 16 kHz;
* SVOX Pico (`libttspico0` + `libttspico-data`, non-free): en-US and en-GB, 16 kHz, driven through its C API
  with ctypes (the `pico2wave` tool only reads voices from /usr/share/pico/lang);
* a real reader from `pocketsphinx-testdata`: 5 LibriVox sentences (Sense and Sensibility, male), 16 kHz,
  with transcripts.

Phone timings for all of them come from forced alignment with the transcript (`align.sphinx.align`).
"""

from __future__ import annotations

import ctypes
import os
import re
import subprocess
import tempfile
import threading
from pathlib import Path

import numpy as np

from ..align.debian import unpacked
from ..core.errors import DreamTalkError

FLITE_VOICES = ("kal16", "awb", "rms", "slt")
PICO_VOICES = ("en-US", "en-GB")
_LIB = "usr/lib/x86_64-linux-gnu"
_PICO_LOCK = threading.Lock()


def _read_wav(path: Path) -> tuple[np.ndarray, int]:
    import soundfile

    audio, rate = soundfile.read(str(path), dtype="float32", always_2d=True)
    return audio.mean(axis=1), int(rate)


def flite(text: str, voice: str) -> tuple[np.ndarray, int]:
    """(audio float32, rate) of `text` spoken by a Flite voice."""
    root = unpacked("flite", ("flite", "libflite1"), "usr/bin/flite")
    env = dict(os.environ, LD_LIBRARY_PATH=str(root / _LIB))
    with tempfile.TemporaryDirectory() as tmp:
        wav = Path(tmp) / "out.wav"
        result = subprocess.run([str(root / "usr/bin/flite"), "-voice", voice, "-t", text, "-o", str(wav)],
                                env=env, capture_output=True, text=True)
        if result.returncode != 0 or not wav.exists():
            raise DreamTalkError(f"flite -voice {voice} failed: {result.stderr.strip()[-200:]}")
        return _read_wav(wav)


class _Pico:
    """One SVOX Pico engine for one language (C API of libttspico, as pico2wave uses it)."""

    MEMORY = 2_500_000
    BUSY = 201  # PICO_STEP_BUSY

    def __init__(self, root: Path, language: str) -> None:
        self.lib = ctypes.CDLL(str(root / _LIB / "libttspico.so.0"))
        lang = root / "usr/share/pico/lang"
        speaker = {"en-US": "lh0", "en-GB": "kh0"}[language]
        self.memory = ctypes.create_string_buffer(self.MEMORY)
        self.system, self.engine = ctypes.c_void_p(), ctypes.c_void_p()
        self._check(self.lib.pico_initialize(self.memory, self.MEMORY, ctypes.byref(self.system)), "initialize")
        voice = b"dreamtalk"
        self._check(self.lib.pico_createVoiceDefinition(self.system, voice), "voice")
        for file in (f"{language}_ta.bin", f"{language}_{speaker}_sg.bin"):
            resource, name = ctypes.c_void_p(), ctypes.create_string_buffer(200)
            self._check(self.lib.pico_loadResource(self.system, str(lang / file).encode(), ctypes.byref(resource)), file)
            self._check(self.lib.pico_getResourceName(self.system, resource, name), file)
            self._check(self.lib.pico_addResourceToVoiceDefinition(self.system, voice, name.value), file)
        self._check(self.lib.pico_newEngine(self.system, voice, ctypes.byref(self.engine)), "engine")

    @staticmethod
    def _check(status: int, what: str) -> None:
        if status != 0:
            raise DreamTalkError(f"SVOX Pico: {what} failed (status {status})")

    def speak(self, text: str) -> np.ndarray:
        data = text.encode("utf-8") + b"\0"  # the terminating NUL flushes the last sentence
        out, buffer = [], ctypes.create_string_buffer(256)
        received, kind, put = ctypes.c_int16(), ctypes.c_int16(), ctypes.c_int16()
        while data:
            self._check(self.lib.pico_putTextUtf8(self.engine, data, len(data), ctypes.byref(put)), "text")
            data = data[put.value:]
            while True:
                status = self.lib.pico_getData(self.engine, buffer, 256, ctypes.byref(received), ctypes.byref(kind))
                out.append(np.frombuffer(buffer.raw[: received.value], np.int16).copy())
                if status != self.BUSY:
                    break
        return np.concatenate(out).astype(np.float32) / 32768.0


_PICO_ENGINES: dict[str, _Pico] = {}


def pico(text: str, language: str) -> tuple[np.ndarray, int]:
    """(audio float32, 16000) of `text` spoken by SVOX Pico in `language` (en-US or en-GB)."""
    root = unpacked("pico", ("libttspico0", "libttspico-data"), "usr/share/pico/lang/en-US_ta.bin")
    with _PICO_LOCK:
        if language not in _PICO_ENGINES:
            _PICO_ENGINES[language] = _Pico(root, language)
        return _PICO_ENGINES[language].speak(text), 16000


LIBRIVOX = "usr/share/pocketsphinx/test/data/librivox"


def librivox() -> list[tuple[str, np.ndarray, int, str]]:
    """(name, audio, rate, transcript) of the 5 LibriVox sentences in pocketsphinx-testdata."""
    root = unpacked("pocketsphinx-testdata", ("pocketsphinx-testdata",), f"{LIBRIVOX}/transcription")
    out = []
    for line in (root / LIBRIVOX / "transcription").read_text(encoding="utf-8").splitlines():
        match = re.match(r"\s*<s>(.*)</s>\s*\((.+)\)", line)
        if match:
            audio, rate = _read_wav(root / LIBRIVOX / f"{match.group(2).strip()}.wav")
            out.append((match.group(2).strip(), audio, rate, " ".join(match.group(1).split())))
    return out
