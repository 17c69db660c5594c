"""Self-describing neural-renderer checkpoints: kind, format version, the network config, the keypoint
set it was trained with, the weights; training checkpoints add the discriminator, both optimizers,
the step, the loss history and the best validation loss. Tensors and plain data only
(`torch.load(weights_only=True)` reads them), written atomically; every failure is one line.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import torch

from ...core.errors import InputError
from ...learning.checkpoint_io import read_payload, write_payload
from .conditioning import KEYPOINTS, NUM_POINTS
from .config import NeuralRendererConfig, config_from_dict, config_to_dict
from .networks import NeuralGenerator

KIND = "dreamtalk-neural-renderer"
FORMAT_VERSION = 1
WHAT = "neural renderer checkpoint"


def header(config: NeuralRendererConfig) -> dict[str, Any]:
    return {"kind": KIND, "format_version": FORMAT_VERSION, "config": config_to_dict(config),
            "keypoints": list(KEYPOINTS), "landmarks": NUM_POINTS}


def save(path: str | os.PathLike, generator: NeuralGenerator, extra: dict[str, Any] | None = None) -> None:
    """Atomic write of the generator (and any training state in `extra`)."""
    state = {k: v.detach().cpu() for k, v in generator.state_dict().items()}
    write_payload({**header(generator.cfg), "generator": state, **(extra or {})}, path)


def read(path: str | os.PathLike) -> dict[str, Any]:
    """The checked payload of a checkpoint file."""
    data = read_payload(path, WHAT)
    if not isinstance(data, dict) or data.get("kind") != KIND:
        kind = data.get("kind") if isinstance(data, dict) else type(data).__name__
        raise InputError(f"{path} is not a {WHAT} (its kind is {str(kind)[:40]!r})")
    if data.get("format_version") != FORMAT_VERSION:
        raise InputError(f"{WHAT} format {data.get('format_version')} is not supported (this build reads format "
                         f"{FORMAT_VERSION}); retrain or upgrade")
    if list(data.get("keypoints", ())) != list(KEYPOINTS) or data.get("landmarks") != NUM_POINTS:
        raise InputError(f"{path} was trained with a different keypoint set; retrain it with this build")
    return data


def config_of(data: dict[str, Any]) -> NeuralRendererConfig:
    return config_from_dict(NeuralRendererConfig, data["config"])


def generator_from(data: dict[str, Any]) -> NeuralGenerator:
    generator = NeuralGenerator(config_of(data))
    try:
        generator.load_state_dict(data["generator"])
    except (RuntimeError, KeyError) as error:
        raise InputError(f"the {WHAT}'s weights do not fit its config ({str(error).splitlines()[0][:80]})") from None
    return generator.eval()


def load_generator(path: str | os.PathLike, device: torch.device | str = "cpu") -> NeuralGenerator:
    return generator_from(read(path)).to(device)


def export(source: str | os.PathLike, target: str | os.PathLike) -> Path:
    """Write `source` without its training state (discriminator, optimizers, history): the file to ship."""
    save(target, generator_from(read(source)))
    return Path(target)
