"""Connected English sentences for speech synthesis (issue 18): the sentences of Debian's fortune cookies.

The corpus's first text source (`texts.random_sentence`) is random common words: broad phoneme coverage,
but no connected speech. Read sentences are spoken faster and more coarticulated, and on them the
articulation detector closed fewer p/b/m (docs/EVAL.md, "Read sentences"). This source gives real sentences:
quotations, proverbs and jokes from Debian's `fortunes-min` + `fortunes` (main, free), unpacked into
the cache without root (`align.debian.unpacked`).

Kept: single sentences of 5-18 words, letters, apostrophes and commas only, every word in the CMU
dictionary that the forced aligner uses (so every sentence can be aligned and labelled). A fixed tenth
of them (by a hash of the text) is the development pool, never spoken in training shards.
"""

from __future__ import annotations

import re
import zlib
from functools import lru_cache
from pathlib import Path

import numpy as np

from ..core.errors import InputError

PACKAGES = ("fortunes-min", "fortunes")
FOLDER = "usr/share/games/fortunes"
SKIPPED_FILES = frozenset({"art", "ascii-art"})  # pictures, not sentences
MIN_WORDS, MAX_WORDS = 5, 18
DEV_SHARE = 10  # one sentence in DEV_SHARE (by hash) is the development pool
_SENTENCE = re.compile(r"[A-Z][A-Za-z' ,]+[a-z][.!?]")
_WORD = re.compile(r"[a-z']+")
_ABBREVIATIONS = ("Mr", "Mrs", "Ms", "Dr", "St", "Jr", "Sr", "vs", "Mt", "Prof")
_BOUNDARY = re.compile("".join(rf"(?<!\b{a}\.)" for a in _ABBREVIATIONS) + r"(?<=[.!?])\s+")


def fortune_folder() -> Path:
    """The unpacked fortune files (downloaded once into the cache)."""
    from ..align.debian import unpacked

    return unpacked("fortunes", PACKAGES, f"{FOLDER}/fortunes") / FOLDER


def split_sentences(cookie: str) -> list[str]:
    """The sentences of one fortune cookie, attributions ('-- Someone') left out, quotes removed."""
    body = " ".join(line.strip() for line in cookie.splitlines()
                    if line.strip() and not line.strip().startswith("--")).replace('"', "")
    return [s.strip() for s in _BOUNDARY.split(body)]


def words_of(sentence: str) -> list[str]:
    """The sentence's words, lower case, as the dictionary spells them."""
    return _WORD.findall(sentence.lower())


def speakable(sentence: str, dictionary) -> bool:
    """A plain sentence of MIN_WORDS..MAX_WORDS words that all have a pronunciation in `dictionary`."""
    if not _SENTENCE.fullmatch(sentence):
        return False
    words = words_of(sentence)
    return MIN_WORDS <= len(words) <= MAX_WORDS and all(w in dictionary for w in words)


def sentences_in(folder: Path, dictionary) -> tuple[str, ...]:
    """Every speakable sentence of the fortune files in `folder`, each once, in file order."""
    seen: dict[str, None] = {}
    for path in sorted(folder.iterdir()):
        if path.suffix or path.name in SKIPPED_FILES or not path.is_file():
            continue
        for cookie in path.read_text(encoding="latin-1").split("\n%\n"):
            for sentence in split_sentences(cookie):
                if speakable(sentence, dictionary):
                    seen.setdefault(sentence, None)
    return tuple(seen)


def is_dev(sentence: str) -> bool:
    return zlib.crc32(sentence.encode("utf-8")) % DEV_SHARE == 0


@lru_cache(maxsize=1)
def all_sentences() -> tuple[str, ...]:
    """Every speakable fortune sentence (the files are read once per process)."""
    from ..align.metrics import cmu_dictionary

    return sentences_in(fortune_folder(), cmu_dictionary())


@lru_cache(maxsize=2)
def pool(part: str = "train") -> tuple[str, ...]:
    """The training ('train') or development ('dev') sentences."""
    if part not in ("train", "dev"):
        raise InputError(f"unknown prose pool {part!r}: train or dev")
    return tuple(s for s in all_sentences() if is_dev(s) == (part == "dev"))


def prose_sentence(rng: np.random.Generator, part: str = "train") -> str:
    """One sentence of the pool, drawn with `rng`."""
    sentences = pool(part)
    return sentences[int(rng.integers(len(sentences)))]
