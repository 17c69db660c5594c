"""Engines: the pipelines that turn a `GenerateRequest` into one `Curves` per take, and their registry.

Each pipeline is a module here (`procedural`: alignment + the rule engine; `emodiff`: EmoDiff + lip
refinement, with `styles`, `feature_cache` and `installed` checkpoints); the networks, samplers and
training they use live in `dreamtalk.models`, the rule engine in `dreamtalk.procedural`.

Engines are registered lazily (module path + function name) so that listing engines never imports
torch. An engine function has the signature

    run(request: GenerateRequest, progress: Progress) -> list[Curves]

and must call `progress(stage, fraction)` now and then; `progress` raises `Cancelled` when the caller
cancelled the job, which ends the engine cleanly.
"""

from __future__ import annotations

import importlib
import threading
from collections.abc import Callable

from ..core.curves import Curves
from ..core.errors import DreamTalkError, InputError
from ..core.request import GenerateRequest


class Cancelled(DreamTalkError):
    """The job was cancelled by its caller."""


class Progress:
    """Progress reporting + cancellation hook handed to engines."""

    def __init__(
        self,
        report: Callable[[str, float], None] | None = None,
        cancel_event: threading.Event | None = None,
    ) -> None:
        self._report = report
        self.cancel_event = cancel_event or threading.Event()

    def __call__(self, stage: str, fraction: float) -> None:
        if self.cancel_event.is_set():
            raise Cancelled("job cancelled")
        if self._report is not None:
            self._report(stage, min(1.0, max(0.0, float(fraction))))


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


def generate(request: GenerateRequest, progress: Progress | None = None) -> list[Curves]:
    """Run the requested engine; returns `request.takes` curves at `request.fps`."""
    progress = progress or Progress()
    takes = resolve(request.engine)(request, progress)
    progress("done", 1.0)
    return takes
