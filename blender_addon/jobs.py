"""Background jobs: network work on a worker thread, results handed to Blender's main thread.

The worker never touches bpy. It posts events to a `queue.Queue`; the main thread drains the queue
from a `bpy.app.timers` callback (`JobRunner.drain`) and only there applies results to Blender data.
Cancelling sets a `threading.Event` that the client passes to the backend, which stops the job.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from ._core import DreamTalkError

Status = Literal["idle", "running", "done", "error", "cancelled"]
ProgressFn = Callable[[str, float], None]
Work = Callable[[ProgressFn, threading.Event], Any]


@dataclass
class JobState:
    """What the panel shows about the current (or last) job."""

    status: Status = "idle"
    label: str = ""  # what the job does ("Generating 3 takes")
    stage: str = ""  # backend stage name ("features", "sampling" ...)
    fraction: float = 0.0  # 0..1
    message: str = ""  # one-line result or error


def one_line(exc: BaseException) -> str:
    """A user-facing one-line message for an exception (DreamTalkError / ValueError text as is).

    ValueError is what the add-on's own validation raises. DreamTalkError is matched by class name so that errors from either copy of the core (the vendored one in the
    extension, or an installed `dreamtalk`) read the same.
    """
    text = " ".join(str(exc).split())
    if isinstance(exc, ValueError) or any(c.__name__ == DreamTalkError.__name__ for c in type(exc).__mro__):
        return text
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


class JobRunner:
    """Runs at most one `work(progress, cancel_event)` at a time on a daemon thread."""

    def __init__(self) -> None:
        self.state = JobState()
        self._queue: queue.Queue[tuple] = queue.Queue()
        self._thread: threading.Thread | None = None
        self._cancel: threading.Event | None = None
        self._on_done: Callable[[Any], str] | None = None

    @property
    def running(self) -> bool:
        return self.state.status == "running"

    def start(self, work: Work, on_done: Callable[[Any], str], label: str) -> None:
        """Start `work` on a worker thread; `on_done(result)` runs later on the main thread, in `drain`.

        `on_done` returns the one-line message shown when the job succeeded.
        """
        if self.running:
            raise DreamTalkError("a DREAM-Talk job is already running; cancel it first")
        self.state = JobState(status="running", label=label, stage="starting")
        self._queue = queue.Queue()
        self._cancel = cancel = threading.Event()
        self._on_done = on_done
        events = self._queue

        def target() -> None:
            try:
                result = work(lambda stage, f: events.put(("progress", stage, f)), cancel)
            except BaseException as exc:  # noqa: BLE001 - every failure becomes a report
                events.put(("cancelled",) if cancel.is_set() else ("error", one_line(exc)))
            else:
                events.put(("cancelled",) if cancel.is_set() else ("done", result))

        self._thread = threading.Thread(target=target, name="dreamtalk-job", daemon=True)
        self._thread.start()

    def cancel(self) -> bool:
        """Ask the running job to stop; True when there was one."""
        if not self.running or self._cancel is None:
            return False
        self._cancel.set()
        self.state.stage = "cancelling"
        return True

    def drain(self) -> bool:
        """Handle queued events on the main thread; True while the job is still running."""
        while True:
            try:
                event = self._queue.get_nowait()
            except queue.Empty:
                return self.running
            self._handle(event)

    def wait(self, timeout: float | None = None) -> None:
        """Block until the worker thread ends (tests and shutdown only, never from the UI)."""
        if self._thread is not None:
            self._thread.join(timeout)

    def _handle(self, event: tuple) -> None:
        kind = event[0]
        if kind == "progress":
            self.state.stage, self.state.fraction = event[1], float(event[2])
        elif kind == "cancelled":
            self.state.status, self.state.message = "cancelled", "cancelled; nothing was changed"
        elif kind == "error":
            self.state.status, self.state.message = "error", event[1]
        elif kind == "done":
            self._finish(event[1])

    def _finish(self, result: Any) -> None:
        try:
            message = self._on_done(result) if self._on_done else ""
        except (DreamTalkError, ValueError, RuntimeError) as exc:
            self.state.status, self.state.message = "error", one_line(exc)
        else:
            self.state.status, self.state.fraction, self.state.message = "done", 1.0, message


def generate_work(make_client: Callable[[], Any], request: Any) -> Work:
    """Work that sends `request` to the backend and returns its list of Curves (one per take)."""

    def work(progress: ProgressFn, cancel: threading.Event) -> Any:
        client = make_client()
        try:
            return client.generate(request, on_progress=progress, cancel=cancel)
        finally:
            client.close()

    return work


def hello_work(make_client: Callable[[], Any]) -> Work:
    """Work that asks the backend for its capabilities (a dict)."""

    def work(progress: ProgressFn, cancel: threading.Event) -> Any:
        client = make_client()
        try:
            return client.hello()
        finally:
            client.close()

    return work


def describe_capabilities(caps: dict) -> str:
    """Capabilities as short lines for the preferences (device, engines, protocol, renderers)."""
    engines = ", ".join(map(str, caps.get("engines", []))) or "none"
    renderers = ", ".join(map(str, caps.get("renderers", []))) or "none"
    return "\n".join([
        f"Connected: backend {caps.get('version', '?')}, protocol {caps.get('protocol', '?')}",
        f"Device: {caps.get('device', '?')}",
        f"Engines: {engines}",
        f"Renderers: {renderers}",
    ])


def client_factory(address: str, timeout: float, curve: tuple[str, str, str] | None) -> Callable[[], Any]:
    """A callable creating the real `dreamtalk.core.client.Client` (imported lazily: it needs pyzmq).

    `curve` is (client public, client secret, server public) Z85 text, or None for no encryption.
    """

    def make() -> Any:
        from ._core import client_module

        try:
            module = client_module()
        except ImportError as exc:
            raise DreamTalkError(f"the backend client is not available in this build ({exc})") from None
        keys = None if curve is None else module.CurveKeys(*(k.strip().encode("ascii") for k in curve))
        return module.Client(address=address, timeout=timeout, curve=keys)

    return make
