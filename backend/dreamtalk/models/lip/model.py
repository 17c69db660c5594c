"""`LipModel`: the refiner network + normalisation statistics + audio front end, with
self-describing checkpoints (config, statistics, ARKit order and the refined group, front-end tag,
format version; tensors and plain data only, so `weights_only=True` loads them)."""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ...core.arkit import ARKIT_NAMES, MOUTH, indices
from ...core.errors import InputError
from ...learning.checkpoint_io import read_payload, write_payload
from .config import FORMAT_VERSION, LipRefinerConfig
from .network import LipRefiner

MOUTH_INDEX = np.array(indices(MOUTH))  # columns of x (52 ARKit + 3 pose) the refiner owns
STD_FLOOR = 0.02  # channels that barely move are scaled as if they had this std


@dataclass
class LipModel:
    """Everything needed to refine: the network and the statistics of the data it was trained on."""

    net: LipRefiner
    mean: np.ndarray  # (P,) per-channel mean of x (52 ARKit + 3 head pose)
    std: np.ndarray  # (P,) per-channel std of x (floored)
    front_end: str  # audio front-end tag (dreamtalk.features)

    @property
    def cfg(self) -> LipRefinerConfig:
        return self.net.cfg

    def normalize(self, x: np.ndarray) -> np.ndarray:
        return ((np.asarray(x, np.float32) - self.mean) / self.std).astype(np.float32)

    def to_dict(self) -> dict[str, Any]:
        return {
            "format_version": FORMAT_VERSION,
            "kind": "lip-refiner",
            "config": asdict(self.cfg),
            "state_dict": {k: v.detach().cpu() for k, v in self.net.state_dict().items()},
            "mean": torch.from_numpy(self.mean),
            "std": torch.from_numpy(self.std),
            "arkit_names": list(ARKIT_NAMES),
            "refined_names": list(MOUTH),
            "audio_front_end": self.front_end,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> LipModel:
        check_payload(data)
        names = {f.name for f in fields(LipRefinerConfig)}
        net = LipRefiner(LipRefinerConfig(**{k: v for k, v in data["config"].items() if k in names}))
        net.load_state_dict(data["state_dict"])
        net.eval()
        return cls(net, data["mean"].numpy().astype(np.float32), data["std"].numpy().astype(np.float32),
                   str(data["audio_front_end"]))


def check_payload(data: dict[str, Any]) -> None:
    """One-line errors for anything that is not a lip checkpoint this build can read."""
    if data.get("kind") != "lip-refiner":
        raise InputError("not a lip refiner checkpoint")
    if int(data.get("format_version", -1)) != FORMAT_VERSION:
        raise InputError(f"lip refiner checkpoint format {data.get('format_version')} is not supported "
                         f"(this build reads format {FORMAT_VERSION}); retrain or upgrade")
    if tuple(data.get("arkit_names", ())) != ARKIT_NAMES or tuple(data.get("refined_names", ())) != MOUTH:
        raise InputError("lip refiner checkpoint uses a different ARKit channel order or mouth group")


def save(model: LipModel, path: str | os.PathLike, extra: dict[str, Any] | None = None) -> None:
    """Atomic write of a checkpoint (optionally with training state in `extra`)."""
    write_payload({**model.to_dict(), **(extra or {})}, path)


def load_payload(path: str | os.PathLike) -> dict[str, Any]:
    return read_payload(path, "lip refiner checkpoint")


def load(path: str | os.PathLike) -> LipModel:
    return LipModel.from_dict(load_payload(path))


def export(src: str | os.PathLike, dst: str | os.PathLike) -> Path:
    """Write `src` without its training state: the file to ship."""
    save(load(src), dst)
    return Path(dst)
