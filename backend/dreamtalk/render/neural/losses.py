"""Training losses that need no downloaded network: L1, multi-scale SSIM (own torch implementation, so
the GPU path needs no kornia; the tests check it against kornia), a mouth-weighted L1, least-squares
GAN with feature matching (pix2pixHD), equivariance under a random similarity of the driving side,
and a VGG-19 perceptual loss only when the user supplies the weights file (torchvision layout).
"""

from __future__ import annotations

import math
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from ...core.errors import InputError
from .conditioning import MOUTH_GROUP, DrivingInputs, group_indices, resize


def _gaussian_window(size: int = 11, sigma: float = 1.5, device=None, dtype=torch.float32) -> torch.Tensor:
    x = torch.arange(size, device=device, dtype=dtype) - (size - 1) / 2
    g = torch.exp(-x ** 2 / (2 * sigma ** 2))
    return g / g.sum()


def ssim(x: torch.Tensor, y: torch.Tensor, window: int = 11, data_range: float = 1.0) -> torch.Tensor:
    """Mean SSIM (Wang et al. 2004: Gaussian window, sigma 1.5, K1 0.01, K2 0.03; reflected borders)."""
    c1, c2 = (0.01 * data_range) ** 2, (0.03 * data_range) ** 2
    g = _gaussian_window(window, 1.5, x.device, x.dtype)
    channels = x.shape[1]
    kx = g.view(1, 1, 1, -1).expand(channels, 1, 1, window)
    ky = g.view(1, 1, -1, 1).expand(channels, 1, window, 1)
    pad = window // 2

    def blur(t: torch.Tensor) -> torch.Tensor:
        t = F.pad(t, (pad, pad, pad, pad), mode="reflect")
        return F.conv2d(F.conv2d(t, kx, groups=channels), ky, groups=channels)

    mx, my = blur(x), blur(y)
    vx, vy, cov = blur(x * x) - mx ** 2, blur(y * y) - my ** 2, blur(x * y) - mx * my
    score = ((2 * mx * my + c1) * (2 * cov + c2)) / ((mx ** 2 + my ** 2 + c1) * (vx + vy + c2))
    return score.mean()


def multiscale_ssim_loss(x: torch.Tensor, y: torch.Tensor, scales: int = 3) -> torch.Tensor:
    """1 - mean SSIM over `scales` dyadic scales (the window shrinks on images smaller than 44 px)."""
    total = 0.0
    for index in range(scales):
        if index:
            x, y = F.avg_pool2d(x, 2), F.avg_pool2d(y, 2)
        total = total + ssim(x, y, window=min(11, 2 * (min(x.shape[-2:]) // 4) + 1))
    return 1.0 - total / scales


def pyramid_l1(x: torch.Tensor, y: torch.Tensor, scales: int = 3) -> torch.Tensor:
    """Mean L1 at full, 1/2, 1/4 resolution."""
    total = 0.0
    for index in range(scales):
        if index:
            x, y = F.avg_pool2d(x, 2), F.avg_pool2d(y, 2)
        total = total + (x - y).abs().mean()
    return total / scales


def mouth_mask(points: torch.Tensor, side: int, margin: float = 0.3) -> torch.Tensor:
    """(B, 1, side, side) 1 inside the box around the outer lips (normalised landmarks), grown by
    `margin` x the mouth width, 0 outside."""
    lips = points[:, group_indices(points.device)[MOUTH_GROUP], :2]
    lo, hi = lips.amin(1), lips.amax(1)  # (B, 2)
    grow = margin * (hi[:, :1] - lo[:, :1])
    lo, hi = lo - grow, hi + grow
    axis = (torch.arange(side, device=points.device, dtype=points.dtype) + 0.5) * (2.0 / side) - 1.0
    inside_x = (axis[None, :] >= lo[:, 0:1]) & (axis[None, :] <= hi[:, 0:1])  # (B, side)
    inside_y = (axis[None, :] >= lo[:, 1:2]) & (axis[None, :] <= hi[:, 1:2])
    return (inside_y[:, :, None] & inside_x[:, None, :]).unsqueeze(1).to(points.dtype)


def masked_l1(x: torch.Tensor, y: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    return ((x - y).abs() * mask).sum() / (mask.sum() * x.shape[1] + 1e-6)


def reconstruction(output: torch.Tensor, target: torch.Tensor, points: torch.Tensor, weights) -> dict[str, torch.Tensor]:
    """The pixel terms of one output scale: L1, multi-scale SSIM and the mouth L1 (each already weighted)."""
    return {
        "l1": weights.l1_weight * pyramid_l1(output, target),
        "ssim": weights.ssim_weight * multiscale_ssim_loss(output, target),
        "mouth": weights.mouth_weight * masked_l1(output, target, mouth_mask(points, output.shape[-1])),
    }


# ------------------------------------------------------------------ adversarial


def discriminator_loss(real: list[list[torch.Tensor]], fake: list[list[torch.Tensor]]) -> torch.Tensor:
    """Least-squares GAN (Mao et al. 2017): real patches -> 1, generated -> 0, summed over scales."""
    return sum(((r[-1] - 1) ** 2).mean() + (f[-1] ** 2).mean() for r, f in zip(real, fake))


def generator_gan_loss(fake: list[list[torch.Tensor]]) -> torch.Tensor:
    return sum(((f[-1] - 1) ** 2).mean() for f in fake)


def feature_matching_loss(real: list[list[torch.Tensor]], fake: list[list[torch.Tensor]]) -> torch.Tensor:
    """L1 between the discriminator's intermediate features of the real and the generated frame."""
    terms = [(f - r.detach()).abs().mean() for rs, fs in zip(real, fake) for r, f in zip(rs[:-1], fs[:-1])]
    return sum(terms) / max(len(terms), 1)


# ------------------------------------------------------------------ equivariance


def random_similarity(batch: int, generator: torch.Generator, degrees: float = 5.0, scale: float = 0.05,
                      shift: float = 0.05) -> torch.Tensor:
    """(B, 2, 3) forward maps p -> s R p + t of normalised image coordinates."""
    def uniform(limit: float) -> torch.Tensor:
        return (torch.rand(batch, generator=generator) * 2 - 1) * limit

    angle, s = uniform(math.radians(degrees)), 1 + uniform(scale)
    t = torch.stack([uniform(shift), uniform(shift)], 1)
    a = torch.stack([torch.stack([s * angle.cos(), -s * angle.sin()], 1),
                     torch.stack([s * angle.sin(), s * angle.cos()], 1)], 1)
    return torch.cat([a, t[:, :, None]], 2)


def _det_2x2(a: torch.Tensor) -> torch.Tensor:
    return a[:, 0, 0] * a[:, 1, 1] - a[:, 0, 1] * a[:, 1, 0]


def _inverse_2x2(a: torch.Tensor) -> torch.Tensor:
    """Closed form (torch.linalg.inv checks its result on the host: a GPU sync every step)."""
    adjugate = torch.stack([torch.stack([a[:, 1, 1], -a[:, 0, 1]], 1), torch.stack([-a[:, 1, 0], a[:, 0, 0]], 1)], 1)
    return adjugate / _det_2x2(a).view(-1, 1, 1)


def warp_images(images: torch.Tensor, forward: torch.Tensor) -> torch.Tensor:
    """Images moved by the forward maps (B, 2, 3): out(T p) = in(p); zeros where nothing maps."""
    a, t = forward[:, :, :2], forward[:, :, 2:]
    inverse = _inverse_2x2(a)
    theta = torch.cat([inverse, -inverse @ t], 2).to(images.dtype)
    grid = F.affine_grid(theta, list(images.shape), align_corners=False)
    return F.grid_sample(images, grid, align_corners=False, padding_mode="zeros")


def transform_driving(inputs: DrivingInputs, forward: torch.Tensor) -> DrivingInputs:
    """The driving side (part 1's frame, driving landmarks, rotation) moved by the similarity; the
    source stays. An in-plane turn by angle a turns the head rotation by Rz(a)."""
    a, t = forward[:, :, :2].to(inputs.driving_points.dtype), forward[:, :, 2].to(inputs.driving_points.dtype)
    scale = torch.sqrt(_det_2x2(a)).view(-1, 1, 1)
    points = inputs.driving_points
    xy = points[..., :2] @ a.transpose(1, 2) + t[:, None, :]
    rz = torch.zeros_like(inputs.rotation)
    rz[:, :2, :2] = a / scale
    rz[:, 2, 2] = 1.0
    return DrivingInputs(
        source=inputs.source, warped=warp_images(inputs.warped, forward),
        warped_full=warp_images(inputs.warped_full, forward),
        source_points=inputs.source_points, driving_points=torch.cat([xy, points[..., 2:] * scale], -1),
        rotation=rz @ inputs.rotation,
    )


def equivariance_loss(moved_output: torch.Tensor, output: torch.Tensor, forward: torch.Tensor) -> torch.Tensor:
    """L1 between the output for moved inputs and the moved output, where the moved output is defined."""
    reference = warp_images(output, forward)
    valid = warp_images(torch.ones_like(output[:, :1]), forward) > 0.999
    return masked_l1(moved_output, reference, valid.to(output.dtype))


# ------------------------------------------------------------------ perceptual (optional)

VGG19_LAYERS = (64, 64, "M", 128, 128, "M", 256, 256, 256, 256, "M", 512, 512, 512, 512, "M", 512)
VGG_TAPS = (1, 6, 11, 20, 29)  # relu1_1, relu2_1, relu3_1, relu4_1, relu5_1 in torchvision's `features`
VGG_WEIGHTS = (1 / 32, 1 / 16, 1 / 8, 1 / 4, 1.0)  # pix2pixHD's weights of the taps


class VGG19Features(nn.Module):
    """torchvision's VGG-19 `features` up to relu5_1, frozen, for the perceptual loss (Johnson et al. 2016)."""

    def __init__(self) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        cin = 3
        for item in VGG19_LAYERS:
            if item == "M":
                layers.append(nn.MaxPool2d(2, 2))
            else:
                layers += [nn.Conv2d(cin, item, 3, 1, 1), nn.ReLU(inplace=False)]
                cin = item
        self.features = nn.Sequential(*layers[: VGG_TAPS[-1] + 1])
        self.register_buffer("mean", torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1))
        self.register_buffer("std", torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1))
        self.requires_grad_(False)

    @classmethod
    def from_file(cls, path: str | Path) -> VGG19Features:
        """Weights of torchvision's `vgg19` (e.g. vgg19-dcbb9e9d.pth): `features.N.weight/bias` keys."""
        path = Path(path)
        if not path.is_file():
            raise InputError(f"VGG-19 weights file not found: {path}")
        try:
            state = torch.load(path, map_location="cpu", weights_only=True)
        except Exception as exc:  # any unpickling failure is a bad file for the user
            raise InputError(f"{path} is not a readable weights file ({type(exc).__name__})") from None
        model = cls()
        wanted = model.features.state_dict()
        found = {k.removeprefix("features."): v for k, v in state.items()} if isinstance(state, dict) else {}
        missing = [k for k, v in wanted.items() if k not in found or tuple(found[k].shape) != tuple(v.shape)]
        if missing:
            raise InputError(f"{path} does not hold torchvision VGG-19 weights (missing or wrong: features.{missing[0]})")
        model.features.load_state_dict({k: found[k] for k in wanted})
        return model.eval()

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        x = (x - self.mean) / self.std
        taps = []
        for index, layer in enumerate(self.features):
            x = layer(x)
            if index in VGG_TAPS:
                taps.append(x)
        return taps


def perceptual_loss(vgg: VGG19Features, output: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    side = min(output.shape[-1], 256)  # VGG at most at 256 px keeps the cost bounded at 512
    a, b = vgg(resize(output, side)), vgg(resize(target, side))
    return sum(w * (x - y.detach()).abs().mean() for w, x, y in zip(VGG_WEIGHTS, a, b))
