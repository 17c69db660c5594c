"""Graceful shutdown on SIGINT/SIGTERM for the long-running server processes (service, broker)."""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable


def run_until_signalled(start: Callable[[], None], stop_event: threading.Event, stop: Callable[[], None]) -> None:
    """Call `start`, wait until SIGINT/SIGTERM sets `stop_event`, then call `stop`."""
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop_event.set())
    start()
    while not stop_event.wait(0.5):
        pass
    stop()
