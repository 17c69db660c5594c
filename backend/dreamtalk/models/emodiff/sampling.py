"""Samplers: functions over a denoise callable `denoise(x_t, t) -> x0 estimate` (k-diffusion style).

`sample` runs DDIM (Song et al. 2021; eta = 0 deterministic) over the scheduler's timesteps, or
ancestral DDPM (Ho et al. 2020: every training step, eta = 1). Locked frames are imposed by
replacing the clean estimate on them before every update (x0 imputation as in MDM's editing), so the
free frames are denoised consistently with them and the result reproduces them exactly.
"""

from __future__ import annotations

from collections.abc import Callable

import torch

from .config import SamplerConfig
from .scheduler import Scheduler

Denoise = Callable[[torch.Tensor, int], torch.Tensor]  # (x_t (B, T, P), t) -> x0 estimate (B, T, P)


def as_x0(model_fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor], scheduler: Scheduler) -> Denoise:
    """Turn `model_fn(x_t, t_batch) -> prediction` (eps or x0) into a denoise callable returning x0."""
    def denoise(x_t: torch.Tensor, t: int) -> torch.Tensor:
        tt = torch.full((x_t.shape[0],), t, dtype=torch.long, device=x_t.device)
        return scheduler.to_x0(model_fn(x_t, tt), x_t, tt)

    return denoise


def configure(scheduler: Scheduler, cfg: SamplerConfig) -> torch.Tensor:
    """Set the scheduler's timesteps for a sampler config; returns them."""
    if cfg.sampler == "ddpm":
        return scheduler.set_timesteps(scheduler.train_steps, eta=1.0)
    return scheduler.set_timesteps(cfg.steps, eta=cfg.eta)


def sample(
    denoise: Denoise,
    scheduler: Scheduler,
    noise: torch.Tensor,
    locked: torch.Tensor | None = None,
    locked_mask: torch.Tensor | None = None,
    generator: torch.Generator | None = None,
    callback: Callable[[int, int], None] | None = None,
) -> torch.Tensor:
    """Denoise `noise (B, T, P)` over `scheduler.timesteps`; `locked (B, T, P)` kept where
    `locked_mask (B, T)` is True. `callback(i, n)` after every step (progress, cancellation)."""
    x = noise
    mask = None if locked_mask is None else locked_mask[..., None].to(x.device)
    steps = [int(t) for t in scheduler.timesteps]
    for i, t in enumerate(steps):
        x0 = denoise(x, t)
        if mask is not None:
            x0 = torch.where(mask, locked, x0)
        x = scheduler.step(x0, t, x, generator)
        if callback is not None:
            callback(i + 1, len(steps))
    if mask is not None:
        x = torch.where(mask, locked, x)
    return x
