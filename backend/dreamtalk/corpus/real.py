"""Real transcribed speech in the corpus: Debian's asterisk-core-sounds-en prompts (one female speaker),
forced-aligned with pocketsphinx against their transcripts and labelled by the procedural engine.

All of it goes to split "real": it is never trained on by default, it measures transfer from synthesized
voices to a real one.
"""

from __future__ import annotations

import multiprocessing
from collections.abc import Callable
from pathlib import Path

import numpy as np

from . import store
from .labels import DEFAULT as DEFAULT_LABELS
from .labels import LabelConfig, make_labels

REAL_SHARD_SIZE = 40  # real utterances per shard

MIN_SECONDS, MAX_SECONDS = 0.8, 20.0  # prompts outside this range are skipped (beeps, long menus)


def real_item(name: str, audio: np.ndarray, rate: int, transcript: str,
              labels: LabelConfig = DEFAULT_LABELS) -> store.Item | None:
    """Align one prompt and label it (neutral); None when alignment finds no phones."""
    from ..align import phones_for

    audio = store.to_corpus_rate(audio, rate)
    phones = list(phones_for(audio, store.SAMPLE_RATE, transcript))
    if not any(p.phone != "SIL" for p in phones):
        return None
    label_seed = _stable_seed(name)
    curves = make_labels(audio, store.SAMPLE_RATE, phones, store.FPS, "neutral", 0.0, label_seed, labels)
    record = {
        "id": f"real-{name}", "source": "real", "speaker": "asterisk-en-f", "split": "real",
        "text": transcript, "emotion": "neutral", "level": 0, "intensity": 0.0, "label_seed": label_seed,
        "labels": store.LABELER, "phones": store.encode_phones(phones),
    }
    return store.Item(audio, curves, record)


def _stable_seed(name: str) -> int:
    import zlib

    return zlib.crc32(name.encode("utf-8")) & 0x7FFFFFFF


def _prompts(limit: int | None) -> list[tuple[str, np.ndarray, int, str]]:
    from ..align.real_speech import real_utterances

    chosen = []
    for name, audio, rate, transcript in real_utterances(limit=limit):
        if MIN_SECONDS <= len(audio) / rate <= MAX_SECONDS and transcript.strip():
            chosen.append((name.replace("/", "_"), audio, rate, transcript))
        if limit is not None and len(chosen) >= limit:
            break
    return sorted(chosen, key=lambda p: p[0])


def _real_shard(root: str, name: str, prompts: list, labels: LabelConfig = DEFAULT_LABELS) -> int:
    if name in store.shard_names(Path(root)):
        return len(store.read_records(Path(root), name))
    items = [item for item in (real_item(*p, labels) for p in prompts) if item is not None]
    if items:
        store.write_shard(Path(root), name, items)
    return len(items)


def build_real(root: Path, cfg, progress: Callable[[str, float], None]) -> int:
    """Add the real prompts as `real-XXXXX` shards (resumable); return how many utterances there are."""

    try:
        prompts = _prompts(cfg.real_limit)
    except (ImportError, FileNotFoundError, OSError) as exc:
        progress(f"real speech unavailable: {exc}", 1.0)
        return 0
    groups = [prompts[i: i + REAL_SHARD_SIZE] for i in range(0, len(prompts), REAL_SHARD_SIZE)]
    args = [(str(root), f"real-{k:05d}", group, cfg.labels) for k, group in enumerate(groups)]
    if cfg.workers > 1 and len(args) > 1:
        with multiprocessing.get_context("spawn").Pool(cfg.workers) as pool:
            counts = pool.starmap(_real_shard, args)
    else:
        counts = [_real_shard(*a) for a in args]
    progress("real", 1.0)
    return sum(counts)
