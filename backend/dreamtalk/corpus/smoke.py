"""A SMOKE corpus: the procedural engine animating synthetic buzz 'speech' with hand-made phones.

This exists to exercise training end to end before the real corpus (issue 3) lands. A model trained
on it can at best imitate the procedural teacher on buzz audio; it is NOT the shipped model.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..core.request import EMOTIONS, EmotionKey
from .synthetic import buzz_utterance


def write_smoke_corpus(folder: str | Path, clips: int = 16, words: int = 30, seed: int = 0) -> list[Path]:
    """`clips` .npz clips cycling through the 8 emotions (intensity 0.6..1.0, varied voice pitch)."""
    from ..procedural.engine import animate

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    paths = []
    for i in range(clips):
        emotion = EMOTIONS[i % len(EMOTIONS)]
        audio, rate, phones = buzz_utterance(words, seed * 1000 + i, f0=float(rng.uniform(95, 220)))
        keys = [EmotionKey(0.0, emotion, float(rng.uniform(0.6, 1.0)))]
        curves = animate(audio, rate, phones, 25.0, keys, seed=seed * 1000 + i)
        path = folder / f"smoke_{i:03d}_{emotion}.npz"
        np.savez(path, audio=audio, sample_rate=rate, values=curves.values, head_pose=curves.head_pose,
                 fps=25.0, emotion=emotion, phones=np.array([p.phone for p in phones]),
                 starts=np.array([p.start for p in phones]), ends=np.array([p.end for p in phones]))
        paths.append(path)
    return paths
