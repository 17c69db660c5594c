"""The add-on's job runner: worker thread, queue drained on the main thread, cancel, errors.

The client here is a test double standing in for `dreamtalk.core.client.Client` (same methods);
the end-to-end test against a real backend process is tests/test_addon_e2e.py.
"""

from __future__ import annotations

import threading

import addon_support  # noqa: F401
import numpy as np
import pytest
from dreamtalk.core.errors import DreamTalkError

from blender_addon import jobs
from blender_addon.reduce import reduce_keys

MAIN = threading.main_thread()


class FakeClient:
    """Reports progress, optionally waits for a release or a cancel, then returns or raises."""

    def __init__(self, result=("take",), error: Exception | None = None, gate: threading.Event | None = None):
        self.result, self.error, self.gate = list(result), error, gate
        self.closed = False
        self.thread = None

    def generate(self, request, on_progress=None, cancel=None):
        self.thread = threading.current_thread()
        on_progress("features", 0.25)
        if self.gate is not None:
            while not self.gate.wait(0.01):
                if cancel.is_set():
                    raise DreamTalkError("job cancelled")
        on_progress("sampling", 0.75)
        if self.error:
            raise self.error
        return self.result

    def hello(self):
        return {"protocol": "1.0", "engines": ["procedural"], "device": "cpu", "version": "0.1.0"}

    def close(self):
        self.closed = True


def test_work_runs_off_the_main_thread_and_results_apply_on_it():
    client, applied = FakeClient(result=["a", "b"]), []
    runner = jobs.JobRunner()
    runner.start(jobs.generate_work(lambda: client, "request"),
                 lambda r: applied.append((r, threading.current_thread())) or "ok", "Generating")
    runner.wait(5)
    assert applied == [] and runner.running  # nothing applied until the main thread drains
    assert runner.drain() is False
    assert applied == [(["a", "b"], MAIN)] and client.thread is not MAIN and client.closed
    assert (runner.state.status, runner.state.message, runner.state.fraction) == ("done", "ok", 1.0)


def test_progress_events_reach_the_state_in_order():
    gate = threading.Event()
    client = FakeClient(gate=gate)
    runner = jobs.JobRunner()
    runner.start(jobs.generate_work(lambda: client, None), lambda r: "ok", "Generating")
    while runner.state.stage != "features":
        runner.drain()
    assert runner.state.fraction == 0.25 and runner.running
    with pytest.raises(DreamTalkError, match="already running"):
        runner.start(jobs.generate_work(lambda: client, None), lambda r: "", "again")
    gate.set()
    runner.wait(5)
    runner.drain()
    assert runner.state.status == "done"


def test_cancel_stops_the_job_and_nothing_is_applied():
    client, applied = FakeClient(gate=threading.Event()), []
    runner = jobs.JobRunner()
    runner.start(jobs.generate_work(lambda: client, None), applied.append, "Generating")
    assert runner.cancel() is True and runner.state.stage == "cancelling"
    runner.wait(5)
    runner.drain()
    assert runner.state.status == "cancelled" and applied == [] and client.closed
    assert runner.cancel() is False


@pytest.mark.parametrize(("error", "message"), [
    (DreamTalkError("backend at tcp://127.0.0.1:9 did not answer within 2 s"), "backend at tcp://127.0.0.1:9 did"),
    (ConnectionResetError("peer\nreset"), "ConnectionResetError: peer reset"),
    (ValueError("bad  locked\nframes"), "bad locked frames"),
])
def test_errors_become_one_line_reports(error, message):
    runner = jobs.JobRunner()
    runner.start(jobs.generate_work(lambda: FakeClient(error=error), None), lambda r: "ok", "Generating")
    runner.wait(5)
    runner.drain()
    assert runner.state.status == "error" and runner.state.message.startswith(message)
    assert "\n" not in runner.state.message


def test_failure_while_applying_is_reported_not_raised():
    def refuse(_result):
        raise ValueError("the target object was deleted while the job ran")

    runner = jobs.JobRunner()
    runner.start(jobs.generate_work(FakeClient, None), refuse, "Generating")
    runner.wait(5)
    assert runner.drain() is False
    assert runner.state.status == "error" and "deleted" in runner.state.message


def test_client_construction_failure_is_reported():
    def broken():
        raise DreamTalkError("the backend client is not available in this build (no module named zmq)")

    runner = jobs.JobRunner()
    runner.start(jobs.generate_work(broken, None), lambda r: "", "Generating")
    runner.wait(5)
    runner.drain()
    assert runner.state.status == "error" and "not available" in runner.state.message


def test_hello_and_capability_lines():
    runner = jobs.JobRunner()
    runner.start(jobs.hello_work(FakeClient), jobs.describe_capabilities, "Testing")
    runner.wait(5)
    runner.drain()
    assert runner.state.message.splitlines() == [
        "Connected: backend 0.1.0, protocol 1.0", "Device: cpu", "Engines: procedural", "Renderers: none",
    ]


@pytest.mark.parametrize("tolerance", [0.001, 0.01, 0.05])
def test_key_reduction_stays_within_tolerance(tolerance):
    rng = np.random.default_rng(3)
    values = np.cumsum(rng.normal(0, 0.02, 1500)) + 0.5 * np.sin(np.arange(1500) / 40)
    keep = reduce_keys(values, tolerance)
    rebuilt = np.interp(np.arange(1500), keep, values[keep])
    assert keep[0] == 0 and keep[-1] == 1499
    assert np.abs(rebuilt - values).max() <= tolerance + 1e-12
    assert len(keep) < 1500


def test_key_reduction_keeps_everything_without_tolerance_and_collapses_flat_tracks():
    assert len(reduce_keys(np.linspace(0, 1, 50) ** 2, 0.0)) == 50
    assert reduce_keys(np.full(300, 0.2), 1e-4).tolist() == [0, 299]


def test_local_backend_that_dies_at_start_reports_its_last_line(tmp_path):
    import sys

    from blender_addon.backend_process import LocalBackend, serve_command

    backend = LocalBackend()
    backend.log_path = tmp_path / "backend.log"
    assert backend.describe() == "not started"
    backend.start(sys.executable, "not-an-address")
    assert backend.process.args == serve_command(sys.executable, "not-an-address")
    backend.process.wait(60)
    text = backend.describe()
    assert text.startswith("exited with code ") and not text.startswith("exited with code 0")
    assert text.split(": ", 1)[1] not in {"", "no output"}
    backend.stop()  # stopping a dead process is a no-op


def test_local_backend_refuses_a_missing_interpreter():
    from blender_addon.backend_process import LocalBackend

    with pytest.raises(ValueError, match="backend Python not found"):
        LocalBackend().start("/nonexistent/python3", "tcp://127.0.0.1:5555")
