"""Measuring phone timings: Levenshtein phone error rate, boundary error of matched phones, CMU lexicon.

Used by the tests and bench/measure_alignment.py to compare alignment or recognition with espeak's exact
timings and espeak's pronunciations with the CMU dictionary that ships with pocketsphinx.
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from functools import lru_cache

import numpy as np

from .phones import SILENCE, PhoneSegment


def edit_alignment(truth: Sequence[str], hyp: Sequence[str]) -> tuple[int, list[tuple[int, int]]]:
    """Levenshtein distance and the (truth index, hyp index) pairs of identical phones on one best path."""
    n, m = len(truth), len(hyp)
    cost = np.zeros((n + 1, m + 1), np.int32)
    cost[:, 0], cost[0, :] = np.arange(n + 1), np.arange(m + 1)
    for i in range(1, n + 1):
        for j in range(1, m + 1):
            cost[i, j] = min(cost[i - 1, j] + 1, cost[i, j - 1] + 1,
                             cost[i - 1, j - 1] + (truth[i - 1] != hyp[j - 1]))
    pairs, i, j = [], n, m
    while i > 0 and j > 0:
        same = truth[i - 1] == hyp[j - 1]
        if cost[i, j] == cost[i - 1, j - 1] + (not same):
            if same:
                pairs.append((i - 1, j - 1))
            i, j = i - 1, j - 1
        elif cost[i, j] == cost[i - 1, j] + 1:
            i -= 1
        else:
            j -= 1
    return int(cost[n, m]), pairs[::-1]


def phone_error_rate(truth: Sequence[str], hyp: Sequence[str]) -> float:
    """(substitutions + deletions + insertions) / len(truth); SIL is ignored on both sides."""
    t = [p for p in truth if p != SILENCE]
    h = [p for p in hyp if p != SILENCE]
    return edit_alignment(t, h)[0] / max(len(t), 1)


def boundary_errors(truth: list[PhoneSegment], got: list[PhoneSegment]) -> np.ndarray:
    """|start difference| in seconds of the phones that the best edit path matches as identical."""
    t = [p for p in truth if p.phone != SILENCE]
    g = [p for p in got if p.phone != SILENCE]
    _, pairs = edit_alignment([p.phone for p in t], [p.phone for p in g])
    return np.array([abs(t[i].start - g[j].start) for i, j in pairs], dtype=np.float64)


@lru_cache(maxsize=1)
def cmu_dictionary() -> dict[str, tuple[tuple[str, ...], ...]]:
    """word -> its pronunciations in the CMU dictionary shipped with pocketsphinx (stress digits removed)."""
    from pocketsphinx import get_model_path

    path = os.path.join(get_model_path(), "en-us", "cmudict-en-us.dict")
    out: dict[str, list[tuple[str, ...]]] = {}
    with open(path, encoding="utf-8") as handle:
        for line in handle:
            word, *phones = line.split()
            out.setdefault(re.sub(r"\(\d+\)$", "", word), []).append(tuple(p.rstrip("012") for p in phones))
    return {word: tuple(prons) for word, prons in out.items()}
