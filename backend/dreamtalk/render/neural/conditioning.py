"""What drives the network, in tensors: explicit keypoints, landmark heatmaps and the head rotation.

Face-Vid2Vid (Wang et al., CVPR 2021) learns K 3-D keypoints, their Jacobians and the head pose with
two extra networks. Here they are explicit: the keypoints are K of MediaPipe's landmarks (the rig's
motion transfer puts the driving ones exactly where the animation wants them), the rotation is the
rig's head rotation relative to the portrait, so the network only has to learn appearance.

Coordinates: landmarks in pixels of a square image of side S (pixel centres at integers, z in the
scale of x) -> normalised u = (x + 0.5) / S * 2 - 1 in [-1, 1] (`grid_sample`'s align_corners=False
convention), z the same scale. Rotations act on (x right, y down, z into the picture).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import torch
import torch.nn.functional as F

from ...rig import landmarks as lm

NUM_POINTS = 478  # 468 face-mesh landmarks + 2 x 5 iris points
RIGHT_IRIS, LEFT_IRIS = tuple(range(468, 473)), tuple(range(473, 478))  # centre first
RIGHT_NOSE_WING = 129  # mirror of lm.LEFT_NOSE_WING

# The explicit keypoints (30): brows, eye corners and lids, irises, nose, lips, chin, jaw, forehead.
KEYPOINTS: tuple[int, ...] = (
    107, 70, 336, 300,  # brows: right inner, outer; left inner, outer
    33, 133, 159, 145, 263, 362, 386, 374,  # eyes: corners, upper and lower lid middles
    468, 473,  # iris centres
    lm.NOSE_TIP, lm.SUBNASALE, lm.LEFT_NOSE_WING, RIGHT_NOSE_WING,
    61, 291, 0, 17, 13, 14,  # lips: corners, outer middles, inner middles
    lm.CHIN, 172, 397, 234, 454,  # chin, jaw angles, face sides
    lm.FOREHEAD,
)


@lru_cache(maxsize=1)
def heatmap_groups() -> tuple[tuple[int, ...], ...]:
    """Landmark groups, one heatmap channel each: lips (outer, inner), eyes, irises, brows, nose, outline."""
    from ..mesh import outline

    return (
        lm.UPPER_LIP_OUTER + lm.LOWER_LIP_OUTER,
        lm.UPPER_LIP_INNER + lm.LOWER_LIP_INNER,
        lm.LEFT_EYE_UPPER + lm.LEFT_EYE_LOWER,
        lm.RIGHT_EYE_UPPER + lm.RIGHT_EYE_LOWER,
        LEFT_IRIS,
        RIGHT_IRIS,
        lm.LEFT_BROW + lm.RIGHT_BROW,
        (lm.NOSE_TIP, lm.SUBNASALE, lm.LEFT_NOSE_WING, RIGHT_NOSE_WING, 4, 5, 6, 195, 197),
        tuple(int(i) for i in outline()),
    )


@lru_cache(maxsize=8)
def group_indices(device: torch.device) -> tuple[torch.Tensor, ...]:
    """The groups as index tensors on `device` (made once: no host-to-device copy per batch)."""
    return tuple(torch.tensor(group, device=device) for group in heatmap_groups())


NUM_GROUPS = 9
MOUTH_GROUP = 0  # the outer lips bound the mouth region of the weighted loss


@dataclass
class DrivingInputs:
    """One batch of what the generator sees (all on one device)."""

    source: torch.Tensor  # (B, 3, S, S) float 0..1, the portrait (source frame)
    warped: torch.Tensor  # (B, 3, S, S) float 0..1, part 1's frame at the core size
    warped_full: torch.Tensor  # (B, 3, S', S') float 0..1, part 1's frame at the output size (S' = S or 2S)
    source_points: torch.Tensor  # (B, 478, 3) normalised source landmarks
    driving_points: torch.Tensor  # (B, 478, 3) normalised driving landmarks
    rotation: torch.Tensor  # (B, 3, 3) head rotation from source to driving, camera axes

    def to(self, device: torch.device) -> DrivingInputs:
        return DrivingInputs(*(getattr(self, f).to(device, non_blocking=True) for f in self.__dataclass_fields__))


def normalise(points: torch.Tensor, side: int) -> torch.Tensor:
    """(..., 3) pixel landmarks of a side x side image -> normalised coordinates."""
    xy = (points[..., :2] + 0.5) * (2.0 / side) - 1.0
    return torch.cat([xy, points[..., 2:3] * (2.0 / side)], -1)


def heatmaps(points: torch.Tensor, grid: int, sigma: float) -> torch.Tensor:
    """(B, 478, 3) normalised landmarks -> (B, NUM_GROUPS, grid, grid) Gaussian bumps, max per group."""
    axis = (torch.arange(grid, device=points.device, dtype=points.dtype) + 0.5) * (2.0 / grid) - 1.0
    scale = 2.0 / grid  # one grid pixel in normalised units
    inv = 1.0 / (2.0 * (sigma * scale) ** 2)
    dx = torch.exp(-((axis[None, None, :] - points[..., 0:1]) ** 2) * inv)  # (B, N, grid)
    dy = torch.exp(-((axis[None, None, :] - points[..., 1:2]) ** 2) * inv)
    maps = []
    for group in group_indices(points.device):
        bumps = dy[:, group, :, None] * dx[:, group, None, :]  # (B, n, grid, grid) separable Gaussian
        maps.append(bumps.amax(1))
    return torch.stack(maps, 1)


def identity_grid(depth: int, height: int, width: int, device: torch.device, dtype=torch.float32) -> torch.Tensor:
    """(depth, height, width, 3) normalised (x, y, z) of every voxel centre."""
    def axis(n: int) -> torch.Tensor:
        return (torch.arange(n, device=device, dtype=dtype) + 0.5) * (2.0 / n) - 1.0

    z, y, x = torch.meshgrid(axis(depth), axis(height), axis(width), indexing="ij")
    return torch.stack([x, y, z], -1)


def keypoint_motions(grid: torch.Tensor, kp_source: torch.Tensor, kp_driving: torch.Tensor,
                     rotation: torch.Tensor) -> torch.Tensor:
    """Backward candidate motions (Face-Vid2Vid): for a driving voxel p, where to read the source.

    Identity first (still background), then per keypoint k: x_s,k + R^T (p - x_d,k), the head turned
    back about that keypoint. grid (D, H, W, 3); keypoints (B, K, 3); rotation (B, 3, 3) source -> driving.
    Returns (B, K + 1, D, H, W, 3).
    """
    batch = kp_source.shape[0]
    p = grid[None, None]  # (1, 1, D, H, W, 3)
    relative = p - kp_driving[:, :, None, None, None, :]  # (B, K, D, H, W, 3)
    turned = torch.einsum("bij,bkdhwi->bkdhwj", rotation, relative)  # R^T (p - x_d): row vector times R
    moved = turned + kp_source[:, :, None, None, None, :]
    identity = p.expand(batch, 1, *grid.shape)
    return torch.cat([identity, moved], 1)


def keypoint_gaussians(grid: torch.Tensor, points: torch.Tensor, variance: float) -> torch.Tensor:
    """(D, H, W, 3) grid, (B, K, 3) points -> (B, K, D, H, W) exp(-|p - x_k|^2 / (2 variance))."""
    d2 = ((grid[None, None] - points[:, :, None, None, None, :]) ** 2).sum(-1)
    return torch.exp(-0.5 * d2 / variance)


def to_images(pixels: torch.Tensor) -> torch.Tensor:
    """(B, H, W, 3) uint8 -> (B, 3, H, W) float 0..1, contiguous (a permuted view would make every
    convolution run channels-last, and much slower with group norm on the CPU)."""
    return pixels.permute(0, 3, 1, 2).float().div_(255.0).contiguous()


def resize(images: torch.Tensor, side: int) -> torch.Tensor:
    """Area down-sampling / bilinear up-sampling of (B, C, H, W) to side x side."""
    if images.shape[-1] == side:
        return images
    mode = "area" if images.shape[-1] > side else "bilinear"
    return F.interpolate(images, size=(side, side), mode=mode, **({} if mode == "area" else {"align_corners": False}))


def inputs_from_arrays(arrays: dict[str, torch.Tensor], core: int, output: int) -> DrivingInputs:
    """Stored uint8 frames + pixel landmarks (as the data loader and the renderer give them) -> inputs.

    arrays: source, warped (B, S, S, 3) uint8; source_points, driving_points (B, 478, 3) pixels of S;
    rotation (B, 3, 3).
    """
    side = arrays["source"].shape[1]
    warped = to_images(arrays["warped"])
    return DrivingInputs(
        source=resize(to_images(arrays["source"]), core),
        warped=resize(warped, core),
        warped_full=resize(warped, output),
        source_points=normalise(arrays["source_points"].float(), side),
        driving_points=normalise(arrays["driving_points"].float(), side),
        rotation=arrays["rotation"].float(),
    )
