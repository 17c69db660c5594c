"""`GenerateRequest`: everything a caller (CLI, server, Blender) can ask of an engine; `RenderRequest`:
what a renderer gets (a portrait, curves and optionally the audio).

Plain data so that the wire protocol can carry it field by field; arrays stay numpy.
"""

from __future__ import annotations

import math
import numbers
import re
from dataclasses import dataclass, field, fields

import numpy as np

from .curves import Curves
from .errors import InputError

EMOTIONS: tuple[str, ...] = (
    "neutral", "angry", "disgusted", "contempt", "fear", "happy", "sad", "surprised",
)


DEFAULT_ENGINE = "emodiff"  # the shipped diffusion model + lip refiner; "procedural" is the rule engine
PRESET_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,63}")  # a preset is named, never a path
MAX_EMOTION_SPEC = 400  # characters in an emotion spec ("happy:0.7+surprised:0.3")
MAX_SEED = 2**32 - 1  # seeds are 0..MAX_SEED (take k uses seed + k)
MAX_STEPS = 1000  # sampling steps a request may ask for
MAX_FPS = 240.0  # highest output frame rate a request may ask for


def check_emotion_spec(spec: object) -> str:
    """`spec` if it is a preset name or a mix `name:weight+name:weight`; InputError otherwise.

    Names are letters, digits, '-' and '_' (no dots or slashes): an emotion names a preset of the
    engine or of the preset folder, never a file, so no spelling can reach another file."""
    ok = isinstance(spec, str) and 0 < len(spec) <= MAX_EMOTION_SPEC
    for item in spec.split("+") if ok else ():
        name, colon, weight = item.strip().partition(":")
        ok = ok and PRESET_NAME.fullmatch(name.strip()) is not None and (not colon or _is_weight(weight))
    if not ok:
        shown = repr(spec[:40]) + ("..." if len(spec) > 40 else "") if isinstance(spec, str) else type(spec).__name__
        raise InputError(f"emotion {shown} is not a preset name (letters, digits, '-', '_') or a mix such as "
                         "happy:0.7+surprised:0.3")
    return spec


def _is_weight(text: str) -> bool:
    try:
        return math.isfinite(float(text))
    except ValueError:
        return False


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
    precise: bool = False  # EmoDiff: lips on forced-aligned phones without a transcript too (Whisper transcribes
    # the speech first; slower). A transcript always does it. See docs/lip.md, "Precise mode"

    def __post_init__(self) -> None:
        self.audio = np.ascontiguousarray(np.asarray(self.audio, np.float32).reshape(-1))
        if self.sample_rate <= 0:
            raise InputError(f"sample rate must be positive, got {self.sample_rate}")
        self.emotion_keys = [k if isinstance(k, EmotionKey) else EmotionKey(**k) for k in self.emotion_keys]
        check_options(self.options())

    @property
    def duration(self) -> float:
        return len(self.audio) / self.sample_rate

    def options(self) -> dict:
        """The plain (JSON-able) options, without the arrays."""
        skip = {"audio", "style_clip", "locked", "locked_mask", "emotion_keys"}
        out = {f.name: getattr(self, f.name) for f in fields(self) if f.name not in skip}
        out["emotion_keys"] = [vars(k).copy() for k in self.emotion_keys]
        return out


def check_options(options: dict) -> None:
    """Range checks of the plain `GenerateRequest` options (as `options()` gives them, any subset);
    InputError names the first bad one. Cheap: the server runs it before accepting a job."""
    checks = (
        ("intensity", lambda v: _real(v) and 0.0 <= v <= 1.0, "within 0..1"),
        ("takes", lambda v: _integer(v) and 1 <= v <= 16, "an integer between 1 and 16"),
        ("seed", lambda v: _integer(v) and 0 <= v <= MAX_SEED, f"an integer between 0 and {MAX_SEED}"),
        ("steps", lambda v: v is None or (_integer(v) and 1 <= v <= MAX_STEPS), f"an integer between 1 and {MAX_STEPS}"),
        ("fps", lambda v: _real(v) and 1.0 <= v <= MAX_FPS, f"between 1 and {MAX_FPS:g}"),
        ("guidance", lambda v: v is None or _real(v), "a finite number"),
        ("precise", lambda v: isinstance(v, bool), "true or false"),
    )
    for name, valid, rule in checks:
        if name in options and not valid(options[name]):
            raise InputError(f"{name} must be {rule}, got {str(options[name])[:40]}")
    if "emotion" in options:
        check_emotion_spec(options["emotion"])
    for key in options.get("emotion_keys", ()):
        key = vars(key) if isinstance(key, EmotionKey) else key
        intensity = key.get("intensity", 1.0)
        if not (_real(intensity) and 0.0 <= intensity <= 1.0):
            raise InputError(f"emotion key intensity must be within 0..1, got {str(intensity)[:40]}")
        check_emotion_spec(key.get("emotion"))


def _integer(value: object) -> bool:
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def _real(value: object) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool) and math.isfinite(value)


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
