"""The client library on its own: clear errors, threads, reconnects, version checks, strict reply
matching (parent_header.msg_id), fake servers."""

from __future__ import annotations

import json
import threading
import time

import numpy as np
import pytest
import zmq
from dreamtalk.core.client import (
    BackendError,
    BackendTimeout,
    BackendUnavailable,
    Client,
    CurveKeys,
    JobCancelled,
    RemoteError,
)
from dreamtalk.core.errors import DreamTalkError
from dreamtalk.core.protocol import DELIMITER, PROTOCOL_VERSION, Message, decode, encode, split_envelope
from server_helpers import echo_request, hang_guard, start_service, wait_until  # noqa: F401


def _free_endpoint() -> str:
    context = zmq.Context.instance()
    sock = context.socket(zmq.ROUTER)
    port = sock.bind_to_random_port("tcp://127.0.0.1")
    sock.close(0)
    return f"tcp://127.0.0.1:{port}"


def test_no_backend_gives_backend_unavailable_naming_the_address():
    endpoint = _free_endpoint()
    with Client(endpoint, timeout=0.3) as client:
        with pytest.raises(BackendUnavailable, match=endpoint.replace(".", r"\.")) as info:
            client.hello()
        with pytest.raises(BackendUnavailable):
            client.generate(echo_request(1))
    assert isinstance(info.value, DreamTalkError) and "\n" not in str(info.value)


def test_closed_client_refuses_calls():
    client = Client(_free_endpoint(), timeout=0.2)
    client.close()
    with pytest.raises(BackendError, match="closed"):
        client.hello()


def test_one_client_shared_by_threads():
    svc = start_service(workers=2, max_jobs_per_client=8)
    results: dict[int, list] = {}
    try:
        with Client(svc.endpoint, timeout=5) as client:
            def run(seed: int) -> None:
                results[seed] = client.generate(echo_request(seed))

            threads = [threading.Thread(target=run, args=(seed,)) for seed in range(6)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join(20)
    finally:
        svc.stop()
    assert sorted(results) == list(range(6))
    for seed, takes in results.items():
        assert takes[0].head_pose[0, 0] == pytest.approx(seed * 1e-3)


def test_client_reconnects_to_a_restarted_server():
    first = start_service()
    endpoint = first.endpoint
    with Client(endpoint, timeout=5) as client:
        assert client.hello()["protocol"] == PROTOCOL_VERSION
        first.stop()
        client.timeout = 0.3
        with pytest.raises(BackendUnavailable):
            client.hello()
        second = start_service(bind=endpoint)
        try:
            client.timeout = 5
            assert client.generate(echo_request(3))[0].num_frames == 10
        finally:
            second.stop()


class FakeServer:
    """A ROUTER that answers each request with `reply(message) -> list[Message | raw frames]`, then
    goes silent; `sent` counts what it answered."""

    def __init__(self, reply) -> None:
        self.context = zmq.Context()
        self.sock = self.context.socket(zmq.ROUTER)
        self.sock.linger = 0
        port = self.sock.bind_to_random_port("tcp://127.0.0.1")
        self.endpoint = f"tcp://127.0.0.1:{port}"
        self.reply, self.stop, self.sent = reply, threading.Event(), 0
        self.thread = threading.Thread(target=self._loop, daemon=True)
        self.thread.start()

    def _loop(self) -> None:
        while not self.stop.is_set():
            if self.sock.poll(20):
                envelope, body = split_envelope(self.sock.recv_multipart())
                message = decode(body)
                for answer in self.reply(message):
                    self.sock.send_multipart(envelope + (encode(answer) if isinstance(answer, Message) else answer))
                    self.sent += 1

    def close(self) -> None:
        self.stop.set()
        self.thread.join(2)
        self.sock.close()
        self.context.term()


def test_server_speaking_a_newer_major_version_is_refused():
    fake = FakeServer(lambda m: [Message("hello", {}, parent=m.identity(), version="3.0")])
    try:
        with Client(fake.endpoint, timeout=2) as client, pytest.raises(RemoteError, match="update this side") as info:
            client.hello()
        assert info.value.code == "version_mismatch" and "speaks protocol 3.0" in str(info.value)
    finally:
        fake.close()


def _v1_refusal(request_id: str) -> list[bytes]:
    """A 1.x backend's `version_mismatch` answer: one JSON header naming the request in `job_id`."""
    header = {"msg_id": "f00d", "type": "error", "version": "1.0", "buffers": [], "job_id": request_id,
              "code": "version_mismatch", "message": "protocol version 2.0 is not compatible with 1.0"}
    return [DELIMITER, json.dumps(header).encode()]


def test_a_1x_backend_is_reported_as_a_version_mismatch_not_a_timeout():
    fake = FakeServer(lambda m: [_v1_refusal("someone-else"), _v1_refusal(m.msg_id)])
    try:
        with Client(fake.endpoint, timeout=5) as client, pytest.raises(RemoteError) as info:
            client.hello()
        assert info.value.code == "version_mismatch" and "\n" not in str(info.value)
        assert f"the backend at {fake.endpoint} speaks protocol 1.0 but this side speaks 2.1" in str(info.value)
        assert str(info.value).endswith(f"update the backend at {fake.endpoint}")
    finally:
        fake.close()


def test_the_cli_names_a_1x_backend_in_one_line(tmp_path, capsys):
    import soundfile
    from dreamtalk.cli import main

    soundfile.write(tmp_path / "voice.wav", np.full(8000, 0.1, np.float32), 16000)
    fake = FakeServer(lambda m: [_v1_refusal(m.msg_id)] if m.type == "generate" else [])
    try:
        code = main(["generate", str(tmp_path / "voice.wav"), "-o", str(tmp_path / "out.json"),
                     "--server", fake.endpoint])
    finally:
        fake.close()
    err = capsys.readouterr().err.strip()
    assert code == 2 and "\n" not in err and "version_mismatch" in err and "speaks protocol 1.0" in err
    assert not (tmp_path / "out.json").exists()


@pytest.mark.parametrize("call", ["hello", "generate"])
def test_replies_with_a_wrong_or_missing_parent_id_are_ignored_until_the_timeout(call):
    def unparented(message: Message) -> list[Message]:
        if message.type not in ("hello", "generate"):
            return []  # the client's own heartbeats on its control socket
        kind = "hello" if message.type == "hello" else "result"
        return [Message(kind, {"version": "9"}, parent={"msg_id": "someone-else", "type": message.type}),
                Message(kind, {"version": "9"}),  # no parent header at all
                Message(kind, {"version": "9", "job_id": message.msg_id}, parent={"type": message.type}),
                Message("heartbeat", {"state": "queued"})]

    fake = FakeServer(unparented)
    try:
        with Client(fake.endpoint, timeout=0.6) as client, pytest.raises(BackendUnavailable, match="within 0.6 s"):
            client.hello() if call == "hello" else client.generate(echo_request(1))
        wait_until(lambda: fake.sent == 4, what="the fake's replies")  # they came, and none was taken
    finally:
        fake.close()


def test_backend_that_accepts_then_falls_silent_times_out():
    def accept_then_vanish(message: Message) -> list[Message]:
        if message.type == "generate":
            return [message.reply("heartbeat", {"state": "queued"})]
        return []

    fake = FakeServer(accept_then_vanish)
    try:
        with Client(fake.endpoint, timeout=0.4) as client, pytest.raises(BackendTimeout, match="went silent"):
            client.generate(echo_request(1))
    finally:
        fake.close()


def test_replies_for_other_jobs_are_ignored():
    def crossed(message: Message) -> list[Message]:
        if message.type != "generate":
            return []
        wrong = Message("error", {"code": "busy", "message": "not yours"}, parent={"msg_id": "someone-else"})
        right = message.reply("error", {"code": "engine_error", "message": "yours"})
        return [wrong, right]

    fake = FakeServer(crossed)
    try:
        with Client(fake.endpoint, timeout=2) as client, pytest.raises(RemoteError, match="yours") as info:
            client.generate(echo_request(1))
        assert info.value.code == "engine_error"
    finally:
        fake.close()


def test_curve_keys_load_from_generated_files(tmp_path):
    from dreamtalk.server.security import generate_keys

    _, client_secret = generate_keys(tmp_path, "client")
    server_public, _ = generate_keys(tmp_path, "server")
    keys = CurveKeys.load(client_secret, server_public)
    assert len(keys.public) == len(keys.secret) == len(keys.server_public) == 40
    with pytest.raises(BackendError, match="no secret key"):
        CurveKeys.load(server_public, server_public)
    with pytest.raises(DreamTalkError, match="not overwriting"):
        generate_keys(tmp_path, "client")
    assert np.all([p.exists() for p in (client_secret, server_public)])


def test_close_from_another_thread_ends_a_waiting_call_with_a_clear_error():
    fake = FakeServer(lambda m: [m.reply("heartbeat")] if m.type == "generate" else [])
    errors: list[BaseException] = []
    client = Client(fake.endpoint, timeout=30)

    def call() -> None:
        try:
            client.generate(echo_request(1))
        except BaseException as error:
            errors.append(error)

    thread = threading.Thread(target=call)
    thread.start()
    try:
        wait_until(lambda: thread.is_alive(), what="call running")
        time.sleep(0.2)  # let the call reach its receive loop
        client.close()
        thread.join(10)
    finally:
        fake.close()
    assert len(errors) == 1 and isinstance(errors[0], BackendError), errors


def test_cancel_set_before_the_call_is_honoured():
    svc = start_service()
    cancel = threading.Event()
    cancel.set()
    try:
        with Client(svc.endpoint, timeout=5) as client, pytest.raises(JobCancelled):
            client.generate(echo_request(1), cancel=cancel)
    finally:
        svc.stop()
