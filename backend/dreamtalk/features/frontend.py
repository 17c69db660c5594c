"""`FrontEnd`: a named, versioned feature extractor (audio, rate, fps, num_frames) -> `(T, D)` float32.

Every front end has a `name` and a `version`; both are recorded with each dataset and checkpoint (as
the tag `name-version`) so a model is never fed features from a different front end than it was
trained on. Which front ends exist, and which is the default, is `registry.py`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class FrontEnd:
    """A named, versioned feature extractor."""

    name: str  # registry name, e.g. "logmel"
    version: str  # bump whenever the features change
    dim: int  # feature width D
    extract: Callable[[np.ndarray, int, float, int], np.ndarray]  # (audio, rate, fps, T) -> (T, D)

    def describe(self) -> dict:
        """What a dataset or checkpoint records about its features."""
        return {"name": self.name, "version": self.version, "dim": self.dim, "tag": self.tag}

    @property
    def tag(self) -> str:
        """`name-version`: the cache folder name and the value recorded in checkpoints."""
        return f"{self.name}-{self.version}"

    def __call__(self, audio: np.ndarray, sample_rate: int, fps: float, num_frames: int) -> np.ndarray:
        features = self.extract(audio, sample_rate, fps, num_frames)
        if features.shape != (num_frames, self.dim):
            raise RuntimeError(f"{self.tag} returned {features.shape}, expected {(num_frames, self.dim)}")
        return features.astype(np.float32)
