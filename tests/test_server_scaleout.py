"""Scale-out: a zmq.proxy broker with 2 worker processes on loopback; a worker killed mid-job."""

from __future__ import annotations

import signal
import threading
import time

import numpy as np
import pytest
import server_engines
from dreamtalk import engines
from dreamtalk.core.client import BackendTimeout, BackendUnavailable, Client, CurveKeys, JobCancelled
from dreamtalk.core.request import GenerateRequest
from dreamtalk.server import ServerConfig
from dreamtalk.server.__main__ import main
from dreamtalk.server.broker import Broker
from server_helpers import echo_request, hang_guard, spawn, wait_until  # noqa: F401


@pytest.fixture
def cluster(tmp_path):
    """A broker (in this process) with two `python -m dreamtalk.server worker` processes."""
    server_engines.register()  # for the expected results computed here
    broker = Broker(ServerConfig(bind="tcp://127.0.0.1:0", backend_bind="tcp://127.0.0.1:0",
                                 control_bind="tcp://127.0.0.1:0")).start()
    workers, logs = [], []
    for index in range(2):
        logs.append(tmp_path / f"worker{index}.log")
        workers.append(spawn("worker", "--connect", broker.endpoints["backend"], "--control",
                             broker.endpoints["control"], "--device", "cpu", "--heartbeat", "0.1",
                             "--client-timeout", "1.0", stderr_path=logs[-1]))
    for log in logs:
        wait_until(lambda log=log: "service_started" in log.read_text(), timeout=60, what="worker start")
    time.sleep(0.3)  # let both workers finish connecting to the broker's backend
    yield broker, workers, logs
    for process in workers:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
    for process in workers:
        try:
            process.wait(10)
        except Exception:
            process.kill()
    broker.stop()


def _slow(seed: int, steps: int = 1000) -> GenerateRequest:
    return GenerateRequest(np.zeros(1600, np.float32), 16000, engine="slow", seed=seed, steps=steps)


def test_two_workers_share_the_load_and_results_are_correct(cluster):
    broker, workers, logs = cluster

    def served() -> list[int]:
        return [log.read_text().count('"job_finished"') for log in logs]

    with Client(broker.endpoints["frontend"], timeout=10) as client:
        for seed in range(40):  # round-robin alternates once both workers have connected
            takes = client.generate(echo_request(seed))
            np.testing.assert_array_equal(takes[0].values, engines.generate(echo_request(seed))[0].values)
            if seed >= 7 and min(served()) >= 2:
                break
    assert min(served()) >= 2 and sum(served()) == seed + 1, served()


def test_cancel_reaches_the_worker_running_the_job(cluster):
    broker, workers, logs = cluster
    cancel = threading.Event()
    with Client(broker.endpoints["frontend"], timeout=10) as client:
        with pytest.raises(JobCancelled):
            client.generate(_slow(11), on_progress=lambda *_: cancel.set(), cancel=cancel)
    wait_until(lambda: any('"job_cancelled"' in log.read_text() for log in logs), what="worker cancelled job")


def test_client_gone_mid_job_is_noticed_by_the_worker(cluster):
    broker, workers, logs = cluster
    client = Client(broker.endpoints["frontend"], timeout=10)
    started = threading.Event()
    thread = threading.Thread(target=_ignore, args=(client, _slow(12), started), daemon=True)
    thread.start()
    started.wait(20)
    client.close()
    wait_until(lambda: any("client gone" in log.read_text() for log in logs), what="worker noticed")
    wait_until(lambda: any('"job_cancelled"' in log.read_text() for log in logs), what="engine stopped")


def _ignore(client: Client, request: GenerateRequest, started: threading.Event) -> None:
    try:
        client.generate(request, on_progress=lambda *_: started.set())
    except Exception:
        pass


def test_worker_killed_mid_job_client_gets_error_and_others_are_served(cluster):
    broker, workers, logs = cluster
    errors: list[BaseException] = []
    started = threading.Event()

    def victim() -> None:
        try:
            with Client(broker.endpoints["frontend"], timeout=2.0) as client:
                client.generate(_slow(13), on_progress=lambda *_: started.set())
        except BaseException as error:
            errors.append(error)

    thread = threading.Thread(target=victim)
    thread.start()
    assert started.wait(20)
    busy = next(i for i, log in enumerate(logs) if '"job_started"' in log.read_text())
    workers[busy].kill()
    workers[busy].wait(10)
    thread.join(20)
    assert len(errors) == 1 and isinstance(errors[0], BackendTimeout), errors
    with Client(broker.endpoints["frontend"], timeout=10) as client:
        for seed in range(4):
            expected = engines.generate(echo_request(seed))[0].values
            np.testing.assert_array_equal(client.generate(echo_request(seed))[0].values, expected)


def test_curve_broker_serves_allowed_workers_and_clients_only(tmp_path):
    server_engines.register()
    for name, folder in (("server", "keys"), ("alice", "clients"), ("good", "workers"), ("rogue", "other")):
        assert main(["keys", "generate", "--name", name, "--dir", str(tmp_path / folder)]) == 0
    broker = Broker(ServerConfig(
        bind="tcp://127.0.0.1:0", backend_bind="tcp://127.0.0.1:0", control_bind="tcp://127.0.0.1:0",
        curve_secret=str(tmp_path / "keys/server.key_secret"), curve_allow=str(tmp_path / "clients"),
        curve_allow_workers=str(tmp_path / "workers"))).start()
    processes = []

    def worker(key: str, log: str):
        processes.append(spawn("worker", "--connect", broker.endpoints["backend"], "--control",
                               broker.endpoints["control"], "--device", "cpu", "--curve", "--key", key,
                               "--server-public", str(tmp_path / "keys/server.key"), stderr_path=tmp_path / log))
        wait_until(lambda: "service_started" in (tmp_path / log).read_text(), timeout=60, what="worker start")

    alice = CurveKeys.load(tmp_path / "clients/alice.key_secret", tmp_path / "keys/server.key")
    try:
        worker(str(tmp_path / "other/rogue.key_secret"), "rogue.log")
        with Client(broker.endpoints["frontend"], timeout=1.0, curve=alice) as client:
            with pytest.raises(BackendUnavailable):
                client.generate(echo_request(1))  # the only worker is not allowed: nobody serves
            worker(str(tmp_path / "workers/good.key_secret"), "good.log")
            client.timeout = 10
            assert client.generate(echo_request(2))[0].num_frames == 10
        with Client(broker.endpoints["frontend"], timeout=1.0) as stranger, pytest.raises(BackendUnavailable):
            stranger.hello()
    finally:
        for process in processes:
            process.send_signal(signal.SIGTERM)
            process.wait(10)
        broker.stop()
    assert '"job_queued"' not in (tmp_path / "rogue.log").read_text()
    assert '"job_finished"' in (tmp_path / "good.log").read_text()
