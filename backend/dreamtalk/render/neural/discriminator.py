"""Multi-scale patch discriminator (pix2pixHD, Wang et al. 2018), trained from scratch, conditioned on
the driving landmark heatmaps so it also judges whether the mouth and eyes are where they should be."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils.parametrizations import spectral_norm

from .conditioning import NUM_GROUPS
from .config import NeuralRendererConfig


class PatchDiscriminator(nn.Module):
    """(B, 3 + groups, H, W) -> per-layer features; the last is a (B, 1, h, w) map of patch scores."""

    def __init__(self, channels: int, layers: int) -> None:
        super().__init__()
        blocks, cin = [], 3 + NUM_GROUPS
        for index in range(layers):
            cout = min(channels * 2 ** index, 512)
            stride = 2 if index < layers - 1 else 1
            blocks.append(nn.Sequential(spectral_norm(nn.Conv2d(cin, cout, 4, stride, 1)), nn.LeakyReLU(0.2, True)))
            cin = cout
        blocks.append(nn.Sequential(spectral_norm(nn.Conv2d(cin, 1, 4, 1, 1))))
        self.blocks = nn.ModuleList(blocks)

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        features = []
        for block in self.blocks:
            x = block(x)
            features.append(x)
        return features


class MultiScaleDiscriminator(nn.Module):
    """`disc_scales` patch discriminators on the image at full, 1/2, 1/4 ... resolution."""

    def __init__(self, cfg: NeuralRendererConfig) -> None:
        super().__init__()
        self.scales = nn.ModuleList(PatchDiscriminator(cfg.disc_channels, cfg.disc_layers) for _ in range(cfg.disc_scales))

    def forward(self, image: torch.Tensor, maps: torch.Tensor) -> list[list[torch.Tensor]]:
        """image (B, 3, H, W) in 0..1, driving heatmaps (B, groups, h, w) -> features per scale."""
        maps = F.interpolate(maps.to(image.dtype), size=image.shape[-2:], mode="bilinear", align_corners=False)
        x = torch.cat([image * 2 - 1, maps], 1)
        outputs = []
        for index, scale in enumerate(self.scales):
            if index:
                x = F.avg_pool2d(x, 3, 2, 1, count_include_pad=False)
            outputs.append(scale(x))
        return outputs
