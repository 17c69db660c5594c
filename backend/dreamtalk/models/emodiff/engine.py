"""`--engine emodiff`: the `dreamtalk.engines` adapter (request in, one `Curves` per take out).

The checkpoint comes from $DREAMTALK_EMODIFF_CHECKPOINT, else `DEFAULT_CHECKPOINT`; without one the
engine stops with a one-line error before any work. Emotion specs: a preset name ("happy") or a mix
("happy:0.7+surprised:0.3"); `style_clip` overrides the preset; `emotion_keys` give emotion over time.
"""

from __future__ import annotations

import hashlib
import os
import threading
from functools import lru_cache
from pathlib import Path

import numpy as np

from ...core.audio import prepare_audio
from ...core.curves import Curves
from ...core.errors import InputError
from ...core.locking import check_mask, resample_locked
from ...core.request import GenerateRequest
from .conditions import StyleKey, fit_style, mix_styles, window_styles
from .config import SamplerConfig
from .data import PRESET_FOLDER
from .features import SAMPLE_RATE, front_end
from .generate import ease_into_locked, generate, neutral_style, preset_style
from .model import EmoDiff, load

ENV_VAR = "DREAMTALK_EMODIFF_CHECKPOINT"
DEFAULT_CHECKPOINT = Path(__file__).resolve().parent / "weights" / "emodiff.pt"


def checkpoint_path() -> Path:
    return Path(os.environ.get(ENV_VAR) or DEFAULT_CHECKPOINT)


@lru_cache(maxsize=2)
def _load(path: str, mtime: float) -> EmoDiff:
    return load(path)


def installed_model() -> EmoDiff:
    """The configured checkpoint, loaded once (reloaded when the file changes)."""
    path = checkpoint_path()
    if not path.is_file():
        raise InputError(
            f"no EmoDiff checkpoint installed (looked for {path}); train one with "
            f"`dreamtalk train emodiff --corpus DIR` and set {ENV_VAR}, or use --engine procedural"
        )
    return _load(str(path), path.stat().st_mtime)


def curves_to_x(curves: Curves, fps: float) -> np.ndarray:
    """`(T, 55)` raw x from curves, resampled to the model's frame rate."""
    c = curves.resample(fps)
    return np.concatenate([c.values, c.head_pose], axis=1).astype(np.float32)


def named_style(model: EmoDiff, name: str) -> np.ndarray:
    """`(K, P)` normalised style of a checkpoint preset, else of `presets/emotions/NAME.json`."""
    path = PRESET_FOLDER / f"{name}.json"
    if name in model.presets or not path.is_file():
        return preset_style(model, name)
    from ...corpus.presets import read_preset

    return fit_style(model.normalize(curves_to_x(read_preset(path).curves, model.cfg.fps)), model.cfg.style_frames)


def emotion_style(model: EmoDiff, spec: str) -> np.ndarray:
    """`(K, P)` normalised style for 'name' or 'name:weight+name:weight' (a mix of presets)."""
    parts = []
    for item in spec.split("+"):
        name, _, weight = item.strip().partition(":")
        try:
            parts.append((named_style(model, name.strip()), float(weight) if weight else 1.0))
        except ValueError:
            raise InputError(f"bad emotion mix {spec!r}; write e.g. happy:0.7+surprised:0.3") from None
    return mix_styles(parts) if len(parts) > 1 else parts[0][0]


def style_keys(model: EmoDiff, request: GenerateRequest) -> list[StyleKey]:
    """Emotion keys -> style keys (style clip, presets or mixes; each at its intensity)."""
    if request.style_clip is not None:
        clip = fit_style(model.normalize(curves_to_x(request.style_clip, model.cfg.fps)), model.cfg.style_frames)
        return [StyleKey(0.0, clip, float(request.intensity))]
    if request.emotion_keys:
        return [StyleKey(k.time, emotion_style(model, k.emotion), float(k.intensity)) for k in request.emotion_keys]
    return [StyleKey(0.0, emotion_style(model, request.emotion), float(request.intensity))]


def _locked(model: EmoDiff, request: GenerateRequest, frames: int):
    if request.locked is None or request.locked_mask is None:
        return None, None
    locked, mask = resample_locked(request.locked, check_mask(request.locked, request.locked_mask), model.cfg.fps,
                                   frames)  # any rate in, the model's out (engines.generate brings it back)
    return curves_to_x(locked, model.cfg.fps), mask


def refine_takes(model: EmoDiff, request: GenerateRequest, keys: list[StyleKey], feats: np.ndarray,
                 audio: np.ndarray, rate: int, takes: np.ndarray, cfg: SamplerConfig, locked=None,
                 mask=None) -> np.ndarray:
    """The lip refiner over every take (when `request.refine` and a refiner is installed); locked frames
    stay as given and the refined mouth is eased onto them like EmoDiff's output."""
    from ..lip.engine import installed_refiner
    from ..lip.model import MOUTH_INDEX
    from ..lip.refine import refine, window_centres

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


_FEATURES: dict[tuple, np.ndarray] = {}  # the last few feature arrays (same audio, other emotion or seed)
_FEATURES_LOCK = threading.Lock()  # the server runs engines in threads
FEATURE_CACHE_SIZE = 4


def audio_features(tag: str, audio: np.ndarray, rate: int, fps: float, frames: int) -> np.ndarray:
    """Features of `audio`, reused when the same audio comes again (regenerating with other settings)."""
    key = (tag, hashlib.sha1(np.ascontiguousarray(audio).tobytes()).hexdigest(), rate, fps, frames)
    with _FEATURES_LOCK:
        cached = _FEATURES.get(key)
    if cached is not None:
        return cached
    feats = front_end(tag)(audio, rate, fps, frames)
    with _FEATURES_LOCK:
        while len(_FEATURES) >= FEATURE_CACHE_SIZE:
            _FEATURES.pop(next(iter(_FEATURES)))
        _FEATURES[key] = feats
    return feats


def run(request: GenerateRequest, progress) -> list[Curves]:
    """Engine entry point (see `dreamtalk.engines`)."""
    model = installed_model()
    keys = style_keys(model, request)  # validates presets before slow work
    audio, rate = prepare_audio(request.audio, request.sample_rate, SAMPLE_RATE)
    frames = max(1, int(round(len(audio) / rate * model.cfg.fps)))
    locked, mask = _locked(model, request, frames)
    progress("features", 0.0)
    feats = audio_features(model.front_end, audio, rate, model.cfg.fps, frames)
    defaults = SamplerConfig()
    cfg = SamplerConfig(steps=request.steps or defaults.steps,
                        guidance=defaults.guidance if request.guidance is None else float(request.guidance))
    out = generate(model, feats, cfg, keys, request.takes, request.seed, locked=locked, locked_mask=mask,
                   callback=lambda i, n: progress("sample", i / n))
    out = refine_takes(model, request, keys, feats, audio, rate, out, cfg, locked, mask)
    takes = []
    for x in out:
        curves = Curves(model.cfg.fps, np.clip(x[:, :52], 0.0, 1.0), x[:, 52:])
        takes.append(curves.resample(request.fps))
    return takes
