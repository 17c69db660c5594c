"""Job state under concurrency: only the service's I/O thread changes it, and a cancel racing a
finishing worker still gives every job exactly one final reply."""

from __future__ import annotations

import random
import threading
import time
import uuid

import zmq
from dreamtalk.core.protocol import CONTROL_PREFIX, Message, decode, encode, request_to_message, split_envelope
from dreamtalk.server import handlers
from server_helpers import echo_request, hang_guard, start_service, wait_until  # noqa: F401


class _RecordingJob(handlers.Job):
    """A Job that notes which thread sets its state."""

    writers: set[str] = set()

    def __setattr__(self, name, value):
        if name == "state":
            _RecordingJob.writers.add(threading.current_thread().name)
        super().__setattr__(name, value)


def _sockets(endpoint: str) -> tuple[zmq.Context, zmq.Socket, zmq.Socket]:
    context = zmq.Context()
    main = context.socket(zmq.DEALER)
    control = context.socket(zmq.DEALER)
    control.setsockopt(zmq.ROUTING_ID, CONTROL_PREFIX + uuid.uuid4().bytes)
    for sock in (main, control):
        sock.linger = 0
        sock.connect(endpoint)
    return context, main, control


def _finals(main: zmq.Socket, expected: int, quiet: float = 0.3) -> dict[str, list[str]]:
    """job id -> the final replies (result / error code) that arrived, until `expected` jobs have one
    and then nothing more came for `quiet` seconds."""
    finals: dict[str, list[str]] = {}
    last = time.monotonic()
    deadline = last + 60
    while time.monotonic() < deadline:
        if main.poll(20):
            reply = decode(split_envelope(main.recv_multipart())[1])
            if reply.type in ("result", "error"):
                finals.setdefault(str(reply.parent_id), []).append(reply.get("code") or "result")
                last = time.monotonic()
        elif len(finals) >= expected and time.monotonic() - last > quiet:
            break
    return finals


def test_cancel_racing_finish_answers_every_job_exactly_once():
    jobs = 300
    svc = start_service(workers=2, max_queue=jobs, max_jobs_per_client=jobs)
    context, main, control = _sockets(svc.endpoint)
    rng = random.Random(7)
    try:
        ids = []
        for seed in range(jobs):  # cancel each job between 0 and 3 ms after sending it: before, while
            message = request_to_message(echo_request(seed))  # or just after it finishes
            main.send_multipart(encode(message))
            ids.append(message.msg_id)
            time.sleep(rng.uniform(0.0, 0.003))
            control.send_multipart(encode(Message("cancel", {"job_id": message.msg_id})))
        finals = _finals(main, jobs)
        assert set(finals) == set(ids)
        assert all(len(replies) == 1 for replies in finals.values()), [r for r in finals.values() if len(r) > 1]
        outcomes = [replies[0] for replies in finals.values()]
        assert set(outcomes) == {"result", "cancelled"}, set(outcomes)  # both sides of the race happened
        wait_until(lambda: svc.stats()["held"] == 0, what="every job released")
        assert svc.stats()["finished"] == jobs and svc.stats()["cancelled"] == outcomes.count("cancelled")
    finally:
        context.destroy(0)
        svc.stop()


def test_only_the_io_thread_changes_job_state(monkeypatch):
    monkeypatch.setattr(handlers, "Job", _RecordingJob)
    _RecordingJob.writers.clear()
    svc = start_service(workers=2)
    context, main, control = _sockets(svc.endpoint)
    try:
        for seed in range(6):
            message = request_to_message(echo_request(seed))
            main.send_multipart(encode(message))
            if seed % 2:
                control.send_multipart(encode(Message("cancel", {"job_id": message.msg_id})))
        assert len(_finals(main, 6, quiet=0.1)) == 6
        wait_until(lambda: svc.stats()["held"] == 0, what="every job released")
    finally:
        context.destroy(0)
        svc.stop()
    assert _RecordingJob.writers == {"dreamtalk-io"}, _RecordingJob.writers
