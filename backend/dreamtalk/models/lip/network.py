"""The lip refiner network (DREAM-Talk's second stage).

An LSTM audio encoder reads the window's audio features with context on both sides; a 1-D CNN
emotion encoder reads the style clip and pools it to one vector; an MLP fuses both with the
window's mouth parameters from EmoDiff and predicts a correction, added to the input mouth
parameters. All inputs and outputs are normalised with the checkpoint's statistics. With a closure
head, a linear layer on the audio states gives each frame's logit that the lips are closed for a
p/b/m (issue 18: a frame-level bilabial signal; `refine.enforce_detected` acts on it).
"""

from __future__ import annotations

import torch
from torch import nn

from .config import LipRefinerConfig


class StyleEncoder(nn.Module):
    """`(B, K, style_dim)` style clip -> `(B, hidden)` (two 1-D convolutions, mean over time)."""

    def __init__(self, cfg: LipRefinerConfig) -> None:
        super().__init__()
        self.net = nn.Sequential(
            nn.Conv1d(cfg.style_dim, cfg.hidden, 3, padding=1), nn.GELU(),
            nn.Conv1d(cfg.hidden, cfg.hidden, 3, padding=1), nn.GELU(),
        )

    def forward(self, style: torch.Tensor) -> torch.Tensor:
        return self.net(style.transpose(1, 2)).mean(dim=2)


class AudioEncoder(nn.Module):
    """`(B, window + 2 * context, audio_dim)` -> `(B, window, 2 * hidden)` (bidirectional LSTM)."""

    def __init__(self, cfg: LipRefinerConfig) -> None:
        super().__init__()
        self.context = cfg.audio_context
        self.project = nn.Linear(cfg.audio_dim, cfg.hidden)
        self.lstm = nn.LSTM(cfg.hidden, cfg.hidden, cfg.lstm_layers, batch_first=True, bidirectional=True)

    def forward(self, audio: torch.Tensor) -> torch.Tensor:
        states, _ = self.lstm(torch.relu(self.project(audio)))
        return states[:, self.context: states.shape[1] - self.context]


class LipRefiner(nn.Module):
    """`forward(audio, mouth, style) -> refined mouth`, shapes `(B, N + 2c, A)`, `(B, N, M)`, `(B, K, S)`."""

    def __init__(self, cfg: LipRefinerConfig) -> None:
        super().__init__()
        self.cfg = cfg
        self.audio = AudioEncoder(cfg)
        self.style = StyleEncoder(cfg)
        self.mouth_in = nn.Linear(cfg.mouth_dim, cfg.hidden)
        self.fuse = nn.Sequential(
            nn.Linear(4 * cfg.hidden, 2 * cfg.hidden), nn.GELU(),
            nn.Linear(2 * cfg.hidden, cfg.hidden), nn.GELU(),
            nn.Linear(cfg.hidden, cfg.mouth_dim),
        )
        nn.init.zeros_(self.fuse[-1].weight)  # starts as the identity: no correction
        nn.init.zeros_(self.fuse[-1].bias)
        self.closure = nn.Linear(2 * cfg.hidden, 1) if cfg.closure_head else None

    def forward(self, audio: torch.Tensor, mouth: torch.Tensor, style: torch.Tensor) -> torch.Tensor:
        return self.refine(audio, mouth, style)[0]

    def refine(self, audio: torch.Tensor, mouth: torch.Tensor,
               style: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
        """(refined mouth `(B, N, M)`, closure logits `(B, N)` or None without a closure head)."""
        a = self.audio(audio)
        s = self.style(style)[:, None].expand(-1, mouth.shape[1], -1)
        h = torch.cat([a, self.mouth_in(mouth), s], dim=-1)
        logits = self.closure(a)[..., 0] if self.closure is not None else None
        return mouth + self.fuse(h), logits
