"""Random English sentences for speech synthesis, drawn from a ~1000-word common-English list.

The word list is Faker's `en_US` lorem list (common words, MIT licence), so sentences are real words in
random order: broad phoneme coverage rather than a small fixed sentence set. Seeded and reproducible.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

# Words with phonemes the common list is short of (ZH, OY, TH/DH, NG, UH, AW), mixed in now and then.
RARE_PHONEME_WORDS = (
    "measure", "vision", "usual", "treasure", "boy", "voice", "choice", "enjoy", "noise", "think",
    "thank", "through", "bath", "mouth", "this", "those", "mother", "weather", "sing", "long",
    "young", "morning", "book", "good", "foot", "could", "cow", "now", "house", "loud", "azure",
)


@lru_cache(maxsize=1)
def word_list() -> tuple[str, ...]:
    from faker.providers.lorem.en_US import Provider

    return tuple(w for w in Provider.word_list if w.isalpha()) + RARE_PHONEME_WORDS


def random_sentence(rng: np.random.Generator, min_words: int = 4, max_words: int = 14) -> str:
    """One sentence of random common words, capitalised, with an occasional comma and a full stop."""
    words = word_list()
    count = int(rng.integers(min_words, max_words + 1))
    chosen = [words[i] for i in rng.integers(0, len(words), count)]
    if count > 7 and rng.random() < 0.5:
        chosen[int(rng.integers(2, count - 2))] += ","
    end = "?" if rng.random() < 0.15 else ("!" if rng.random() < 0.1 else ".")
    return (" ".join(chosen) + end).capitalize()


def random_sentences(rng: np.random.Generator, count: int) -> list[str]:
    return [random_sentence(rng) for _ in range(count)]
