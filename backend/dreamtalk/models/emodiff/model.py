"""`EmoDiff`: denoiser + schedule config + normalisation stats + style presets + audio front end,
with self-describing checkpoints (nanoGPT / diffusers style: config, stats as arrays, ARKit order,
audio-feature type, format version; only tensors and plain data, so `weights_only=True` loads it)."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ...core.arkit import ARKIT_NAMES, HEAD_POSE_NAMES
from ...core.errors import InputError
from ...learning.checkpoint_io import read_payload, write_payload
from .config import (
    FORMAT_VERSION,
    DenoiserConfig,
    DiffusionConfig,
    config_from_dict,
    config_to_dict,
)
from .denoiser import Denoiser

STD_FLOOR = 0.02  # channels that barely move are scaled as if they had this std


@dataclass
class EmoDiff:
    """Everything needed to sample: the network and the data it was trained on, described."""

    denoiser: Denoiser
    diffusion: DiffusionConfig
    mean: np.ndarray  # (P,) per-channel mean of x
    std: np.ndarray  # (P,) per-channel std of x (floored)
    front_end: str = "logmel-1"  # audio front-end tag (dreamtalk.features)
    presets: dict[str, np.ndarray] = field(default_factory=dict)  # name -> (K, P) raw style frames

    @property
    def cfg(self) -> DenoiserConfig:
        return self.denoiser.cfg

    def normalize(self, x: np.ndarray) -> np.ndarray:
        return ((np.asarray(x, np.float32) - self.mean) / self.std).astype(np.float32)

    def denormalize(self, z: np.ndarray) -> np.ndarray:
        return (np.asarray(z, np.float32) * self.std + self.mean).astype(np.float32)

    def to_dict(self) -> dict[str, Any]:
        """The checkpoint payload (plain data + tensors)."""
        return {
            "format_version": FORMAT_VERSION,
            "kind": "emodiff",
            "denoiser_config": config_to_dict(self.cfg),
            "diffusion_config": config_to_dict(self.diffusion),
            "state_dict": {k: v.detach().cpu() for k, v in self.denoiser.state_dict().items()},
            "mean": torch.from_numpy(self.mean),
            "std": torch.from_numpy(self.std),
            "arkit_names": list(ARKIT_NAMES),
            "head_pose_names": list(HEAD_POSE_NAMES),
            "audio_front_end": self.front_end,
            "presets": {k: torch.from_numpy(np.asarray(v, np.float32)) for k, v in self.presets.items()},
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> EmoDiff:
        check_payload(data)
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
        )


def check_payload(data: dict[str, Any]) -> None:
    """One-line errors for anything that is not an EmoDiff checkpoint this build can read."""
    if data.get("kind") != "emodiff":
        raise InputError("not an EmoDiff checkpoint")
    if int(data.get("format_version", -1)) != FORMAT_VERSION:
        raise InputError(
            f"EmoDiff checkpoint format {data.get('format_version')} is not supported (this build reads "
            f"format {FORMAT_VERSION}); retrain or upgrade"
        )
    if tuple(data.get("arkit_names", ())) != ARKIT_NAMES:
        raise InputError("EmoDiff checkpoint uses a different ARKit channel order")


def save(model: EmoDiff, path: str | os.PathLike, extra: dict[str, Any] | None = None) -> None:
    """Atomic write of a checkpoint (optionally with training state in `extra`)."""
    write_payload({**model.to_dict(), **(extra or {})}, path)


def load_payload(path: str | os.PathLike) -> dict[str, Any]:
    return read_payload(path, "EmoDiff checkpoint")


def load(path: str | os.PathLike) -> EmoDiff:
    """Rebuild the model from a checkpoint file."""
    return EmoDiff.from_dict(load_payload(path))


def export(src: str | os.PathLike, dst: str | os.PathLike) -> Path:
    """Write `src` without its training state (optimizer, loss history): the file to ship."""
    save(load(src), dst)
    return Path(dst)
