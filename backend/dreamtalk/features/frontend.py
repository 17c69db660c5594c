"""Front-end registry: a front end maps (audio, rate, fps, num_frames) -> `(T, D)` float32 features.

Every front end has a `name` and a `version`; both are recorded with each dataset and checkpoint so a
model is never fed features from a different front end than it was trained on.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from ..core.errors import InputError


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


def _logmel(version: str | None = None) -> FrontEnd:
    from . import logmel

    return FrontEnd("logmel", logmel.VERSION, logmel.DIM, logmel.features)


def _whisper(version: str | None = None) -> FrontEnd:
    from . import whisper

    return whisper.frontend(version)


_FACTORIES: dict[str, Callable[[str | None], FrontEnd]] = {"logmel": _logmel, "whisper": _whisper}
DEFAULT = "whisper"  # chosen by the synthesized -> real transfer comparison (docs/EVAL.md)
FALLBACK = "logmel"  # used where the whisper extra is not installed


def default_name() -> str:
    """DEFAULT when its extra is installed, else FALLBACK (checkpoints record which one they used)."""
    import importlib.util

    return DEFAULT if importlib.util.find_spec("faster_whisper") is not None else FALLBACK


def available() -> list[str]:
    return list(_FACTORIES)


def get_frontend(name: str, version: str | None = None) -> FrontEnd:
    """The front end called `name`, at `version` when the front end has several (else its default);
    raises InputError for an unknown name or version or a missing extra."""
    if name not in _FACTORIES:
        raise InputError(f"unknown audio front end {name!r}; choose one of {', '.join(_FACTORIES)}")
    return _FACTORIES[name](version)
