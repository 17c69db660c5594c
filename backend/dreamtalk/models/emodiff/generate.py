"""Sequence generation: audio features of any length -> K takes of x `(K, T, P)` (raw units).

Composition, outermost first: long-sequence strategy (`long.stitch_sample` or
`long.autoregressive_sample`) -> batching in chunks of `max_batch` windows -> classifier-free guidance
(`guidance.guided`) -> x0 conversion (`sampling.as_x0`) -> the denoiser.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import torch

from ...core.locking import ease_into_locked  # noqa: F401  (re-exported: the lip refiner and tests use it here)
from ..windows import window_starts
from .conditions import StyleKey, build_conditions, fit_style, window_styles
from .config import SamplerConfig
from .denoiser import Conditions
from .guidance import guided
from .long import autoregressive_sample, stitch_sample
from .model import EmoDiff
from .sampling import Denoise, as_x0, configure
from .scheduler import Scheduler


def neutral_style(model: EmoDiff) -> np.ndarray:
    """`(K, P)` normalised neutral style: the 'neutral' preset, else the data mean (zeros)."""
    if "neutral" in model.presets:
        return fit_style(model.normalize(model.presets["neutral"]), model.cfg.style_frames)
    return np.zeros((model.cfg.style_frames, model.cfg.pose_dim), np.float32)


def preset_style(model: EmoDiff, name: str) -> np.ndarray:
    """`(K, P)` normalised style of a named preset."""
    from ...core.errors import InputError

    if name not in model.presets:
        raise InputError(f"unknown emotion preset {name!r}; this model has {', '.join(sorted(model.presets))}")
    return fit_style(model.normalize(model.presets[name]), model.cfg.style_frames)


def chunked_denoiser(model: EmoDiff, scheduler: Scheduler, cond: Conditions, cfg: SamplerConfig) -> Denoise:
    """Denoise callable over rows aligned with `cond`, in chunks of `cfg.max_batch` rows."""
    def denoise(x: torch.Tensor, t: int) -> torch.Tensor:
        outs = []
        for lo in range(0, x.shape[0], cfg.max_batch):
            rows = slice(lo, lo + cfg.max_batch)
            fn = guided(model.denoiser, cond.index(rows), cfg.guidance, cfg.audio_guidance)
            outs.append(as_x0(fn, scheduler)(x[rows], t))
        return torch.cat(outs)

    return denoise


def initial_noise(takes: int, length: int, dim: int, seed: int) -> torch.Tensor:
    """`(K, T, P)`: take k's noise comes from seed + k (a take does not depend on how many were asked)."""
    return torch.stack([torch.randn(length, dim, generator=torch.Generator().manual_seed(seed + k))
                        for k in range(takes)])


def generate(
    model: EmoDiff,
    features: np.ndarray,
    cfg: SamplerConfig | None = None,
    style_keys: Sequence[StyleKey] | None = None,
    takes: int = 1,
    seed: int = 0,
    initial: np.ndarray | None = None,
    locked: np.ndarray | None = None,
    locked_mask: np.ndarray | None = None,
    callback: Callable[[int, int], None] | None = None,
) -> np.ndarray:
    """`features (T, F)` -> `(takes, T, P)` raw x. `locked (T, P)` raw frames kept where `locked_mask`.
    `cfg` defaults to the model's tuned sampler settings (`model.sampler`)."""
    cfg = cfg or model.sampler
    dcfg = model.cfg
    frames = len(features)
    length = max(frames, dcfg.window)
    starts = window_starts(length, dcfg.window, cfg.overlap if length > dcfg.window else 0)
    keys = list(style_keys) if style_keys else [StyleKey(0.0, neutral_style(model), 1.0)]
    centres = (np.asarray(starts) + dcfg.window / 2) / dcfg.fps
    styles = window_styles(keys, centres, neutral_style(model), cfg.transition)
    lock_z, mask = _locks(model, locked, locked_mask, frames, length, takes)
    if initial is None and mask is not None and bool(mask[0, 0]):  # a locked first frame is the initial state
        initial = locked[0]
    init_z = None if initial is None else model.normalize(initial)
    device = next(model.denoiser.parameters()).device
    cond = build_conditions(features, styles, init_z, starts, dcfg).to(device)
    if lock_z is not None:
        lock_z, mask = lock_z.to(device), mask.to(device)
    scheduler = Scheduler(model.diffusion)
    configure(scheduler, cfg)
    noise = initial_noise(takes, length, dcfg.pose_dim, seed).to(device)
    generator = torch.Generator().manual_seed(seed)
    model.denoiser.eval()
    with torch.inference_mode():
        if cfg.long_mode == "autoregressive" and len(starts) > 1:
            if cfg.overlap < 1:
                raise ValueError("autoregressive sampling needs an overlap of at least 1 frame")
            out = autoregressive_sample(lambda rows: chunked_denoiser(model, scheduler, rows, cfg), scheduler,
                                        noise, starts, cond, lock_z, mask, generator, callback)
        else:
            rows = cond.index(torch.arange(len(starts)).repeat(takes))
            out = stitch_sample(chunked_denoiser(model, scheduler, rows, cfg), scheduler, noise, starts,
                                dcfg.window, cfg.overlap, lock_z, mask, generator, callback)
    x = model.denormalize(out[:, :frames].cpu().numpy())
    return x if lock_z is None else ease_into_locked(x, locked_mask, cfg.lock_ease)


def _locks(model: EmoDiff, locked, locked_mask, frames: int, length: int, takes: int):
    """Normalised locked frames `(K, T', P)` and mask `(K, T')` padded to the sampled length."""
    if locked is None or locked_mask is None:
        return None, None
    locked = np.asarray(locked, np.float32)
    mask = np.asarray(locked_mask, bool)
    if locked.shape != (frames, model.cfg.pose_dim) or mask.shape != (frames,):
        raise ValueError(f"locked frames must be ({frames}, {model.cfg.pose_dim}) with a ({frames},) mask")
    z = np.zeros((length, model.cfg.pose_dim), np.float32)
    m = np.zeros(length, bool)
    z[:frames], m[:frames] = model.normalize(locked), mask
    return torch.from_numpy(z)[None].repeat(takes, 1, 1), torch.from_numpy(m)[None].repeat(takes, 1)
