"""Front-end registry: a front end maps (audio, rate, fps, num_frames) -> `(T, D)` float32 features.

Every front end has a `name` and a `version`; both are recorded with each dataset and checkpoint (as
the tag `name-version`) so a model is never fed features from a different front end than it was
trained on. This module is the one place that names the default front end (`DEFAULT`, `default_tag`).
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


def _logmel() -> FrontEnd:
    from . import logmel

    return FrontEnd("logmel", logmel.VERSION, logmel.DIM, logmel.features)


def _whisper() -> FrontEnd:
    from . import whisper

    return whisper.frontend()


_FACTORIES: dict[str, Callable[[], FrontEnd]] = {"logmel": _logmel, "whisper": _whisper}
DEFAULT = "whisper"  # chosen by the synthesized -> real transfer comparison (docs/EVAL.md)
FALLBACK = "logmel"  # used where the whisper extra is not installed
SAMPLE_RATE = 16000  # Hz: the learned engines resample audio to this rate before extracting features


def default_name() -> str:
    """DEFAULT when its extra is installed, else FALLBACK (checkpoints record which one they used)."""
    import importlib.util

    return DEFAULT if importlib.util.find_spec("faster_whisper") is not None else FALLBACK


def default_tag() -> str:
    """The tag (`name-version`) of the default front end: what training uses unless told otherwise."""
    return get_frontend(default_name()).tag


def available() -> list[str]:
    return list(_FACTORIES)


def get_frontend(name: str) -> FrontEnd:
    """The front end called `name` (raises InputError for an unknown name or a missing extra)."""
    if name not in _FACTORIES:
        raise InputError(f"unknown audio front end {name!r}; choose one of {', '.join(_FACTORIES)}")
    return _FACTORIES[name]()


def by_tag(tag: str) -> FrontEnd:
    """The front end with this `name-version` tag (a checkpoint's record); a one-line error when this
    build's version of that front end differs."""
    fe = get_frontend(tag.partition("-")[0])  # name-version; versions may hold dashes (base-ct2-1)
    if fe.tag != tag:
        raise InputError(f"this model needs audio features {tag!r}; this build provides {fe.tag!r} (retrain)")
    return fe
