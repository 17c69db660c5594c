"""Reading and writing the learned models' checkpoints: dicts of tensors and plain data only
(`torch.load(weights_only=True)` reads them), written atomically; every failure is one line."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import torch

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
