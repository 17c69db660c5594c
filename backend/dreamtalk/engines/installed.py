"""The installed lip refiner: $DREAMTALK_LIP_CHECKPOINT, else the shipped `weights/lip.pt`.

Set the variable to `off` to run without refinement; a variable naming a missing file is an error,
while a build without the shipped file simply does not refine.
"""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path

from ..core.errors import InputError
from ..models.lip.model import LipModel, load

ENV_VAR = "DREAMTALK_LIP_CHECKPOINT"
DEFAULT_CHECKPOINT = Path(__file__).resolve().parents[1] / "models" / "lip" / "weights" / "lip.pt"


@lru_cache(maxsize=2)
def _load(path: str, mtime: float) -> LipModel:
    return load(path)


def installed_refiner() -> LipModel | None:
    """The configured refiner, loaded once (reloaded when the file changes), or None."""
    named = os.environ.get(ENV_VAR)
    if named and named.lower() == "off":
        return None
    path = Path(named) if named else DEFAULT_CHECKPOINT
    if not path.is_file():
        if named:
            raise InputError(f"lip refiner checkpoint not found: {path} (from ${ENV_VAR})")
        return None
    return _load(str(path), path.stat().st_mtime)
