"""Real human speech with transcripts: Debian's asterisk-core-sounds-en (one female voice, CC-BY-SA-3.0).

Fetched without root: `apt-get download` of `asterisk-core-sounds-en-wav` (8 kHz wav) and
`asterisk-core-sounds-en` (the transcripts, `core-sounds-en.txt.gz`, lines `name: text`), unpacked with
`dpkg-deb -x` into a cache folder ($DREAMTALK_CACHE or ~/.cache/dreamtalk). Used for evaluation only:
no rule or model is tuned on it.
"""

from __future__ import annotations

import gzip
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from ..core.audio import SILENCE_PEAK
from ..core.errors import DreamTalkError
from .debian import cache_dir, download_unpacked

PACKAGES = ("asterisk-core-sounds-en-wav", "asterisk-core-sounds-en")
TRANSCRIPTS = "usr/share/doc/asterisk-core-sounds-en/core-sounds-en.txt.gz"
SOUNDS = "usr/share/asterisk/sounds/en_US_f_Allison"
MIN_WORDS = 3  # utterances shorter than this (single words, digits) are skipped


def fetch(root: Path | None = None) -> Path:
    """Download and unpack the two Debian packages once; returns the unpacked root."""
    root = root or cache_dir() / "asterisk-core-sounds-en"
    if _complete(root):
        return root
    if shutil.which("apt-get") is None or shutil.which("dpkg-deb") is None:
        raise DreamTalkError("real speech needs apt-get and dpkg-deb (Debian/Ubuntu) to fetch asterisk-core-sounds-en")
    root.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=root.parent) as tmp:
        staging = download_unpacked(Path(tmp), PACKAGES)
        if not _complete(staging):
            raise DreamTalkError("the asterisk-core-sounds-en packages lack the expected sounds or transcripts")
        if root.exists() and not _complete(root):
            shutil.rmtree(root)  # a half-written earlier attempt
        try:
            os.replace(staging, root)
        except OSError:
            if not _complete(root):  # another process finished first: keep its copy
                raise
    return root


def _complete(root: Path) -> bool:
    return (root / TRANSCRIPTS).exists() and (root / SOUNDS).is_dir()


def transcripts(root: Path) -> dict[str, str]:
    """name -> text for every spoken prompt (bracketed tone descriptions skipped)."""
    out = {}
    with gzip.open(root / TRANSCRIPTS, "rt", encoding="utf-8", errors="replace") as handle:
        for line in handle:
            name, sep, text = line.partition(":")
            if sep and not line.startswith(";") and "[" not in text and text.strip():
                out[name.strip()] = " ".join(text.split())
    return out


def real_utterances(limit: int | None = None, min_words: int = MIN_WORDS) -> Iterator[tuple[str, np.ndarray, int, str]]:
    """(name, audio float32 mono, sample rate, transcript), sorted by name, sentences only."""
    import soundfile

    root = fetch()
    count = 0
    for name, text in sorted(transcripts(root).items()):
        wav = root / SOUNDS / f"{name}.wav"
        if len(text.split()) < min_words or not wav.exists():
            continue
        audio, rate = soundfile.read(str(wav), dtype="float32", always_2d=True)
        if np.abs(audio).max() < SILENCE_PEAK:  # a few prompts ship as empty placeholders
            continue
        yield name, audio.mean(axis=1), rate, text
        count += 1
        if limit is not None and count >= limit:
            return
