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
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from ..core.audio import SILENCE_PEAK
from ..core.errors import DreamTalkError

PACKAGES = ("asterisk-core-sounds-en-wav", "asterisk-core-sounds-en")
TRANSCRIPTS = "usr/share/doc/asterisk-core-sounds-en/core-sounds-en.txt.gz"
SOUNDS = "usr/share/asterisk/sounds/en_US_f_Allison"
MIN_WORDS = 3  # utterances shorter than this (single words, digits) are skipped


def cache_dir() -> Path:
    return Path(os.environ.get("DREAMTALK_CACHE", Path.home() / ".cache" / "dreamtalk"))


def fetch(root: Path | None = None) -> Path:
    """Download and unpack the two Debian packages once; returns the unpacked root."""
    root = root or cache_dir() / "asterisk-core-sounds-en"
    if (root / TRANSCRIPTS).exists() and (root / SOUNDS).is_dir():
        return root
    if shutil.which("apt-get") is None or shutil.which("dpkg-deb") is None:
        raise DreamTalkError("real speech needs apt-get and dpkg-deb (Debian/Ubuntu) to fetch asterisk-core-sounds-en")
    with tempfile.TemporaryDirectory() as tmp:
        for attempt in range(2):
            result = subprocess.run(["apt-get", "download", *PACKAGES], cwd=tmp, capture_output=True, text=True)
            if result.returncode == 0:
                break
            if attempt == 0:
                subprocess.run(["apt-get", "update", "-qq"], capture_output=True, check=False)
        else:
            raise DreamTalkError(f"apt-get download {' '.join(PACKAGES)} failed: {result.stderr.strip()[-200:]}")
        staging = Path(tempfile.mkdtemp(dir=root.parent if root.parent.exists() else None))
        for deb in Path(tmp).glob("*.deb"):
            subprocess.run(["dpkg-deb", "-x", str(deb), str(staging)], check=True)
    root.parent.mkdir(parents=True, exist_ok=True)
    os.replace(staging, root) if not root.exists() else shutil.rmtree(staging)
    return root


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
