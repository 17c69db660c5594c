"""`GenerateRequest`: everything a caller (CLI, server, Blender) can ask of an engine; `RenderRequest`:
what a renderer gets (a portrait, curves and optionally the audio).

Plain data so that the wire protocol can carry it field by field; arrays stay numpy.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields

import numpy as np

from .curves import Curves
from .errors import InputError

EMOTIONS: tuple[str, ...] = (
    "neutral", "angry", "disgusted", "contempt", "fear", "happy", "sad", "surprised",
)


DEFAULT_ENGINE = "emodiff"  # the shipped diffusion model + lip refiner; "procedural" is the rule engine

@dataclass
class EmotionKey:
    """From `time` seconds on, blend towards `emotion` at `intensity` (smooth transition)."""

    time: float  # seconds from the start of the audio
    emotion: str  # one of EMOTIONS or a preset name
    intensity: float = 1.0  # 0..1


@dataclass
class GenerateRequest:
    """Audio in, ARKit curves out. Options an engine does not support are ignored by it, not faked."""

    audio: np.ndarray  # (N,) float32 mono in [-1, 1]
    sample_rate: int  # Hz
    transcript: str | None = None  # optional text; enables forced alignment
    emotion: str = "neutral"  # one of EMOTIONS (or a preset name for learned engines)
    intensity: float = 0.6  # 0..1
    emotion_keys: list[EmotionKey] = field(default_factory=list)  # emotion over time; overrides emotion
    style_clip: Curves | None = None  # an emotion style clip (learned engines)
    locked: Curves | None = None  # frames to keep (learned engines); NaN-free, with locked_mask
    locked_mask: np.ndarray | None = None  # (T,) bool: which frames of `locked` are kept
    seed: int = 0  # random seed; take k uses seed + k
    takes: int = 1  # number of takes with consecutive seeds
    fps: float = 25.0  # output frame rate
    engine: str = DEFAULT_ENGINE  # engine name
    steps: int | None = None  # sampling steps (diffusion engines)
    guidance: float | None = None  # classifier-free guidance scale (diffusion engines)
    refine: bool = True  # lip refinement (diffusion engines); False returns EmoDiff's curves, see docs/lip.md

    def __post_init__(self) -> None:
        self.audio = np.ascontiguousarray(np.asarray(self.audio, np.float32).reshape(-1))
        if self.sample_rate <= 0:
            raise InputError(f"sample rate must be positive, got {self.sample_rate}")
        if not 0.0 <= float(self.intensity) <= 1.0:
            raise InputError(f"intensity must be within 0..1, got {self.intensity}")
        if not 1 <= int(self.takes) <= 16:
            raise InputError(f"takes must be between 1 and 16, got {self.takes}")
        self.emotion_keys = [k if isinstance(k, EmotionKey) else EmotionKey(**k) for k in self.emotion_keys]
        for key in self.emotion_keys:
            if not 0.0 <= float(key.intensity) <= 1.0:
                raise InputError(f"emotion key intensity must be within 0..1, got {key.intensity}")

    @property
    def duration(self) -> float:
        return len(self.audio) / self.sample_rate

    def options(self) -> dict:
        """The plain (JSON-able) options, without the arrays."""
        skip = {"audio", "style_clip", "locked", "locked_mask", "emotion_keys"}
        out = {f.name: getattr(self, f.name) for f in fields(self) if f.name not in skip}
        out["emotion_keys"] = [vars(k).copy() for k in self.emotion_keys]
        return out


@dataclass
class RenderRequest:
    """Portrait + curves (+ audio) in, an encoded video out. Options are the renderer's own (JSON)."""

    portrait: bytes  # PNG or JPEG bytes of the face to animate
    curves: Curves  # the animation
    audio: np.ndarray | None = None  # (N,) float32 mono in [-1, 1], muxed into the video when given
    sample_rate: int | None = None  # Hz of `audio`
    options: dict = field(default_factory=dict)  # renderer options (JSON-able)

    def __post_init__(self) -> None:
        if self.audio is not None:
            self.audio = np.ascontiguousarray(np.asarray(self.audio, np.float32).reshape(-1))
            if not self.sample_rate or self.sample_rate <= 0:
                raise InputError("render audio needs a positive sample rate")
