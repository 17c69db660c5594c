"""Engines: the pipelines that turn a `GenerateRequest` into one `Curves` per take, and their registry.

Each pipeline is a module here (`procedural`: alignment + the rule engine; `emodiff`: EmoDiff + lip
refinement, with `styles`, `feature_cache` and `installed` checkpoints); the networks, samplers and
training they use live in `dreamtalk.models`, the rule engine in `dreamtalk.procedural`.

Engines are registered lazily (module path + function name) so that listing engines never imports
torch. An engine function has the signature

    run(request: GenerateRequest, progress: Progress) -> list[Curves]

and must call `progress(stage, fraction)` now and then; `progress` raises `Cancelled` when the caller
cancelled the job, which ends the engine cleanly (`Progress` and `Cancelled` live in `core.progress`,
shared with renderers, and are re-exported here). Where an engine runs (device, request batching) is the
calling thread's `Placement` (`engines.placement`), never an argument, so plugins keep this signature.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable

from ..core.curves import Curves
from ..core.errors import InputError
from ..core.locking import check_mask, keep_locked
from ..core.progress import Cancelled, Progress
from ..core.request import GenerateRequest
from .placement import Placement, place_thread, placed

__all__ = ["Cancelled", "Placement", "Progress", "available", "generate", "place_thread", "register", "resolve"]


_ENGINES: dict[str, str] = {
    "procedural": "dreamtalk.engines.procedural:run",
    "emodiff": "dreamtalk.engines.emodiff:run",
}


def register(name: str, target: str | Callable) -> None:
    """Register an engine by 'module:function' path (lazy) or callable."""
    _ENGINES[name] = target  # type: ignore[assignment]


def available() -> list[str]:
    return sorted(_ENGINES)


def resolve(name: str) -> Callable[[GenerateRequest, Progress], list[Curves]]:
    target = _ENGINES.get(name)
    if target is None:
        raise InputError(f"unknown engine {name!r}; available: {', '.join(available())}")
    if callable(target):
        return target
    module, _, function = target.partition(":")
    return getattr(importlib.import_module(module), function)


def generate(request: GenerateRequest, progress: Progress | None = None,
             placement: Placement | None = None) -> list[Curves]:
    """Run the requested engine; returns `request.takes` curves at `request.fps`. `placement` says where the
    learned engines run (default: the calling thread's, see `engines.placement`).

    With locked frames (any rate) every engine's takes come back on the locked frames' grid with those
    frames exactly as given and the generated ones eased onto them (`core.locking.keep_locked`)."""
    progress = progress or Progress()
    locked = _check_locked(request)
    with placed(placement):
        takes = resolve(request.engine)(request, progress)
    if locked is not None:
        takes = [keep_locked(take, request.locked, locked) for take in takes]
    progress("done", 1.0)
    return takes


def _check_locked(request: GenerateRequest):
    """The locked mask, checked before any work (None without locked frames)."""
    if request.locked is None or request.locked_mask is None:
        return None
    mask = check_mask(request.locked, request.locked_mask)
    if abs(request.locked.duration - request.duration) > 1.5 / request.locked.fps:
        raise InputError(f"locked frames must cover the audio: {request.locked.duration:.2f} s of frames "
                         f"for {request.duration:.2f} s of audio")
    return mask
