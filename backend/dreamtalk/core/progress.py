"""Progress reporting and cancellation for long jobs (engines, renderers), plain Python.

A job calls `progress(stage, fraction)` now and then; the call raises `Cancelled` once the caller set
the cancel event, which ends the job cleanly at a point where it can stop.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from .errors import DreamTalkError


class Cancelled(DreamTalkError):
    """The job was cancelled by its caller."""


class Progress:
    """Progress reporting + cancellation hook handed to engines and renderers."""

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
