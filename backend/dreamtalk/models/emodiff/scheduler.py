"""Parameter-free DDPM noise schedule with DDPM (Ho et al. 2020) and DDIM (Song et al. 2021) steps.

The scheduler holds no learnable state and knows nothing about the denoiser: `add_noise` for
training, `set_timesteps` + `step` for sampling, `to_x0` to turn a model prediction (eps or x0,
per `DiffusionConfig.prediction`) into a clean-sample estimate.
"""

from __future__ import annotations

import math

import torch

from .config import DiffusionConfig


def make_betas(cfg: DiffusionConfig) -> torch.Tensor:
    """`(T,)` float64 betas: linear (Ho et al.) or cosine (Nichol & Dhariwal 2021)."""
    if cfg.beta_schedule == "linear":
        return torch.linspace(cfg.beta_start, cfg.beta_end, cfg.train_steps, dtype=torch.float64)
    steps = torch.arange(cfg.train_steps + 1, dtype=torch.float64) / cfg.train_steps
    alpha_bar = torch.cos((steps + 0.008) / 1.008 * math.pi / 2) ** 2
    return (1 - alpha_bar[1:] / alpha_bar[:-1]).clamp(max=0.999)


class Scheduler:
    """DDPM schedule; `step` is DDIM (eta-controlled) between the timesteps set by `set_timesteps`."""

    def __init__(self, cfg: DiffusionConfig) -> None:
        self.cfg = cfg
        self.betas = make_betas(cfg)  # (T,) float64
        self.alpha_bar = torch.cumprod(1 - self.betas, 0)  # (T,)
        self.timesteps = torch.arange(cfg.train_steps - 1, -1, -1)
        self.eta = 1.0

    @property
    def train_steps(self) -> int:
        return self.cfg.train_steps

    def _ab(self, t: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
        ab = self.alpha_bar.to(like.device)[t.long().clamp(min=0)]
        ab = torch.where(t.to(like.device) < 0, torch.ones_like(ab), ab)  # t = -1: the clean sample
        return ab.to(like.dtype).view(-1, *([1] * (like.dim() - 1)))

    def add_noise(self, x0: torch.Tensor, noise: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        """q(x_t | x_0) = sqrt(ab_t) x0 + sqrt(1 - ab_t) eps (batch of timesteps `t`)."""
        ab = self._ab(t, x0)
        return ab.sqrt() * x0 + (1 - ab).sqrt() * noise

    def target(self, x0: torch.Tensor, noise: torch.Tensor) -> torch.Tensor:
        """What the denoiser is trained to predict."""
        return noise if self.cfg.prediction == "eps" else x0

    def to_x0(self, prediction: torch.Tensor, x_t: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        """Clean-sample estimate from a model prediction."""
        if self.cfg.prediction == "x0":
            return prediction
        ab = self._ab(t, x_t)
        return (x_t - (1 - ab).sqrt() * prediction) / ab.sqrt()

    def to_eps(self, x0: torch.Tensor, x_t: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        ab = self._ab(t, x_t)
        return (x_t - ab.sqrt() * x0) / (1 - ab).sqrt().clamp(min=1e-8)

    def set_timesteps(self, steps: int, eta: float = 0.0) -> torch.Tensor:
        """Evenly spaced (trailing) timesteps, high to low; `steps == train_steps` with eta 1 is DDPM."""
        if not 1 <= steps <= self.train_steps:
            raise ValueError(f"steps must be within 1..{self.train_steps}, got {steps}")
        grid = torch.linspace(self.train_steps, 0, steps + 1)[:-1].round().long() - 1
        self.timesteps = grid.clamp(0, self.train_steps - 1)
        self.eta = float(eta)
        return self.timesteps

    def previous(self, t: int) -> int:
        """The timestep after `t` in the current grid (-1 after the last)."""
        index = int((self.timesteps == t).nonzero()[0, 0])
        return int(self.timesteps[index + 1]) if index + 1 < len(self.timesteps) else -1

    def step(
        self, x0: torch.Tensor, t: int, x_t: torch.Tensor, generator: torch.Generator | None = None
    ) -> torch.Tensor:
        """DDIM update x_t -> x_prev given the clean estimate `x0` (Song et al. eq. 12)."""
        prev = self.previous(t)
        tt = torch.full((x_t.shape[0],), t)
        ab_t, ab_prev = self._ab(tt, x_t), self._ab(torch.full_like(tt, prev), x_t)
        eps = self.to_eps(x0, x_t, tt)
        sigma = self.eta * ((1 - ab_prev) / (1 - ab_t) * (1 - ab_t / ab_prev)).clamp(min=0).sqrt()
        direction = (1 - ab_prev - sigma**2).clamp(min=0).sqrt() * eps
        x_prev = ab_prev.sqrt() * x0 + direction
        if self.eta > 0 and prev >= 0:
            noise = torch.randn(x_t.shape, generator=generator, dtype=x_t.dtype).to(x_t.device)
            x_prev = x_prev + sigma * noise
        return x_prev
