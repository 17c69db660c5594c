"""Where the learned engines run: a `Placement` per thread (a context variable), set by whoever runs engines.

`dreamtalk generate --device` sets one for its call (`engines.generate(request, placement=...)`); each server
worker thread sets its own for its whole life (`engines.place_thread`: its GPU, and how many concurrent
requests on that GPU may share one sampling call). Engines read `current()`; the device name is resolved
once (`device()`: auto -> cuda:0 or cpu, with the one-line error when CUDA is asked for and absent).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from contextvars import ContextVar
from dataclasses import dataclass
from functools import lru_cache

from ..learning.devices import check_name


@dataclass(frozen=True)
class Placement:
    """Where an engine runs and how concurrent requests on that device are sampled."""

    device: str = "auto"  # auto (cuda:0 when torch sees a GPU, else cpu), cpu, cuda or cuda:N
    batch_requests: int = 1  # concurrent requests on this device stitched into one sampling call (1: each alone)

    def __post_init__(self) -> None:
        object.__setattr__(self, "device", check_name(self.device))
        if self.batch_requests < 1:
            raise ValueError(f"batch_requests must be at least 1, got {self.batch_requests}")


_DEFAULT = Placement()
_CURRENT: ContextVar[Placement | None] = ContextVar("dreamtalk_placement", default=None)


def current() -> Placement:
    """The placement of the calling thread (default: auto, no batching)."""
    return _CURRENT.get() or _DEFAULT


def place_thread(placement: Placement) -> None:
    """Set the calling thread's placement for the rest of its life (server worker threads)."""
    _CURRENT.set(placement)


@contextlib.contextmanager
def placed(placement: Placement | None) -> Iterator[Placement]:
    """Run a block under `placement` (None: keep the current one)."""
    if placement is None:
        yield current()
        return
    token = _CURRENT.set(placement)
    try:
        yield placement
    finally:
        _CURRENT.reset(token)


@lru_cache(maxsize=16)
def _resolved(name: str) -> str:
    from ..learning.devices import resolve_device

    return str(resolve_device(name))


def device() -> str:
    """The calling thread's device as torch names it ('cpu', 'cuda:0', ...); InputError when unavailable."""
    return _resolved(current().device)
