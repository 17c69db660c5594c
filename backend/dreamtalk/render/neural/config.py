"""The neural renderer's settings: the network (`NeuralRendererConfig`, stored in every checkpoint),
its training (`RendererTrainConfig`) and the data preparation (`PrepareConfig`).

Import-light on purpose (dataclasses only): the GPU benchmark imports it on a machine without kornia,
PyAV or MediaPipe.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from typing import Any, Literal

from ...core.errors import InputError


@dataclass(frozen=True)
class NeuralRendererConfig:
    """The generator (appearance volume, dense motion, SPADE decoder, optional x2 upsampler) and discriminator."""

    size: int = 256  # core resolution: source, part-1 frame and output side in pixels (multiple of 16)
    upsample: bool = False  # add the x2 upsampler: output at 2 * size (512 for the default core)
    base_channels: int = 64  # width of the first 2-D layers; deeper layers use 2x and 4x this
    volume_channels: int = 32  # channels of the 3-D appearance volume
    volume_depth: int = 16  # depth bins of the 3-D appearance volume
    volume_blocks: int = 3  # 3-D residual blocks refining the appearance volume
    motion_channels: int = 32  # width of the dense-motion hourglass
    motion_levels: int = 3  # down-samplings of the dense-motion hourglass (height and width only)
    compressed_channels: int = 4  # source-volume channels each keypoint's candidate motion carries into it
    keypoint_variance: float = 0.01  # of the 3-D Gaussians around keypoints (normalised coordinates squared)
    heatmap_sigma: float = 1.0  # of the 2-D landmark heatmaps, in pixels of the volume grid (size / 4)
    decoder_blocks: int = 3  # SPADE residual blocks at the volume resolution before up-sampling
    blend_bias: float = -4.0  # initial blend logit: an untrained network returns (almost) the part-1 frame
    disc_channels: int = 64  # width of the first discriminator layer
    disc_scales: int = 2  # patch discriminators at full, 1/2, ... resolution
    disc_layers: int = 4  # stride-2 layers of each patch discriminator

    def __post_init__(self) -> None:
        if self.size % 16 or not 32 <= self.size <= 1024:
            raise InputError(f"the renderer's core size must be a multiple of 16 in 32..1024, got {self.size}")
        if self.volume_depth < 2 or self.volume_channels < 1 or self.base_channels < 4:
            raise InputError("the renderer's volume depth must be >= 2, channels >= 1 and base channels >= 4")
        if (self.size // 4) % (2 ** self.motion_levels):
            raise InputError(f"size / 4 = {self.size // 4} must be divisible by 2**motion_levels")

    @property
    def output_size(self) -> int:
        return 2 * self.size if self.upsample else self.size

    @property
    def grid_size(self) -> int:
        """Side of the feature / volume / motion grid."""
        return self.size // 4


@dataclass(frozen=True)
class RendererTrainConfig:
    """Optimisation, losses, schedule and files of `dreamtalk train renderer`."""

    steps: int = 200_000  # optimizer steps in all (per process; DDP multiplies the pairs seen)
    batch: int = 8  # (source, driving) pairs per step per process
    lr: float = 2e-4  # Adam learning rate of the generator
    disc_lr: float = 2e-4  # Adam learning rate of the discriminator
    betas: tuple[float, float] = (0.5, 0.999)  # Adam betas (GAN practice)
    grad_clip: float = 10.0  # generator gradient-norm clip
    precision: Literal["bf16", "fp32"] = "bf16"  # autocast on CUDA (the CPU always runs fp32)
    l1_weight: float = 10.0  # pixel L1 at every output scale
    ssim_weight: float = 5.0  # 1 - multi-scale SSIM
    mouth_weight: float = 20.0  # L1 inside the driving mouth box (teeth, tongue, lip seal)
    gan_weight: float = 1.0  # least-squares GAN term of the generator
    feature_matching_weight: float = 10.0  # discriminator feature matching (pix2pixHD)
    equivariance_weight: float = 5.0  # consistency under a random similarity of the driving side (0: off)
    perceptual_weight: float = 10.0  # VGG-19 perceptual term, only with a user-supplied weights file
    gan_start: int = 2_000  # steps of reconstruction-only warm-up before the GAN terms switch on
    val_pairs: int = 64  # fixed held-out pairs the validation loss averages over
    save_every: int = 2_000  # steps between checkpoints (and validation losses)
    sample_every: int = 2_000  # steps between sample grids (source | part 1 | output | target)
    log_every: int = 50  # steps between log lines
    prefetch: int = 3  # batches the loader thread keeps ready (pinned, already on the device)
    seed: int = 0  # initial weights and pair sampling

    def __post_init__(self) -> None:
        if self.steps < 0 or self.batch < 1 or self.save_every < 1 or self.log_every < 1 or self.sample_every < 1:
            raise InputError("steps must be >= 0 and batch, save/sample/log intervals >= 1")


@dataclass(frozen=True)
class PrepareConfig:
    """`dreamtalk renderer prepare`: face analysis, crops, and the part-1 frames of the training pairs."""

    size: int = 256  # stored frame side: the renderer's output size (256, or 512 with the upsampler)
    clip_seconds: float = 10.0  # a video is cut into clips this long, each with one fixed crop
    crop_scale: float = 2.6  # crop side as a multiple of the face height (as `dreamtalk render` frames a portrait)
    crop_lift: float = 0.12  # crop centre above the face centre, in face heights
    min_eye_distance: float = 24.0  # pixels between the eyes in the original frame, else the frame is skipped
    sources_per_clip: int = 8  # frames of a clip that serve as source images
    pairs_per_frame: int = 2  # part-1 renders stored per driving frame, each from a random source
    val_fraction: float = 0.1  # share of videos held out for validation (at least one when there are two)
    face: Literal["single", "largest"] = "largest"  # with several faces in a frame: skip it, or take the largest
    seed: int = 0  # choice of sources and pairs

    def __post_init__(self) -> None:
        if self.size % 16 or not 32 <= self.size <= 1024:
            raise InputError(f"--size must be a multiple of 16 in 32..1024, got {self.size}")
        if self.sources_per_clip < 1 or self.pairs_per_frame < 1:
            raise InputError("sources per clip and pairs per frame must be at least 1")
        if not 0.0 <= self.val_fraction < 1.0:
            raise InputError(f"--val-fraction must be in [0, 1), got {self.val_fraction}")


def config_to_dict(config: Any) -> dict[str, Any]:
    """Plain data for a checkpoint (tuples become lists)."""
    return {key: list(value) if isinstance(value, tuple) else value for key, value in asdict(config).items()}


def config_from_dict(cls: type, data: dict[str, Any]):
    """Rebuild a config from `config_to_dict` data; unknown keys are ignored, missing ones take defaults."""
    known = {f.name for f in fields(cls)}
    values = {key: tuple(value) if isinstance(value, list) else value for key, value in data.items() if key in known}
    return cls(**values)
