"""Worker threads: take jobs from the bounded queue, run their work, post replies to the I/O thread.

Workers never touch the service's network socket (ZeroMQ sockets are not thread-safe) nor a job's
state (the I/O thread owns it): each one owns a PUSH socket to the I/O thread's inproc outbox and sends
`[kind, job_id, message frames...]`, where kind is b"started" (the job is running), b"progress"
(forward if the job is still live) or b"done" (forward unless already answered, then forget the job).
A worker reads only the job's work and its cancel event.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable

import zmq

from ..core.errors import DreamTalkError, InputError
from ..core.progress import Cancelled, Progress
from ..core.protocol import Message, ProtocolError, encode, error_message, progress_message
from .jobs import Job, JobTable
from .logs import log_event

PROGRESS_MIN_INTERVAL = 0.05  # seconds; engines may report far more often than clients need
# An absolute path (POSIX, ~/..., or C:\...) in an error text: the client is told there was one, not where.
_PATH = re.compile(r"(?<![\w/.~-])(?:~?/|[A-Za-z]:[\\/])[^\s'\"<>|,;()]+")


class WorkerPool:
    """`count` threads running the work of jobs from `table.queue`; thread i first calls `setup(i)` (where
    its engines run: `engines.place_thread`)."""

    def __init__(self, context: zmq.Context, outbox: str, table: JobTable, count: int,
                 setup: Callable[[int], None] | None = None) -> None:
        self.context, self.outbox, self.table, self.setup = context, outbox, table, setup
        self.threads = [
            threading.Thread(target=self._loop, args=(i,), name=f"dreamtalk-worker-{i}", daemon=True)
            for i in range(count)
        ]

    def start(self) -> None:
        for thread in self.threads:
            thread.start()

    def stop(self, grace: float) -> None:
        """Ask every thread to finish (after its current job) and wait up to `grace` seconds."""
        for _ in self.threads:
            self.table.queue.put(None)
        deadline = time.monotonic() + grace
        for thread in self.threads:
            thread.join(max(0.0, deadline - time.monotonic()))

    def _loop(self, index: int) -> None:
        if self.setup is not None:
            self.setup(index)
        push = self.context.socket(zmq.PUSH)
        push.linger = 1000
        push.connect(self.outbox)
        try:
            while (job := self.table.queue.get()) is not None:
                self._run(job, push)
        finally:
            push.close()

    def _run(self, job: Job, push: zmq.Socket) -> None:
        if job.cancel_event.is_set():
            push.send_multipart([b"done", job.job_id.encode()])
            return
        push.send_multipart([b"started", job.job_id.encode()])
        log_event("job_started", job_id=job.job_id, engine=job.label, seconds=round(job.seconds, 2))
        reply = _execute(job, _Reporter(job, push))
        push.send_multipart([b"done", job.job_id.encode()] + ([] if reply is None else encode(reply)))


class _Reporter:
    """The `report(stage, fraction)` callback given to engines; throttled progress messages."""

    def __init__(self, job: Job, push: zmq.Socket) -> None:
        self.job, self.push, self.last = job, push, 0.0

    def __call__(self, stage: str, fraction: float) -> None:
        now = time.monotonic()
        if now - self.last >= PROGRESS_MIN_INTERVAL or fraction >= 1.0:
            self.last = now
            frames = encode(progress_message(self.job.parent, stage, fraction))
            self.push.send_multipart([b"progress", self.job.job_id.encode(), *frames])


def _execute(job: Job, report: _Reporter) -> Message | None:
    """Run the job's work; the reply to send, or None when the job was cancelled (already answered)."""
    started = time.monotonic()
    try:
        content, buffers = job.work(Progress(report, job.cancel_event))
        reply = Message("result", content, buffers, parent=job.parent)
    except Cancelled:
        log_event("job_cancelled", job_id=job.job_id)
        return None
    except ProtocolError as error:  # the request, decoded here off the I/O thread
        reply = error_message(error.code, client_text(error), job.parent)
    except InputError as error:
        reply = error_message("bad_request", client_text(error), job.parent)
    except DreamTalkError as error:
        reply = error_message("engine_error", client_text(error), job.parent)
    except Exception as error:  # an engine bug must not kill the worker thread
        log_event("engine_crashed", 40, exc_info=True, job_id=job.job_id)
        reply = error_message("engine_error", f"engine failed: {type(error).__name__}: {client_text(error)}",
                              job.parent)
    log_event("job_finished", job_id=job.job_id, outcome=reply.type, seconds=round(time.monotonic() - started, 3))
    return reply


def client_text(error: BaseException | str) -> str:
    """An error's text as a client may see it: paths on the server replaced by '<server path>' (the
    full text goes to the server's log)."""
    return _PATH.sub("<server path>", str(error))
