"""`FrontEnd`: a named, versioned feature extractor (audio, rate, fps, num_frames) -> `(T, D)` float32.

Every front end has a `name` and a `version`; both are recorded with each dataset and checkpoint (as
the tag `name-version`) so a model is never fed features from a different front end than it was
trained on. Which front ends exist, and which is the default, is `registry.py`. Several front ends read
side by side (`side_by_side`) are one front end whose tag is their tags joined by `SEPARATOR`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

SEPARATOR = ","  # joins the tags of front ends read side by side: "whisper-base-2,logmel-1"


@dataclass(frozen=True)
class FrontEnd:
    """A named, versioned feature extractor."""

    name: str  # registry name, e.g. "logmel"
    version: str  # bump whenever the features change
    dim: int  # feature width D
    extract: Callable[[np.ndarray, int, float, int], np.ndarray]  # (audio, rate, fps, T) -> (T, D)
    parts: tuple[str, ...] = ()  # the tags of the front ends read side by side (empty: a single front end)

    def describe(self) -> dict:
        """What a dataset or checkpoint records about its features."""
        return {"name": self.name, "version": self.version, "dim": self.dim, "tag": self.tag}

    @property
    def tag(self) -> str:
        """`name-version` (side by side: the parts' tags joined by SEPARATOR): the cache folder name and the
        value recorded in checkpoints."""
        return SEPARATOR.join(self.parts) if self.parts else f"{self.name}-{self.version}"

    def __call__(self, audio: np.ndarray, sample_rate: int, fps: float, num_frames: int) -> np.ndarray:
        features = self.extract(audio, sample_rate, fps, num_frames)
        if features.shape != (num_frames, self.dim):
            raise RuntimeError(f"{self.tag} returned {features.shape}, expected {(num_frames, self.dim)}")
        return features.astype(np.float32)


def part_tags(tag: str) -> list[str]:
    """The tags of the front ends a (possibly side-by-side) tag reads."""
    return tag.split(SEPARATOR)


def side_by_side(fronts: list[FrontEnd]) -> FrontEnd:
    """One front end whose rows are the rows of `fronts` concatenated (features of each part first)."""

    def extract(audio: np.ndarray, sample_rate: int, fps: float, num_frames: int) -> np.ndarray:
        return np.concatenate([f(audio, sample_rate, fps, num_frames) for f in fronts], axis=1)

    return FrontEnd("+".join(f.name for f in fronts), "+".join(f.version for f in fronts),
                    sum(f.dim for f in fronts), extract, tuple(f.tag for f in fronts))
