"""`EmoDiff`: denoiser + schedule config + normalisation stats + style presets + audio front end + the
sampler settings it was tuned with (config travels with the model, as in diffusers), with
self-describing checkpoints (nanoGPT / diffusers style: config, stats as arrays, ARKit order,
audio-feature type, format version; only tensors and plain data, so `weights_only=True` loads it;
`learning.checkpoint_io.Checkpointed` reads and writes them). Checkpoints written before the sampler
settings were stored load with `SamplerConfig()`'s defaults, which are the settings they were tuned with."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np
import torch

from ...core.arkit import HEAD_POSE_NAMES
from ...learning.checkpoint_io import Checkpointed
from ...learning.devices import OnDevice
from ..pose import denormalize, normalize
from .conditions import fit_style, without_blinks
from .config import (
    FORMAT_VERSION,
    DenoiserConfig,
    DiffusionConfig,
    SamplerConfig,
    config_from_dict,
    config_to_dict,
)
from .denoiser import Denoiser


@dataclass
class EmoDiff(OnDevice, Checkpointed):
    """Everything needed to sample: the network and the data it was trained on, described."""

    KIND: ClassVar[str] = "emodiff"
    NETWORK: ClassVar[str] = "denoiser"  # the attribute `device` and `to` act on
    WHAT: ClassVar[str] = "EmoDiff checkpoint"
    FORMAT_VERSION: ClassVar[int] = FORMAT_VERSION

    denoiser: Denoiser
    diffusion: DiffusionConfig
    mean: np.ndarray  # (P,) per-channel mean of x
    std: np.ndarray  # (P,) per-channel std of x (floored)
    front_end: str  # audio front-end tag (dreamtalk.features)
    presets: dict[str, np.ndarray] = field(default_factory=dict)  # name -> (K, P) raw style frames
    sampler: SamplerConfig = field(default_factory=SamplerConfig)  # the tuned sampler settings (defaults)

    @property
    def cfg(self) -> DenoiserConfig:
        return self.denoiser.cfg

    def normalize(self, x: np.ndarray) -> np.ndarray:
        return normalize(x, self.mean, self.std)

    def denormalize(self, z: np.ndarray) -> np.ndarray:
        return denormalize(z, self.mean, self.std)

    def style(self, x: np.ndarray) -> np.ndarray:
        """`(K, P)` normalised style frames from raw `(T, P)` frames (a preset, a clip): fitted to the model's
        style length, with blinks taken out for a model that draws blinks as events (`without_blinks`)."""
        raw = without_blinks(x) if self.sampler.blinks == "events" else np.asarray(x, np.float32)
        return fit_style(self.normalize(raw), self.cfg.style_frames)

    def to_dict(self) -> dict[str, Any]:
        """The checkpoint payload (plain data + tensors)."""
        return {
            **self.checkpoint_header(),
            "denoiser_config": config_to_dict(self.cfg),
            "diffusion_config": config_to_dict(self.diffusion),
            "state_dict": {k: v.detach().cpu() for k, v in self.denoiser.state_dict().items()},
            "mean": torch.from_numpy(self.mean),
            "std": torch.from_numpy(self.std),
            "head_pose_names": list(HEAD_POSE_NAMES),
            "audio_front_end": self.front_end,
            "presets": {k: torch.from_numpy(np.asarray(v, np.float32)) for k, v in self.presets.items()},
            "sampler_config": config_to_dict(self.sampler),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> EmoDiff:
        cls.check_payload(data)
        denoiser = Denoiser(config_from_dict(DenoiserConfig, data["denoiser_config"]))
        denoiser.load_state_dict(data["state_dict"])
        denoiser.eval()
        return cls(
            denoiser=denoiser,
            diffusion=config_from_dict(DiffusionConfig, data["diffusion_config"]),
            mean=data["mean"].numpy().astype(np.float32),
            std=data["std"].numpy().astype(np.float32),
            front_end=str(data["audio_front_end"]),
            presets={k: v.numpy().astype(np.float32) for k, v in data.get("presets", {}).items()},
            sampler=config_from_dict(SamplerConfig, data.get("sampler_config", {})),  # older files: defaults
        )
