"""Jobs belong to the client that started them: a cancel from another session (or, under CurveZMQ,
another key) is refused; the per-client job limit also counts per connection, so new session ids do
not get around it; the broker's control broadcast carries no job or session ids."""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest
import server_engines
import zmq
from dreamtalk.core.client import Client, CurveKeys
from dreamtalk.core.protocol import CONTROL_PREFIX, Message, encode, request_to_message
from dreamtalk.core.request import GenerateRequest
from dreamtalk.server import ServerConfig
from dreamtalk.server.__main__ import main
from dreamtalk.server.broker import Broker
from server_helpers import RawPeer, hang_guard, spawn, start_service, wait_until  # noqa: F401


def _slow(seed: int, steps: int = 40) -> GenerateRequest:
    return GenerateRequest(np.full(1600, 0.1, np.float32), 16000, engine="slow", seed=seed, steps=steps)


def _control_peer(endpoint: str, curve: CurveKeys | None = None) -> tuple[zmq.Context, zmq.Socket]:
    context = zmq.Context()
    sock = context.socket(zmq.DEALER)
    sock.linger = 0
    sock.setsockopt(zmq.ROUTING_ID, CONTROL_PREFIX + b"attacker-" + bytes(8))
    if curve is not None:
        sock.curve_publickey, sock.curve_secretkey = curve.public, curve.secret
        sock.curve_serverkey = curve.server_public
    sock.connect(endpoint)
    return context, sock


def _start_job(peer: RawPeer, session: str, seed: int) -> Message:
    request = request_to_message(_slow(seed))
    request.session = session
    peer.send_message(request)
    first = peer.receive(10)
    assert first is not None and first.get("state") == "queued", first
    return request


def _outcome(peer: RawPeer) -> Message:
    while True:
        reply = peer.receive(20)
        assert reply is not None, "no final reply"
        if reply.type in ("result", "error"):
            return reply


def _attack(endpoint: str, job_id: str, session: str, curve: CurveKeys | None = None) -> None:
    """Cancel someone else's job, naming it exactly (and claiming its session)."""
    context, sock = _control_peer(endpoint, curve)
    for _ in range(3):
        cancel = Message("cancel", {"job_id": job_id}, session=session)
        sock.send_multipart(encode(cancel))
        time.sleep(0.05)
    sock.close()
    context.term()


def test_a_cancel_from_another_session_is_refused():
    svc = start_service(workers=1)
    try:
        owner = RawPeer(svc.endpoint)
        job = _start_job(owner, "owner-session", 701)
        _attack(svc.endpoint, job.msg_id, "another-session")
        outcome = _outcome(owner)
        owner.close()
    finally:
        svc.stop()
    assert outcome.type == "result", outcome.content


def test_the_owner_can_still_cancel():
    svc = start_service(workers=1)
    try:
        owner = RawPeer(svc.endpoint)
        job = _start_job(owner, "owner-session", 702)
        _attack(svc.endpoint, job.msg_id, "owner-session")  # same session: the owner's own cancel
        outcome = _outcome(owner)
        owner.close()
    finally:
        svc.stop()
    assert (outcome.type, outcome.get("code")) == ("error", "cancelled")


@pytest.fixture
def keys(tmp_path):
    for name in ("server", "alice", "mallory"):
        folder = "server" if name == "server" else "allowed"
        assert main(["keys", "generate", "--name", name, "--dir", str(tmp_path / folder)]) == 0
    return tmp_path


def test_under_curve_a_cancel_from_another_allowed_key_is_refused_even_with_the_session(keys):
    svc = start_service(workers=1, curve_secret=str(keys / "server/server.key_secret"),
                        curve_allow=str(keys / "allowed"))
    alice = CurveKeys.load(keys / "allowed/alice.key_secret", keys / "server/server.key")
    mallory = CurveKeys.load(keys / "allowed/mallory.key_secret", keys / "server/server.key")
    try:
        outcome: list = []
        started = threading.Event()
        with Client(svc.endpoint, timeout=10, curve=alice) as client:
            def run() -> None:
                try:
                    outcome.append(client.generate(_slow(703), on_progress=lambda *_: started.set()))
                except Exception as error:
                    outcome.append(error)
            thread = threading.Thread(target=run)
            thread.start()
            assert started.wait(10)
            (job,) = svc.table.jobs.values()
            _attack(svc.endpoint, job.job_id, client.session, curve=mallory)
            thread.join(20)
    finally:
        svc.stop()
    assert len(outcome) == 1 and isinstance(outcome[0], list), outcome


def test_new_session_ids_on_one_connection_do_not_pass_the_per_client_limit():
    svc = start_service(workers=1, max_queue=16, max_jobs_per_client=2)
    try:
        peer = RawPeer(svc.endpoint)
        codes = []
        for index in range(5):
            request = request_to_message(_slow(800 + index, steps=200))
            request.session = f"fresh-session-{index}"
            peer.send_message(request)
            reply = peer.receive(10)
            while reply.parent_id != request.msg_id:  # progress of the jobs already running
                reply = peer.receive(10)
            codes.append(reply.get("code") or reply.get("state"))
        peer.close()
    finally:
        svc.stop()
    assert codes[:2] == ["queued", "queued"] and codes[2:] == ["too_many_jobs"] * 3, codes


def test_the_broker_control_broadcast_carries_no_job_or_session_ids(tmp_path):
    server_engines.register()
    broker = Broker(ServerConfig(bind="tcp://127.0.0.1:0", backend_bind="tcp://127.0.0.1:0",
                                 control_bind="tcp://127.0.0.1:0")).start()
    listener_context = zmq.Context()
    listener = listener_context.socket(zmq.SUB)
    listener.setsockopt(zmq.SUBSCRIBE, b"")
    listener.connect(broker.endpoints["control"])
    log = tmp_path / "worker.log"
    worker = spawn("worker", "--connect", broker.endpoints["backend"], "--control", broker.endpoints["control"],
                   "--device", "cpu", "--heartbeat", "0.1", stderr_path=log)
    heard: list[bytes] = []
    try:
        wait_until(lambda: "service_started" in log.read_text(), timeout=60, what="worker start")
        time.sleep(0.3)
        cancel = threading.Event()
        with Client(broker.endpoints["frontend"], timeout=10) as client:
            with pytest.raises(Exception, match="cancel"):
                client.generate(_slow(901, steps=500), on_progress=lambda *_: cancel.set(), cancel=cancel)
            session = client.session
        while listener.poll(500):
            heard.extend(listener.recv_multipart())
        wait_until(lambda: '"job_cancelled"' in log.read_text(), what="the worker got the cancel")
    finally:
        worker.terminate()
        worker.wait(10)
        listener.close()
        listener_context.term()
        broker.stop()
    job_ids = {line.split('"job_id": "')[1][:32] for line in log.read_text().splitlines() if '"job_queued"' in line}
    assert heard and job_ids, "nothing was broadcast or queued"
    blob = b"".join(heard)
    assert session.encode() not in blob and not any(job.encode() in blob for job in job_ids)


def test_a_worker_acts_on_the_broadcast_tokens_of_its_own_jobs_only():
    """The relay's output (ids replaced by control tokens) cancels the job on the worker that runs it,
    and only when the session token matches the job's."""
    from dreamtalk.core.protocol import decode, split_envelope
    from dreamtalk.server.broker import tokenised_control
    from dreamtalk.server.handlers import Handlers
    from dreamtalk.server.jobs import Job, JobTable

    table = JobTable(4, 4)
    sent = []
    handlers = Handlers(ServerConfig(), table,
                        lambda envelope, message: sent.append(message) or True, lambda: False, "cpu")
    job = Job("job-1", [b"client"], "session:s1", {"msg_id": "job-1"}, lambda progress: ({}, {}), 1e18,
              owner=("", "s1"))
    assert table.submit(job)

    def broadcast(session: str) -> None:
        frames = [CONTROL_PREFIX + b"x", *encode(Message("cancel", {"job_id": "job-1"}, session=session))]
        envelope, body = split_envelope(tokenised_control(frames))
        assert b"job-1" not in b"".join(body) and session.encode() not in b"".join(body)
        handlers.dispatch(envelope, decode(body), None, broadcast=True)

    broadcast("someone-else")
    assert job.state == "queued" and sent == []
    broadcast("s1")
    assert job.state == "answered" and [m.get("code") for m in sent] == ["cancelled"]
