"""The EmoDiff denoiser: a transformer over a window of N frames (DREAM-Talk, stage 1).

`forward(x_t, t, cond) -> prediction` (eps or x0, per training); the denoiser knows no schedule.
Conditions (DREAM-Talk's time-position-aware condition embedding): a per-frame condition track
(frame 0 = initial state, the middle `style_frames` frames = the emotion style clip, one extra bit per
frame marking valid information) is embedded and merged frame by frame with the audio features and
the diffusion-step embedding; the x tokens self-attend over time and cross-attend to that merged track.
Classifier-free guidance: style and audio each have a learned null embedding used where
`cond.style_keep` / `cond.audio_keep` is False (training-time dropout, unconditional passes).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import nn

from .config import DenoiserConfig


@dataclass
class Conditions:
    """Batched conditions of B windows of N frames."""

    audio: torch.Tensor  # (B, N, F) audio features
    track: torch.Tensor  # (B, N, P + 1) condition track: values + valid bit
    style_keep: torch.Tensor  # (B,) bool: False -> style replaced by its null embedding
    audio_keep: torch.Tensor  # (B,) bool: False -> audio replaced by its null embedding

    def index(self, rows: torch.Tensor | slice) -> Conditions:
        return Conditions(self.audio[rows], self.track[rows], self.style_keep[rows], self.audio_keep[rows])

    @staticmethod
    def cat(parts: list[Conditions]) -> Conditions:
        return Conditions(*(torch.cat([getattr(p, f) for p in parts]) for f in
                            ("audio", "track", "style_keep", "audio_keep")))

    def to(self, device: torch.device | str) -> Conditions:
        return Conditions(self.audio.to(device), self.track.to(device), self.style_keep.to(device),
                          self.audio_keep.to(device))


def style_slice(cfg: DenoiserConfig) -> slice:
    """Frames of the condition track that carry the style clip (centred, never frame 0)."""
    start = max(1, (cfg.window - cfg.style_frames) // 2)
    return slice(start, min(cfg.window, start + cfg.style_frames))


def step_embedding(t: torch.Tensor, dim: int) -> torch.Tensor:
    """Sinusoidal embedding of diffusion steps `(B,)` -> `(B, dim)` (Vaswani et al. / DDPM)."""
    half = dim // 2
    freqs = torch.exp(-math.log(10000.0) * torch.arange(half, device=t.device) / half)
    args = t.float()[:, None] * freqs[None, :]
    return torch.cat([torch.sin(args), torch.cos(args)], dim=1)


class Denoiser(nn.Module):
    """Transformer decoder: x tokens (self-attention) x merged condition track (cross-attention)."""

    def __init__(self, cfg: DenoiserConfig) -> None:
        super().__init__()
        self.cfg = cfg
        d = cfg.width
        self.x_in = nn.Linear(cfg.pose_dim, d)
        self.audio_in = nn.Sequential(nn.Linear(cfg.audio_dim, d), nn.GELU(), nn.Linear(d, d))
        self.track_in = nn.Linear(cfg.pose_dim + 1, d)
        self.null_audio = nn.Parameter(torch.zeros(d))
        self.null_style = nn.Parameter(torch.zeros(d))
        self.position = nn.Parameter(torch.randn(cfg.window, d) * 0.02)
        self.step_mlp = nn.Sequential(nn.Linear(d, d), nn.SiLU(), nn.Linear(d, d))
        layer = nn.TransformerDecoderLayer(
            d, cfg.heads, cfg.ff_mult * d, cfg.dropout, activation="gelu", batch_first=True, norm_first=True
        )
        self.decoder = nn.TransformerDecoder(layer, cfg.layers)
        self.out = nn.Sequential(nn.LayerNorm(d), nn.Linear(d, cfg.pose_dim))
        is_style = torch.zeros(cfg.window, dtype=torch.bool)
        is_style[style_slice(cfg)] = True
        self.register_buffer("is_style", is_style, persistent=False)

    def condition_tokens(self, t: torch.Tensor, cond: Conditions) -> torch.Tensor:
        """`(B, N, d)` merged condition track: audio + (initial state, style, valid bits) + step + position."""
        audio = self.audio_in(cond.audio)  # (B, N, d)
        audio = torch.where(cond.audio_keep[:, None, None], audio, self.null_audio)
        track = self.track_in(cond.track)  # (B, N, d)
        drop_style = (~cond.style_keep)[:, None, None] & self.is_style[None, :, None]
        track = torch.where(drop_style, self.null_style, track)
        step = self.step_mlp(step_embedding(t, self.cfg.width))[:, None, :]  # (B, 1, d)
        return audio + track + step + self.position[None]

    def forward(self, x_t: torch.Tensor, t: torch.Tensor, cond: Conditions) -> torch.Tensor:
        """`x_t (B, N, P)`, `t (B,)` -> prediction `(B, N, P)`."""
        if x_t.shape[1] != self.cfg.window:
            raise ValueError(f"denoiser expects windows of {self.cfg.window} frames, got {x_t.shape[1]}")
        memory = self.condition_tokens(t, cond)  # (B, N, d)
        h = self.x_in(x_t) + self.position[None]
        if self.cfg.condition_in_input:
            h = h + memory
        return self.out(self.decoder(h, memory))
