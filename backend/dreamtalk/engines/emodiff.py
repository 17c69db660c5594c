"""`--engine emodiff`, the default pipeline: EmoDiff, then lip refinement (DREAM-Talk's two stages).

    request -> styles (`styles`) -> audio features (`feature_cache`) -> EmoDiff takes (raw x)
            -> lip refiner over the MOUTH group (when `request.refine` and a refiner is installed)
            -> blink events over the eyelids (models trained on blink-free labels: `blinks`)
            -> curves at the request's fps

Which checkpoints run is decided in `installed` (environment variables, else the shipped files).
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from ..core.audio import prepare_audio
from ..core.curves import Curves
from ..core.locking import check_mask, ease_into_locked, resample_locked
from ..core.request import GenerateRequest
from ..features import SAMPLE_RATE
from ..models.emodiff.conditions import StyleKey, window_styles
from ..models.emodiff.config import SamplerConfig
from ..models.emodiff.generate import generate, neutral_style
from ..models.emodiff.model import EmoDiff
from ..models.pose import curves_to_x
from .blinks import add_blinks
from .feature_cache import audio_features
from .installed import installed_emodiff, installed_refiner
from .styles import style_keys


def locked_frames(model: EmoDiff, request: GenerateRequest, frames: int):
    """Raw locked frames `(T, P)` and mask `(T,)` of the request, or (None, None)."""
    if request.locked is None or request.locked_mask is None:
        return None, None
    locked, mask = resample_locked(request.locked, check_mask(request.locked, request.locked_mask), model.cfg.fps,
                                   frames)  # any rate in, the model's out (engines.generate brings it back)
    return curves_to_x(locked, model.cfg.fps), mask


def sampler_settings(model: EmoDiff, request: GenerateRequest) -> SamplerConfig:
    """The checkpoint's tuned sampler settings, with the request's steps and guidance when it sets them."""
    tuned = model.sampler
    return replace(tuned, steps=request.steps or tuned.steps,
                   guidance=tuned.guidance if request.guidance is None else float(request.guidance))


def refine_takes(model: EmoDiff, request: GenerateRequest, keys: list[StyleKey], feats: np.ndarray,
                 audio: np.ndarray, rate: int, takes: np.ndarray, cfg: SamplerConfig, locked=None,
                 mask=None) -> np.ndarray:
    """The lip refiner over every take (when `request.refine` and a refiner is installed); locked frames
    stay as given and the refined mouth is eased onto them like EmoDiff's output."""
    from ..models.lip.model import MOUTH_INDEX
    from ..models.lip.refine import refine, window_centres

    lip = installed_refiner() if request.refine else None
    if lip is None:
        return takes
    if lip.front_end != model.front_end:
        feats = audio_features(lip.front_end, audio, rate, lip.cfg.fps, takes.shape[1])
    z_styles = window_styles(keys, window_centres(lip, takes.shape[1]), neutral_style(model), cfg.transition)
    styles = model.denormalize(z_styles)
    refined = np.stack([refine(lip, feats, x, styles) for x in takes])
    if locked is None:
        return refined
    eased = ease_into_locked(np.where(mask[None, :, None], locked[None], refined), mask, cfg.lock_ease)
    refined[..., MOUTH_INDEX] = eased[..., MOUTH_INDEX]  # the rest is EmoDiff's, already eased
    return refined


def run(request: GenerateRequest, progress) -> list[Curves]:
    """Engine entry point (see `dreamtalk.engines`)."""
    model = installed_emodiff()
    keys = style_keys(model, request)  # validates presets before slow work
    audio, rate = prepare_audio(request.audio, request.sample_rate, SAMPLE_RATE)
    frames = max(1, int(round(len(audio) / rate * model.cfg.fps)))
    locked, mask = locked_frames(model, request, frames)
    progress("features", 0.0)
    feats = audio_features(model.front_end, audio, rate, model.cfg.fps, frames)
    cfg = sampler_settings(model, request)
    out = generate(model, feats, cfg, keys, request.takes, request.seed, locked=locked, locked_mask=mask,
                   callback=lambda i, n: progress("sample", i / n))
    out = refine_takes(model, request, keys, feats, audio, rate, out, cfg, locked, mask)
    if model.sampler.blinks == "events":
        out = add_blinks(out, request, model.cfg.fps, mask)
    takes = []
    for x in out:
        curves = Curves(model.cfg.fps, np.clip(x[:, :52], 0.0, 1.0), x[:, 52:])
        takes.append(curves.resample(request.fps))
    return takes
