"""Self-describing checkpoints for the learned models, one implementation for all of them.

A checkpoint is a dict of tensors and plain data only (`torch.load(weights_only=True)` reads it),
written atomically. It names its `kind`, its `format_version` and the ARKit channel order; the rest
comes from the model's `to_dict()`. `Checkpointed` gives a model class `save`, `load`, `read_payload`
and `export` (the file without training state); every failure is one line (nanoGPT / diffusers style).
"""

from __future__ import annotations

import os
from dataclasses import asdict, fields
from pathlib import Path
from typing import Any, ClassVar, Self

import numpy as np
import torch

from ..core.arkit import ARKIT_NAMES
from ..core.errors import InputError
from ..core.formats import atomic_write


def write_payload(payload: dict[str, Any], path: str | os.PathLike) -> None:
    """Atomic `torch.save` of a checkpoint payload."""
    atomic_write(path, lambda handle: torch.save(payload, handle))


def read_payload(path: str | os.PathLike, what: str) -> dict[str, Any]:
    """The payload at `path`; `what` names the kind in errors ("EmoDiff checkpoint")."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{what} not found: {path}")
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # any unpickling failure: a bad file for the user
        raise InputError(f"{path} is not a readable {what} ({type(exc).__name__})") from None


class Checkpointed:
    """Checkpoint files for a model class whose `to_dict()` is the payload (starting with
    `checkpoint_header()`) and whose `from_dict(data)` rebuilds it (after `check_payload(data)`)."""

    KIND: ClassVar[str]  # the payload's "kind"
    WHAT: ClassVar[str]  # how errors name the file, e.g. "EmoDiff checkpoint"
    FORMAT_VERSION: ClassVar[int]  # bump on any incompatible change of the payload

    def to_dict(self) -> dict[str, Any]:
        raise NotImplementedError

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Self:
        raise NotImplementedError

    @classmethod
    def checkpoint_header(cls) -> dict[str, Any]:
        """The fields that identify a payload: kind, format version, ARKit channel order."""
        return {"format_version": cls.FORMAT_VERSION, "kind": cls.KIND, "arkit_names": list(ARKIT_NAMES)}

    @classmethod
    def check_payload(cls, data: dict[str, Any]) -> None:
        """One-line errors for anything that is not a checkpoint of this kind this build can read."""
        if data.get("kind") != cls.KIND:
            article = "an" if cls.WHAT[0].lower() in "aeiou" else "a"
            raise InputError(f"not {article} {cls.WHAT} (its kind is {str(data.get('kind'))[:40]!r})")
        if int(data.get("format_version", -1)) != cls.FORMAT_VERSION:
            raise InputError(
                f"{cls.WHAT} format {data.get('format_version')} is not supported (this build reads "
                f"format {cls.FORMAT_VERSION}); retrain or upgrade"
            )
        if tuple(data.get("arkit_names", ())) != ARKIT_NAMES:
            raise InputError(f"{cls.WHAT} uses a different ARKit channel order")

    def save(self, path: str | os.PathLike, extra: dict[str, Any] | None = None) -> None:
        """Atomic write of a checkpoint (optionally with training state in `extra`)."""
        write_payload({**self.to_dict(), **(extra or {})}, path)

    @classmethod
    def read_payload(cls, path: str | os.PathLike) -> dict[str, Any]:
        """The raw payload: the model and any training state (`from_dict` checks it)."""
        return read_payload(path, cls.WHAT)

    @classmethod
    def load(cls, path: str | os.PathLike) -> Self:
        """Rebuild the model from a checkpoint file."""
        return cls.from_dict(cls.read_payload(path))

    @classmethod
    def export(cls, src: str | os.PathLike, dst: str | os.PathLike) -> Path:
        """Write `src` without its training state (optimizer, loss history): the file to ship."""
        cls.load(src).save(dst)
        return Path(dst)


class NetworkCheckpointed(Checkpointed):
    """A `Checkpointed` model made of a network with a config dataclass (`net.cfg`), the statistics of its
    inputs (`mean`, `std`) and the audio front end it reads (`front_end`), whose payload also records one
    list of names the build must agree on (the lip refiner's mouth group, the detector's phone set)."""

    NETWORK_CLASS: ClassVar[type]  # the network class, built from CONFIG_CLASS
    CONFIG_CLASS: ClassVar[type]  # its config dataclass
    NAMES_KEY: ClassVar[str]  # payload field of the names
    NAMES: ClassVar[tuple[str, ...]]  # what this build expects there
    NAMES_WHAT: ClassVar[str]  # how errors call them, e.g. "mouth group"

    @property
    def cfg(self):
        return self.net.cfg

    def to_dict(self) -> dict[str, Any]:
        return {**self.checkpoint_header(), **network_payload(self.net, self.mean, self.std, self.front_end),
                self.NAMES_KEY: list(self.NAMES)}

    @classmethod
    def check_payload(cls, data: dict[str, Any]) -> None:
        super().check_payload(data)
        if tuple(data.get(cls.NAMES_KEY, ())) != cls.NAMES:
            raise InputError(f"{cls.WHAT} uses a different {cls.NAMES_WHAT}")

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Self:
        cls.check_payload(data)
        return cls(*network_from_payload(data, cls.NETWORK_CLASS, cls.CONFIG_CLASS))


def network_payload(net: torch.nn.Module, mean: np.ndarray, std: np.ndarray, front_end: str) -> dict[str, Any]:
    """The payload fields of a network with a config dataclass `net.cfg`, the statistics of its inputs and the
    audio front end it reads (the lip refiner, the articulation detector)."""
    return {"config": asdict(net.cfg), "state_dict": {k: v.detach().cpu() for k, v in net.state_dict().items()},
            "mean": torch.from_numpy(mean), "std": torch.from_numpy(std), "audio_front_end": front_end}


def network_from_payload(data: dict[str, Any], net_class, config_class
                         ) -> tuple[torch.nn.Module, np.ndarray, np.ndarray, str]:
    """(network in eval mode, mean, std, front-end tag) from `network_payload` fields; config keys this build
    does not know are ignored (a file from a newer build with an extra setting still loads)."""
    names = {f.name for f in fields(config_class)}
    net = net_class(config_class(**{k: v for k, v in data["config"].items() if k in names}))
    net.load_state_dict(data["state_dict"])
    net.eval()
    return (net, data["mean"].numpy().astype(np.float32), data["std"].numpy().astype(np.float32),
            str(data["audio_front_end"]))
