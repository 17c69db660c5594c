"""Concurrent requests on one device share a sampling call (issue 16, item 3).

A server worker thread that reaches EmoDiff sampling hands its plan (`models.emodiff.generate.plan`) to
the batcher of its model and device. `Batcher` needs no thread of its own and no timer: a caller finding
the device idle runs at once, taking along every plan that is waiting (up to `Placement.batch_requests`);
callers arriving while a batch runs wait and go together in the next one (leader / follower). So a lone
request is never delayed, and under load the device runs few large calls instead of many small ones.
Plans are grouped by `SamplingPlan.batch_key` (same steps, guidance, overlap; deterministic samplers only),
each group stitched into one call (`sample_plans`: the same arithmetic per request as alone).

Progress and cancellation stay with each request's own thread (a worker's progress callback writes to that
worker's socket): the running batch publishes its step, and every waiting thread reports it and learns of
its own cancellation through its own callback. A cancelled request's rows finish with the batch (the
others need the call to complete); a batch whose every request is cancelled stops.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..core.progress import Cancelled
from ..models.emodiff.generate import SamplingPlan, sample_plans
from ..models.emodiff.model import EmoDiff

Report = Callable[[int, int], None]  # (step, steps); raises Cancelled when the request was cancelled
CUDA_MAX_WINDOWS = 4096  # windows per denoiser pass on a GPU (the checkpoint's max_batch is sized for CPUs)
REPORT_EVERY = 0.5  # seconds: a waiting request checks its own cancellation at least this often


@dataclass(eq=False)
class Ticket:
    """One caller's place in a batcher."""

    payload: Any  # what the batch function works on
    result: Any = None
    error: BaseException | None = None
    done: bool = False
    cancelled: bool = False  # set by the caller's thread; a batch of cancelled tickets stops
    step: tuple[int, int] | None = None  # progress published by the running batch
    report: Report | None = field(default=None, repr=False)
    owner: Batcher | None = field(default=None, repr=False)  # the batcher it waits in (publish goes there)


class Batcher:
    """Calls from many threads -> one call of `run(tickets, leader)` at a time with every ticket waiting."""

    def __init__(self, run: Callable[[list[Ticket], Ticket], None], limit: int) -> None:
        self.run, self.limit = run, max(1, limit)
        self._cond = threading.Condition()
        self._pending: list[Ticket] = []
        self._busy = False

    def submit(self, payload: Any, report: Report | None = None) -> Any:
        """Run `payload` in a batch (this thread may run it, with others'); its result, or its error raised."""
        ticket = Ticket(payload, report=report, owner=self)
        with self._cond:
            self._pending.append(ticket)
        try:
            while (batch := self._wait_or_lead(ticket)) is not None:
                self._run_batch(batch, ticket)
        except Cancelled:
            self._withdraw(ticket)
            raise
        if ticket.cancelled:
            raise Cancelled("job cancelled")
        if ticket.error is not None:
            raise ticket.error
        return ticket.result

    def publish(self, tickets: list[Ticket], step: int, steps: int) -> None:
        """The running batch's progress: waiting tickets see it; all cancelled -> Cancelled (stop the batch)."""
        with self._cond:
            for ticket in tickets:
                ticket.step = (step, steps)
            self._cond.notify_all()
        if all(ticket.cancelled for ticket in tickets):
            raise Cancelled("job cancelled")

    def _wait_or_lead(self, ticket: Ticket) -> list[Ticket] | None:
        """Wait while another thread runs a batch (reporting progress); None once this ticket is done, or
        the next batch to run here when the device is free."""
        seen, last = (), time.monotonic()  # () is no step: the first wake-up reports (and checks cancellation)
        while True:
            with self._cond:
                if ticket.done:
                    return None
                if not self._busy:
                    self._busy = True
                    batch, self._pending = self._pending[: self.limit], self._pending[self.limit:]
                    return batch
                self._cond.wait(0.1)
                step = ticket.step
            if ticket.report is not None and (step != seen or time.monotonic() - last > REPORT_EVERY):
                seen, last = step, time.monotonic()
                ticket.report(*(step or (0, 1)))  # raises Cancelled for a cancelled request

    def _run_batch(self, batch: list[Ticket], leader: Ticket) -> None:
        try:
            self.run(batch, leader)
        except Cancelled:
            for ticket in batch:
                ticket.cancelled = True
        except Exception as error:  # the batch failed: every request in it gets the error
            for ticket in batch:
                ticket.error = ticket.error or error
        finally:
            with self._cond:
                for ticket in batch:
                    ticket.done = True
                self._busy = False
                self._cond.notify_all()

    def _withdraw(self, ticket: Ticket) -> None:
        with self._cond:
            ticket.cancelled = True
            if ticket in self._pending:
                self._pending.remove(ticket)


_BATCHERS: dict[tuple[int, str], tuple[EmoDiff, Batcher]] = {}
_BATCHERS_LOCK = threading.Lock()


def sample(model: EmoDiff, plan: SamplingPlan, seed: int, report: Report | None, batch_requests: int = 1) -> np.ndarray:
    """Raw x `(K, frames, P)` of `plan`: alone, or with the plans of other threads sampling on the same model
    and device at the same time (up to `batch_requests` requests per call) when the plan can share a call."""
    device = str(model.device)
    if batch_requests <= 1 or plan.batch_key is None:
        return sample_plans(model, [plan], report, seed, _max_windows(device))[0]
    key = (id(model), device)
    with _BATCHERS_LOCK:
        entry = _BATCHERS.get(key)
        if entry is None or entry[0] is not model or entry[1].limit != batch_requests:
            entry = _BATCHERS[key] = (model, Batcher(_run_sampling(model, device), batch_requests))
    return entry[1].submit((plan, seed), report)


def _run_sampling(model: EmoDiff, device: str) -> Callable[[list[Ticket], Ticket], None]:
    def run(tickets: list[Ticket], leader: Ticket) -> None:
        live = [t for t in tickets if not t.cancelled]
        for group in _groups(live):
            def step(i: int, n: int, group=group) -> None:
                if leader in group and leader.report is not None and not leader.cancelled:
                    try:
                        leader.report(i, n)
                    except Cancelled:
                        leader.cancelled = True
                leader.owner.publish(group, i, n)

            try:
                outs = sample_plans(model, [t.payload[0] for t in group], step, group[0].payload[1], _max_windows(device))
            except Cancelled:
                continue
            for ticket, out in zip(group, outs):
                ticket.result = out
    return run


def _groups(tickets: list[Ticket]) -> list[list[Ticket]]:
    """Tickets by their plan's batch key, in arrival order."""
    groups: dict[tuple, list[Ticket]] = {}
    for ticket in tickets:
        groups.setdefault(ticket.payload[0].batch_key, []).append(ticket)
    return list(groups.values())


def _max_windows(device: str) -> int | None:
    return CUDA_MAX_WINDOWS if device.startswith("cuda") else None

