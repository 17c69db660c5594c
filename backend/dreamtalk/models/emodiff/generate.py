"""Sequence generation: audio features of any length -> K takes of x `(K, T, P)` (raw units).

Composition, outermost first: long-sequence strategy (`long.stitch_sample` or
`long.autoregressive_sample`) -> batching in chunks of `max_batch` windows -> classifier-free guidance
(`guidance.guided`) -> x0 conversion (`sampling.as_x0`) -> the denoiser (bound to its conditions once per
call, `inference.bind`). `plan` + `sample_plans` split `generate` so that several requests' plans can be
sampled in one call (`engines.batching` does that for concurrent server requests).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

import numpy as np
import torch

from ...core.locking import ease_into_locked  # noqa: F401  (re-exported: the lip refiner and tests use it here)
from ..windows import window_starts
from .conditions import StyleKey, build_conditions, window_styles
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
        return model.style(model.presets["neutral"])
    return np.zeros((model.cfg.style_frames, model.cfg.pose_dim), np.float32)


def preset_style(model: EmoDiff, name: str) -> np.ndarray:
    """`(K, P)` normalised style of a named preset."""
    from ...core.errors import InputError

    if name not in model.presets:
        raise InputError(f"unknown emotion preset {name!r}; this model has {', '.join(sorted(model.presets))}")
    return model.style(model.presets[name])


def chunked_denoiser(model: EmoDiff, scheduler: Scheduler, cond: Conditions, cfg: SamplerConfig) -> Denoise:
    """Denoise callable over rows aligned with `cond`, in chunks of `cfg.max_batch` rows (each chunk's
    conditions bound to the denoiser once, here, not at every step)."""
    chunks = [(slice(lo, lo + cfg.max_batch),
               as_x0(guided(model.denoiser, cond.index(slice(lo, lo + cfg.max_batch)), cfg.guidance,
                            cfg.audio_guidance), scheduler))
              for lo in range(0, cond.track.shape[0], cfg.max_batch)]

    def denoise(x: torch.Tensor, t: int) -> torch.Tensor:
        return torch.cat([fn(x[rows], t) for rows, fn in chunks])

    return denoise


def initial_noise(takes: int, length: int, dim: int, seed: int) -> torch.Tensor:
    """`(K, T, P)`: take k's noise comes from seed + k (a take does not depend on how many were asked)."""
    return torch.stack([torch.randn(length, dim, generator=torch.Generator().manual_seed(seed + k))
                        for k in range(takes)])


@dataclass
class SamplingPlan:
    """One request's sampling problem, prepared on the model's device: what `sample_plans` needs."""

    cfg: SamplerConfig  # sampler settings
    cond: Conditions  # one row per window (shared by the takes)
    starts: list[int]  # window start frames over the sampled length
    noise: torch.Tensor  # (K, L, P) initial noise; L = max(frames, window)
    frames: int  # frames asked for (<= L)
    lock_z: torch.Tensor | None = None  # (K, L, P) normalised locked frames
    lock_mask: torch.Tensor | None = None  # (K, L) True where locked
    locked: np.ndarray | None = None  # (frames, P) raw locked frames (easing after sampling)
    locked_mask: np.ndarray | None = None  # (frames,)

    @property
    def batch_key(self) -> tuple | None:
        """Plans with equal keys can share one sampling call; None: this one runs alone (autoregressive
        continuation over several windows, or stochastic steps whose noise would depend on the batch)."""
        cfg = self.cfg
        if (cfg.long_mode == "autoregressive" and len(self.starts) > 1) or cfg.sampler == "ddpm" or cfg.eta > 0:
            return None
        return cfg.steps, cfg.guidance, cfg.audio_guidance, cfg.overlap


def plan(
    model: EmoDiff, features: np.ndarray, cfg: SamplerConfig | None = None,
    style_keys: Sequence[StyleKey] | None = None, takes: int = 1, seed: int = 0, initial: np.ndarray | None = None,
    locked: np.ndarray | None = None, locked_mask: np.ndarray | None = None,
) -> SamplingPlan:
    """The sampling plan of `generate` (same arguments)."""
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
    device = model.device
    return SamplingPlan(
        cfg, build_conditions(features, styles, init_z, starts, dcfg).to(device), starts,
        initial_noise(takes, length, dcfg.pose_dim, seed).to(device), frames,
        None if lock_z is None else lock_z.to(device), None if mask is None else mask.to(device), locked, locked_mask)


def sample_plans(model: EmoDiff, plans: Sequence[SamplingPlan], callback: Callable[[int, int], None] | None = None,
                 seed: int = 0, max_batch: int | None = None) -> list[np.ndarray]:
    """Raw x `(K, frames, P)` of each plan. Plans of one `batch_key` are stitched in ONE sampling call: every
    take of every plan is a segment of one long sequence, and its windows are denoised together (the
    same arithmetic as sampling each alone; rows are only batched). A plan without a key must come alone;
    `seed` seeds the step noise of a stochastic sampler; `max_batch` raises the windows per denoiser pass
    (a GPU takes far more than the checkpoint's CPU-sized setting)."""
    cfg = plans[0].cfg
    if max_batch is not None:
        cfg = replace(cfg, max_batch=max(cfg.max_batch, max_batch))
    if len(plans) > 1 and (plans[0].batch_key is None or any(p.batch_key != plans[0].batch_key for p in plans)):
        raise ValueError("these plans cannot share a sampling call (different or missing batch keys)")
    dcfg = model.cfg
    scheduler = Scheduler(model.diffusion)
    configure(scheduler, cfg)
    generator = torch.Generator().manual_seed(seed)
    model.denoiser.eval()
    with torch.inference_mode():
        if cfg.long_mode == "autoregressive" and len(plans[0].starts) > 1:
            if cfg.overlap < 1:
                raise ValueError("autoregressive sampling needs an overlap of at least 1 frame")
            p = plans[0]
            outs = [autoregressive_sample(lambda rows: chunked_denoiser(model, scheduler, rows, cfg), scheduler,
                                          p.noise, p.starts, p.cond, p.lock_z, p.lock_mask, generator, callback)]
        else:
            flat = _flatten(plans)
            out = stitch_sample(chunked_denoiser(model, scheduler, flat.cond, cfg), scheduler, flat.noise, flat.starts,
                                dcfg.window, cfg.overlap, flat.lock_z, flat.lock_mask, generator, callback)
            outs = _split(out, plans)
    return [_finish(model, p, out) for p, out in zip(plans, outs)]


def _flatten(plans: Sequence[SamplingPlan]) -> SamplingPlan:
    """Every take of every plan as consecutive segments of one `(1, sum K L, P)` sequence, with its windows."""
    conds, starts, offset = [], [], 0
    for p in plans:
        takes, length = p.noise.shape[:2]
        for _ in range(takes):
            conds.append(p.cond)
            starts.extend(offset + s for s in p.starts)
            offset += length
    noise = torch.cat([p.noise.reshape(1, -1, p.noise.shape[-1]) for p in plans], dim=1)
    lock_z = lock_mask = None
    if any(p.lock_z is not None for p in plans):
        lock_z = torch.cat([(torch.zeros_like(p.noise) if p.lock_z is None else p.lock_z).reshape(1, -1, noise.shape[-1])
                            for p in plans], dim=1)
        lock_mask = torch.cat([(p.noise.new_zeros(p.noise.shape[:2], dtype=torch.bool) if p.lock_mask is None
                                else p.lock_mask).reshape(1, -1) for p in plans], dim=1)
    return SamplingPlan(plans[0].cfg, Conditions.cat(conds), starts, noise, offset, lock_z, lock_mask)


def _split(out: torch.Tensor, plans: Sequence[SamplingPlan]) -> list[torch.Tensor]:
    """`(1, sum K L, P)` -> each plan's `(K, L, P)`."""
    sizes = [p.noise.shape[0] * p.noise.shape[1] for p in plans]
    return [part.reshape(p.noise.shape) for part, p in zip(out.split(sizes, dim=1), plans)]


def _finish(model: EmoDiff, p: SamplingPlan, out: torch.Tensor) -> np.ndarray:
    x = model.denormalize(out[:, : p.frames].cpu().numpy())
    return x if p.lock_z is None else ease_into_locked(x, p.locked_mask, p.cfg.lock_ease)


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
    job = plan(model, features, cfg, style_keys, takes, seed, initial, locked, locked_mask)
    return sample_plans(model, [job], callback, seed)[0]


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
