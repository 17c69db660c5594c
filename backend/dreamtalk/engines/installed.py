"""Which checkpoints the learned engines use: an environment variable, else the shipped file.

* EmoDiff: $DREAMTALK_EMODIFF_CHECKPOINT, else `models/emodiff/weights/emodiff.pt`; without one the
  engine stops with a one-line error before any work.
* Lip refiner: $DREAMTALK_LIP_CHECKPOINT, else `models/lip/weights/lip.pt`. Set the variable to `off`
  to run without refinement; a variable naming a missing file is an error, while a build without the
  shipped file simply does not refine.
* Articulation detector: $DREAMTALK_ARTICULATION_CHECKPOINT, else `models/articulation/weights/articulation.pt`,
  the same rules (`off` refines without it). It runs in the refinement stage, so $DREAMTALK_LIP_CHECKPOINT=off
  turns it off too (`refinement_off`).

Each file is loaded once per device and reloaded when it changes (engines run in server threads: the
cache is `lru_cache`, which is thread-safe; a server with workers on two GPUs holds a copy on each).
"""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path

from ..core.errors import InputError
from ..models.articulation.model import ArticulationModel
from ..models.emodiff.model import EmoDiff
from ..models.lip.model import LipModel

MODELS = Path(__file__).resolve().parents[1] / "models"
EMODIFF_ENV = "DREAMTALK_EMODIFF_CHECKPOINT"
EMODIFF_SHIPPED = MODELS / "emodiff" / "weights" / "emodiff.pt"
LIP_ENV = "DREAMTALK_LIP_CHECKPOINT"
LIP_SHIPPED = MODELS / "lip" / "weights" / "lip.pt"
ARTICULATION_ENV = "DREAMTALK_ARTICULATION_CHECKPOINT"
ARTICULATION_SHIPPED = MODELS / "articulation" / "weights" / "articulation.pt"


def emodiff_checkpoint() -> Path:
    """The EmoDiff checkpoint path the engine uses (it may not exist)."""
    return Path(os.environ.get(EMODIFF_ENV) or EMODIFF_SHIPPED)


@lru_cache(maxsize=8)
def _load_emodiff(path: str, mtime: float, device: str) -> EmoDiff:
    return EmoDiff.load(path).to(device)


@lru_cache(maxsize=8)
def _load_refiner(path: str, mtime: float, device: str) -> LipModel:
    return LipModel.load(path).to(device)


def installed_emodiff(device: str = "cpu") -> EmoDiff:
    """The configured EmoDiff checkpoint on `device`, loaded once (reloaded when the file changes)."""
    path = emodiff_checkpoint()
    if not path.is_file():
        raise InputError(
            f"no EmoDiff checkpoint installed (looked for {path}); train one with "
            f"`dreamtalk train emodiff --corpus DIR` and set {EMODIFF_ENV}, or use --engine procedural"
        )
    return _load_emodiff(str(path), path.stat().st_mtime, str(device))


@lru_cache(maxsize=8)
def _load_articulation(path: str, mtime: float, device: str) -> ArticulationModel:
    return ArticulationModel.load(path).to(device)


def _optional_checkpoint(env: str, shipped: Path, what: str) -> Path | None:
    """The file named by `$env` (None when it says `off`; an error when it is missing), else the shipped
    file when the build has it."""
    named = os.environ.get(env)
    if named and named.lower() == "off":
        return None
    path = Path(named) if named else shipped
    if not path.is_file():
        if named:
            raise InputError(f"{what} checkpoint not found: {path} (from ${env})")
        return None
    return path


def refinement_off() -> bool:
    """Whether $DREAMTALK_LIP_CHECKPOINT turns the whole lip refinement stage off (refiner and detector)."""
    return os.environ.get(LIP_ENV, "").lower() == "off"


def installed_refiner(device: str = "cpu") -> LipModel | None:
    """The configured lip refiner on `device`, loaded once (reloaded when the file changes), or None."""
    path = _optional_checkpoint(LIP_ENV, LIP_SHIPPED, "lip refiner")
    return None if path is None else _load_refiner(str(path), path.stat().st_mtime, str(device))


def installed_articulation(device: str = "cpu") -> ArticulationModel | None:
    """The configured articulation detector on `device`, loaded once (reloaded when it changes), or None."""
    path = _optional_checkpoint(ARTICULATION_ENV, ARTICULATION_SHIPPED, "articulation detector")
    return None if path is None else _load_articulation(str(path), path.stat().st_mtime, str(device))
