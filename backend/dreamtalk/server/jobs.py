"""Job bookkeeping owned by the service's I/O thread: the bounded queue and per-client limits.

Only the I/O thread changes a job's `state` and the table (worker threads report through the outbox;
see `pool`), so no lock is needed and a job is answered exactly once.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from typing import Literal

from ..core.progress import Progress
from ..core.protocol import control_token
from .logs import now

Work = Callable[[Progress], tuple[dict, dict]]  # a job's work: progress -> (result content, buffers)


@dataclass
class Job:
    """One job request (generate; render once a renderer is wired) from acceptance until its worker
    lets go of it."""

    job_id: str  # the request's msg_id
    envelope: list[bytes]  # routing frames to reach the client
    client: str  # per-client limits key (CurveZMQ key or client session)
    parent: dict  # the request's identity: the parent header of every message about the job
    work: Work  # run on a worker thread; raises core.progress.Cancelled when cancelled
    deadline: float  # monotonic time after which the job is cancelled with "timeout"
    label: str = ""  # what runs, for logs (the engine's name)
    seconds: float = 0.0  # seconds of audio in the request, for logs
    owner: tuple[str, str] = ("", "")  # (CurveZMQ key or "", session): only they may cancel / keep it alive
    peer: bytes = b""  # the client connection's routing id (per-connection job limit)
    cancel_event: threading.Event = field(default_factory=threading.Event)
    state: Literal["queued", "running", "answered"] = "queued"  # answered: final reply sent (I/O thread only)
    last_seen: float = field(default_factory=now)  # last message from the client about this job
    last_beat: float = 0.0  # when we last sent this job's client a heartbeat

    @cached_property
    def token(self) -> str:
        """The job id as the broker's control broadcast shows it (`protocol.control_token`)."""
        return control_token(self.job_id)


class JobTable:
    """Jobs in flight, the bounded queue the workers read, and per-client counts."""

    def __init__(self, max_queue: int, max_per_client: int) -> None:
        self.queue: queue.Queue[Job | None] = queue.Queue(maxsize=max_queue)
        self.max_per_client = max_per_client
        self.jobs: dict[str, Job] = {}
        self.finished = 0  # jobs whose workers let go (any outcome)
        self.cancelled = 0  # jobs cancelled (by client, client gone, timeout or shutdown)

    def refusal(self, client: str, peer: bytes = b"") -> tuple[str, str] | None:
        """(code, message) if a new job from `client` (limits key) over connection `peer` cannot be
        accepted now. Both are counted, so a new session id per request over one connection does not
        get around the per-client limit."""
        if self.queue.full():
            return "busy", f"the server is busy ({self.queue.maxsize} jobs queued); try again later"
        live = [job for job in self.jobs.values() if job.state != "answered"]
        mine = max(sum(1 for job in live if job.client == client), sum(1 for job in live if peer and job.peer == peer))
        if mine >= self.max_per_client:
            return "too_many_jobs", f"this client already has {mine} jobs in flight (limit {self.max_per_client})"
        return None

    def find(self, job_id: str, by_token: bool = False) -> Job | None:
        """The job with this id (or, from the broker's broadcast, this control token)."""
        if not by_token:
            return self.jobs.get(job_id)
        return next((job for job in self.jobs.values() if job.token == job_id), None)

    def submit(self, job: Job) -> bool:
        """Queue `job`; False when the queue filled up meanwhile."""
        try:
            self.queue.put_nowait(job)
        except queue.Full:
            return False
        self.jobs[job.job_id] = job
        return True

    def release(self, job_id: str) -> Job | None:
        """The worker is done with the job: forget it."""
        job = self.jobs.pop(job_id, None)
        if job is not None:
            self.finished += 1
        return job

    def for_envelope(self, envelope: list[bytes]) -> list[Job]:
        return [job for job in self.jobs.values() if job.envelope == envelope and job.state != "answered"]

    def active(self) -> list[Job]:
        return [job for job in self.jobs.values() if job.state != "answered"]

    def stats(self) -> dict:
        states = [job.state for job in list(self.jobs.values())]
        return {
            "queued": states.count("queued"), "running": states.count("running"),
            "held": len(states), "finished": self.finished, "cancelled": self.cancelled,
        }
