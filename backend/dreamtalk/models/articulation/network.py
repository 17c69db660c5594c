"""The detector network: residual temporal convolutions over audio features -> per-frame phone logits."""

from __future__ import annotations

import torch
from torch import nn

from .config import ArticulationConfig
from .labels import PHONES


class ArticulationNet(nn.Module):
    """`(B, T, audio_dim)` normalised features -> `(B, T, len(PHONES))` logits; receptive field about
    +-(layers x kernel) frames."""

    def __init__(self, cfg: ArticulationConfig) -> None:
        super().__init__()
        self.cfg = cfg
        self.inp = nn.Conv1d(cfg.audio_dim, cfg.width, 1)
        self.blocks = nn.ModuleList(self._block(cfg, 1 + i % 2) for i in range(cfg.layers))
        self.out = nn.Conv1d(cfg.width, len(PHONES), 1)

    @staticmethod
    def _block(cfg: ArticulationConfig, dilation: int) -> nn.Module:
        pad = cfg.kernel // 2 * dilation
        return nn.Sequential(nn.Conv1d(cfg.width, cfg.width, cfg.kernel, padding=pad, dilation=dilation),
                             nn.GELU(), nn.Dropout(cfg.dropout))

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        h = self.inp(features.transpose(1, 2))
        for block in self.blocks:
            h = h + block(h)
        return self.out(h).transpose(1, 2)
