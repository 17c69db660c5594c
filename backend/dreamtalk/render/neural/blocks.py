"""Building blocks of the neural renderer: 2-D / 3-D conv blocks, residual blocks, a 3-D hourglass
and SPADE (Park et al., CVPR 2019: spatially-adaptive denormalisation).

Group normalisation everywhere (no running statistics: the same at training and inference, for any
batch size, and nothing for DDP to keep in step).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


def group_norm(channels: int, affine: bool = True) -> nn.GroupNorm:
    """GroupNorm with up to 16 groups of at least 2 channels (1 group for tiny layers)."""
    groups = 1
    for candidate in (16, 8, 4, 2):
        if channels % candidate == 0 and channels // candidate >= 2:
            groups = candidate
            break
    return nn.GroupNorm(groups, channels, affine=affine)


class ConvBlock2d(nn.Sequential):
    """conv -> group norm -> ReLU (stride 2 halves the resolution)."""

    def __init__(self, cin: int, cout: int, kernel: int = 3, stride: int = 1) -> None:
        super().__init__(nn.Conv2d(cin, cout, kernel, stride, kernel // 2), group_norm(cout), nn.ReLU(inplace=True))


class ResBlock2d(nn.Module):
    """Pre-activation residual block (norm, ReLU, conv) x 2."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.body = nn.Sequential(group_norm(channels), nn.ReLU(), nn.Conv2d(channels, channels, 3, 1, 1),
                                  group_norm(channels), nn.ReLU(), nn.Conv2d(channels, channels, 3, 1, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.body(x)


class ResBlock3d(nn.Module):
    """The 3-D version, on feature volumes (B, C, D, H, W)."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.body = nn.Sequential(group_norm(channels), nn.ReLU(), nn.Conv3d(channels, channels, 3, 1, 1),
                                  group_norm(channels), nn.ReLU(), nn.Conv3d(channels, channels, 3, 1, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.body(x)


class Hourglass3d(nn.Module):
    """3-D U-Net that halves height and width (not depth) `levels` times (Face-Vid2Vid's dense motion).

    (B, cin, D, H, W) -> (B, cin + width, D, H, W): the decoder's last features beside the input.
    """

    def __init__(self, cin: int, width: int, levels: int, max_channels: int = 256) -> None:
        super().__init__()
        down = [cin] + [min(width * 2 ** i, max_channels) for i in range(1, levels + 1)]  # d_0 = input
        up = [min(width * 2 ** i, max_channels) for i in range(levels)]  # u_0 = width
        self.down = nn.ModuleList(self._block(down[i], down[i + 1]) for i in range(levels))
        self.up = nn.ModuleList()
        channels = down[levels]
        for level in reversed(range(levels)):
            self.up.append(self._block(channels, up[level]))
            channels = up[level] + down[level]
        self.out_channels = channels

    @staticmethod
    def _block(cin: int, cout: int) -> nn.Sequential:
        return nn.Sequential(nn.Conv3d(cin, cout, 3, 1, 1), group_norm(cout), nn.ReLU(inplace=True))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        skips = [x]
        for block in self.down:
            skips.append(F.avg_pool3d(block(skips[-1]), (1, 2, 2)))
        h = skips.pop()
        for block in self.up:
            h = block(F.interpolate(h, scale_factor=(1, 2, 2), mode="nearest"))
            h = torch.cat([h, skips.pop()], 1)
        return h


class SPADE(nn.Module):
    """Parameter-free group norm, then a per-pixel scale and shift predicted from a label map."""

    def __init__(self, channels: int, label_channels: int, hidden: int) -> None:
        super().__init__()
        self.norm = group_norm(channels, affine=False)  # SPADE supplies scale and shift
        self.shared = nn.Sequential(nn.Conv2d(label_channels, hidden, 3, 1, 1), nn.ReLU(inplace=True))
        self.gamma = nn.Conv2d(hidden, channels, 3, 1, 1)
        self.beta = nn.Conv2d(hidden, channels, 3, 1, 1)

    def forward(self, x: torch.Tensor, label: torch.Tensor) -> torch.Tensor:
        if label.shape[-1] > x.shape[-1]:
            label = F.adaptive_avg_pool2d(label, x.shape[-2:])
        elif label.shape[-1] < x.shape[-1]:
            label = F.interpolate(label, size=x.shape[-2:], mode="bilinear", align_corners=False)
        hidden = self.shared(label)
        return self.norm(x) * (1 + self.gamma(hidden)) + self.beta(hidden)


class SPADEResBlock(nn.Module):
    """Residual block with SPADE before each conv (and on a learned shortcut when widths differ)."""

    def __init__(self, cin: int, cout: int, label_channels: int, hidden: int) -> None:
        super().__init__()
        middle = min(cin, cout)
        self.norm0, self.conv0 = SPADE(cin, label_channels, hidden), nn.Conv2d(cin, middle, 3, 1, 1)
        self.norm1, self.conv1 = SPADE(middle, label_channels, hidden), nn.Conv2d(middle, cout, 3, 1, 1)
        self.shortcut = None if cin == cout else nn.Conv2d(cin, cout, 1, bias=False)
        self.norm_s = None if cin == cout else SPADE(cin, label_channels, hidden)

    def forward(self, x: torch.Tensor, label: torch.Tensor) -> torch.Tensor:
        skip = x if self.shortcut is None else self.shortcut(self.norm_s(x, label))
        h = self.conv0(F.leaky_relu(self.norm0(x, label), 0.2))
        h = self.conv1(F.leaky_relu(self.norm1(h, label), 0.2))
        return skip + h
