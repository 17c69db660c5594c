"""The generator: Face-Vid2Vid's appearance volume, dense motion with occlusion and SPADE decoder
(Wang et al., CVPR 2021), split as LivePortrait splits it (F: appearance, W: warping, G: decoder;
Guo et al. 2024), driven by explicit keypoints and the rig's head rotation instead of learned ones.

It refines part 1's frame: the decoder sees part 1's frame (as features and in every SPADE label)
and ends in a blend `alpha * painted + (1 - alpha) * part1`, with alpha starting near zero, so it
learns the residual (mouth interior, occlusions, shading) and leaves what part 1 got right alone.
All tensors are images in 0..1, (B, C, H, W); volumes (B, C, D, H, W).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from .blocks import ConvBlock2d, Hourglass3d, ResBlock3d, SPADEResBlock
from .conditioning import (
    KEYPOINTS,
    NUM_GROUPS,
    DrivingInputs,
    heatmaps,
    identity_grid,
    keypoint_gaussians,
    keypoint_motions,
)
from .config import NeuralRendererConfig


def image_encoder(cfg: NeuralRendererConfig, cout: int) -> nn.Sequential:
    """(B, 3, S, S) -> (B, cout, S/4, S/4)."""
    b = cfg.base_channels
    return nn.Sequential(ConvBlock2d(3, b, 7), ConvBlock2d(b, 2 * b, 3, 2), ConvBlock2d(2 * b, cout, 3, 2))


class AppearanceEncoder(nn.Module):
    """F: the source image -> a 3-D appearance feature volume (B, C, D, S/4, S/4)."""

    def __init__(self, cfg: NeuralRendererConfig) -> None:
        super().__init__()
        self.cfg = cfg
        self.image = image_encoder(cfg, 4 * cfg.base_channels)
        self.to_volume = nn.Conv2d(4 * cfg.base_channels, cfg.volume_channels * cfg.volume_depth, 1)
        self.blocks = nn.Sequential(*(ResBlock3d(cfg.volume_channels) for _ in range(cfg.volume_blocks)))

    def forward(self, source: torch.Tensor) -> torch.Tensor:
        features = self.to_volume(self.image(source))
        b, _, h, w = features.shape
        return self.blocks(features.view(b, self.cfg.volume_channels, self.cfg.volume_depth, h, w))


class DenseMotion(nn.Module):
    """W's motion estimator: candidate motions (still background + one rigid motion per keypoint) ->
    soft masks over them -> one dense backward deformation, and an occlusion map (Face-Vid2Vid)."""

    def __init__(self, cfg: NeuralRendererConfig) -> None:
        super().__init__()
        self.cfg = cfg
        count = len(KEYPOINTS) + 1
        self.compress = nn.Conv3d(cfg.volume_channels, cfg.compressed_channels, 1)
        self.hourglass = Hourglass3d(count * (cfg.compressed_channels + 1), cfg.motion_channels, cfg.motion_levels)
        self.mask = nn.Conv3d(self.hourglass.out_channels, count, 3, 1, 1)
        self.occlusion = nn.Conv2d(self.hourglass.out_channels * cfg.volume_depth, 1, 7, 1, 3)

    def forward(self, volume: torch.Tensor, kp_source: torch.Tensor, kp_driving: torch.Tensor,
                rotation: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """-> deformation (B, D, H, W, 3) normalised source positions, occlusion (B, 1, H, W) in 0..1."""
        b, _, d, h, w = volume.shape
        grid = identity_grid(d, h, w, volume.device)
        motions = keypoint_motions(grid, kp_source, kp_driving, rotation)  # (B, K+1, D, H, W, 3)
        count = motions.shape[1]
        compressed = self.compress(volume).float()  # (B, c, D, H, W); sampling stays in float32 under autocast
        c = compressed.shape[1]
        deformed = F.grid_sample(compressed.repeat_interleave(count, 0), motions.reshape(b * count, d, h, w, 3),
                                 align_corners=False, padding_mode="border").view(b, count, c, d, h, w)
        bumps = keypoint_gaussians(grid, kp_driving, self.cfg.keypoint_variance) \
            - keypoint_gaussians(grid, kp_source, self.cfg.keypoint_variance)  # (B, K, D, H, W)
        bumps = torch.cat([torch.zeros_like(bumps[:, :1]), bumps], 1).unsqueeze(2)
        features = self.hourglass(torch.cat([deformed, bumps], 2).view(b, count * (c + 1), d, h, w))
        masks = torch.softmax(self.mask(features), 1)  # (B, K+1, D, H, W)
        deformation = (masks.float().unsqueeze(-1) * motions).sum(1)
        occlusion = torch.sigmoid(self.occlusion(features.reshape(b, -1, h, w)))
        return deformation, occlusion


class SpadeDecoder(nn.Module):
    """G: warped appearance (masked by occlusion) + part 1's frame -> the refined frame at the core size.

    SPADE label at every resolution: part 1's frame, the driving landmark heatmaps and the occlusion.
    """

    def __init__(self, cfg: NeuralRendererConfig) -> None:
        super().__init__()
        b = cfg.base_channels
        trunk = 4 * b
        self.label_channels = 3 + NUM_GROUPS + 1
        self.volume_to_2d = nn.Conv2d(cfg.volume_channels * cfg.volume_depth, trunk, 3, 1, 1)
        self.part1 = image_encoder(cfg, trunk)
        self.fuse = nn.Conv2d(2 * trunk, trunk, 1)
        self.middle = nn.ModuleList(SPADEResBlock(trunk, trunk, self.label_channels, b) for _ in range(cfg.decoder_blocks))
        self.up1 = SPADEResBlock(trunk, 2 * b, self.label_channels, b)
        self.up2 = SPADEResBlock(2 * b, b, self.label_channels, b)
        self.head = blend_head(b, cfg.blend_bias)

    def forward(self, warped_volume: torch.Tensor, occlusion: torch.Tensor, part1: torch.Tensor,
                label: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """-> frame (B, 3, S, S), blend alpha (B, 1, S, S), last features (B, base, S, S)."""
        b, c, d, h, w = warped_volume.shape
        appearance = self.volume_to_2d(warped_volume.reshape(b, c * d, h, w)) * occlusion
        x = self.fuse(torch.cat([appearance, self.part1(part1)], 1))
        for block in self.middle:
            x = block(x, label)
        x = self.up1(F.interpolate(x, scale_factor=2.0, mode="nearest"), label)
        x = self.up2(F.interpolate(x, scale_factor=2.0, mode="nearest"), label)
        frame, alpha = blend(self.head(F.leaky_relu(x, 0.2)), part1)
        return frame, alpha, x


class Upsampler(nn.Module):
    """Optional x2 stage: core features -> pixel shuffle -> SPADE block -> blend with part 1 at 2S."""

    def __init__(self, cfg: NeuralRendererConfig, label_channels: int) -> None:
        super().__init__()
        b = cfg.base_channels
        self.expand = nn.Conv2d(b, 2 * b, 3, 1, 1)  # 2b channels -> b/2 after the x2 pixel shuffle
        self.block = SPADEResBlock(b // 2, b // 2, label_channels, b // 2)
        self.head = blend_head(b // 2, cfg.blend_bias)

    def forward(self, features: torch.Tensor, part1_full: torch.Tensor, label: torch.Tensor):
        x = F.pixel_shuffle(self.expand(features), 2)
        x = self.block(x, label)
        return blend(self.head(F.leaky_relu(x, 0.2)), part1_full)


def blend_head(channels: int, bias: float) -> nn.Conv2d:
    """3 colour logits + 1 blend logit, initialised so that the blend starts at sigmoid(bias)."""
    head = nn.Conv2d(channels, 4, 3, 1, 1)
    nn.init.normal_(head.weight, std=1e-3)
    with torch.no_grad():
        head.bias.zero_()
        head.bias[3] = bias
    return head


def blend(logits: torch.Tensor, part1: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    alpha = torch.sigmoid(logits[:, 3:4])
    return alpha * torch.sigmoid(logits[:, :3]) + (1 - alpha) * part1, alpha


def spade_label(part1: torch.Tensor, maps: torch.Tensor, occlusion: torch.Tensor) -> torch.Tensor:
    """(B, 3 + groups + 1, S, S) at part 1's resolution: its frame, the driving heatmaps, the occlusion."""
    side = part1.shape[-2:]
    def up(x: torch.Tensor) -> torch.Tensor:
        return F.interpolate(x.to(part1.dtype), size=side, mode="bilinear", align_corners=False)

    return torch.cat([part1, up(maps), up(occlusion)], 1)


class NeuralGenerator(nn.Module):
    """The whole generator: `encode(source)` once per portrait, then `forward(inputs, volume)` per frame."""

    def __init__(self, cfg: NeuralRendererConfig) -> None:
        super().__init__()
        self.cfg = cfg
        self.appearance = AppearanceEncoder(cfg)
        self.motion = DenseMotion(cfg)
        self.decoder = SpadeDecoder(cfg)
        self.upsampler = Upsampler(cfg, self.decoder.label_channels) if cfg.upsample else None

    def encode(self, source: torch.Tensor) -> torch.Tensor:
        return self.appearance(source)

    def forward(self, inputs: DrivingInputs, volume: torch.Tensor | None = None) -> dict[str, torch.Tensor]:
        """-> {"image": output-size frame, "core": core-size frame, "alpha", "occlusion"} (B, ., ., .)."""
        if volume is None:
            volume = self.encode(inputs.source)
        elif volume.shape[0] != inputs.warped.shape[0]:
            volume = volume.expand(inputs.warped.shape[0], -1, -1, -1, -1)  # one portrait, many frames
        keypoints = list(KEYPOINTS)
        deformation, occlusion = self.motion(volume, inputs.source_points[:, keypoints],
                                             inputs.driving_points[:, keypoints], inputs.rotation)
        warped_volume = F.grid_sample(volume.float(), deformation.float(), align_corners=False, padding_mode="border")
        maps = heatmaps(inputs.driving_points, self.cfg.grid_size, self.cfg.heatmap_sigma)
        core, alpha, features = self.decoder(warped_volume, occlusion, inputs.warped,
                                             spade_label(inputs.warped, maps, occlusion))
        out = {"core": core, "image": core, "alpha": alpha, "occlusion": occlusion}
        if self.upsampler is not None:
            label = spade_label(inputs.warped_full, maps, occlusion)
            out["image"], out["alpha_full"] = self.upsampler(features, inputs.warped_full, label)
        return out
