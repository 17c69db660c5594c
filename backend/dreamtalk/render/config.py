"""`RenderConfig`: every setting of the geometric photoreal renderer in one place."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from ..core.errors import InputError


@dataclass(frozen=True)
class RenderConfig:
    """Framing, face analysis limits, warp, mouth/eye layers and video encoding of `dreamtalk render`."""

    # framing
    framing: Literal["crop", "full"] = "crop"  # square crop around the head, or the whole image
    size: int = 512  # output side in pixels (crop framing)
    crop_scale: float = 2.6  # crop side as a multiple of the face height (forehead to chin)
    crop_lift: float = 0.12  # crop centre above the face centre, in face heights (room for hair)
    # face analysis
    face: Literal["single", "largest"] = "single"  # refuse several faces, or animate the largest
    min_eye_distance: float = 24.0  # pixels between the eye centres in the source image, at least
    detection_confidence: float = 0.5  # face detector score that counts as a face
    # warp
    interpolation: Literal["linear", "cubic", "lanczos"] = "lanczos"  # image resampling (lanczos keeps skin detail)
    field_step: int = 4  # the smooth outer motion field is computed every this many pixels
    neck_falloff: float = 0.15  # head motion fades to none over this many face heights below the jaw line
    jaw_falloff: float = 0.2  # expression motion at the face outline fades over this many face heights
    plate_levels: int = 7  # pyramid levels of the push-pull fill that paints the background behind the person
    # mouth and eyes
    seal_gain: float = 4.0  # lip-sealing keys x this close a portrait's own open mouth (1 = fully)
    mouth_softness: float = 0.8  # anti-aliasing blur of the mouth-interior edge, pixels
    # video
    crf: int = 18  # H.264 constant rate factor (lower = better, bigger)
    preset: Literal["ultrafast", "veryfast", "faster", "fast", "medium", "slow"] = "veryfast"  # x264 speed
    audio_bitrate: int = 128_000  # AAC bits per second
    # neural renderer (part 2, render/neural/)
    checkpoint: str | None = None  # its trained weights (None: $DREAMTALK_RENDERER_CHECKPOINT)
    device: str = "auto"  # where it runs: auto (CUDA when torch sees a GPU), cpu, cuda or cuda:N

    def __post_init__(self) -> None:
        if not 64 <= self.size <= 4096:
            raise InputError(f"--size must be between 64 and 4096 pixels, got {self.size}")
        if self.field_step < 1:
            raise InputError("field_step must be at least 1")


DEFAULT_CONFIG = RenderConfig()  # frozen, so safe to share as a default argument
