"""Load and abuse: 20 concurrent clients x 5 requests, and 1000 malformed/fuzzed messages."""

from __future__ import annotations

import json
import threading

import numpy as np
import pytest
from dreamtalk import engines
from dreamtalk.core.client import Client
from dreamtalk.core.protocol import ERROR_CODES, Message, encode, request_to_message
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from server_helpers import RawPeer, echo_request, hang_guard, start_service  # noqa: F401

CLIENTS, REQUESTS = 20, 5


def test_20_clients_x_5_requests_every_result_correct_and_uncrossed():
    svc = start_service(workers=2, max_queue=64)
    results: dict[tuple[int, int], list] = {}
    failures: list[BaseException] = []

    def client_run(index: int) -> None:
        try:
            with Client(svc.endpoint, timeout=20) as client:
                for k in range(REQUESTS):
                    seed = index * 100 + k
                    results[index, k] = client.generate(echo_request(seed, takes=1 + k % 2))
        except BaseException as error:  # collected and reported below
            failures.append(error)

    threads = [threading.Thread(target=client_run, args=(i,)) for i in range(CLIENTS)]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(90)
    finally:
        svc.stop()
    assert not failures, failures[:3]
    assert len(results) == CLIENTS * REQUESTS
    for (index, k), takes in results.items():
        expected = engines.generate(echo_request(index * 100 + k, takes=1 + k % 2))
        assert len(takes) == len(expected)
        for mine, theirs in zip(expected, takes, strict=True):
            np.testing.assert_array_equal(mine.values, theirs.values)
            np.testing.assert_array_equal(mine.head_pose, theirs.head_pose)


# ---------------------------------------------------------------- fuzzing

_VALID = [bytes(f) for f in encode(request_to_message(echo_request(1)))]
_PARTS = [json.loads(frame) for frame in _VALID[1:4]]  # header, parent header, content
_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=12),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=8,
)
_KEYS = st.sampled_from(sorted({*_PARTS[0], *_PARTS[2], *_PARTS[2]["options"], "msg_id", "curves", "zzz"}))


@st.composite
def _json_mutation(draw) -> list[bytes]:
    """One key of the header, the parent header, the content or its options set to any JSON value."""
    parts = [json.loads(frame) for frame in _VALID[1:4]]
    which, key, value = draw(st.integers(0, 2)), draw(_KEYS), draw(_json)
    target = parts[which]
    if which == 2 and key in target["options"] and draw(st.booleans()):
        target = target["options"]
    target[key] = value
    return [_VALID[0], *(json.dumps(part, allow_nan=True).encode() for part in parts), *_VALID[4:]]


@st.composite
def _truncation(draw) -> list[bytes]:
    frames = list(_VALID)
    cut = draw(st.integers(1, len(frames)))
    frames = frames[:cut]
    index = draw(st.integers(0, len(frames) - 1))
    frames[index] = frames[index][: draw(st.integers(0, len(frames[index])))]
    return frames


@st.composite
def _byte_flips(draw) -> list[bytes]:
    frames = list(_VALID)
    which = draw(st.integers(1, 3))
    text = bytearray(frames[which])
    for _ in range(draw(st.integers(1, 8))):
        text[draw(st.integers(0, len(text) - 1))] = draw(st.integers(0, 255))
    frames[which] = bytes(text)
    return frames


_FUZZ = st.one_of(
    st.lists(st.binary(max_size=80), min_size=1, max_size=6),
    st.lists(st.binary(max_size=40), max_size=4).map(lambda rest: [_VALID[0], *rest]),
    _json_mutation(), _truncation(), _byte_flips(),
)


@pytest.fixture(scope="module")
def fuzz_target():
    svc = start_service(workers=1, max_queue=256, max_jobs_per_client=256, max_message_bytes=1 << 20)
    peer = RawPeer(svc.endpoint)
    yield svc, peer
    peer.close()
    svc.stop()


@settings(max_examples=1000, deadline=None, suppress_health_check=list(HealthCheck))
@given(frames=_FUZZ)
def test_1000_fuzzed_messages_get_errors_or_are_dropped_and_service_goes_on(fuzz_target, frames):
    svc, peer = fuzz_target
    peer.send(frames)
    ping = Message("heartbeat", {})
    peer.send_message(ping)
    while True:  # everything before the ping's answer must be a well-formed reply
        reply = peer.receive(timeout=10)
        assert reply is not None, "service stopped answering"
        if reply.type == "heartbeat" and reply.parent_id == ping.msg_id:
            break
        assert reply.type in ("error", "heartbeat", "progress", "result")
        if reply.type == "error":
            assert reply.get("code") in ERROR_CODES and "\n" not in reply.get("message")


def test_oversized_messages_are_dropped_and_others_still_served():
    svc = start_service(max_message_bytes=64 << 10)
    try:
        for size in (65 << 10, 1 << 20):
            peer = RawPeer(svc.endpoint)
            peer.send([_VALID[0], _VALID[1], bytes(size)])
            assert peer.receive(timeout=0.3) is None  # dropped: no reply, connection closed
            peer.close()
        big = echo_request(1)
        big.audio = np.zeros(40000, np.float32)  # 160 KB of audio > 64 KiB limit
        with Client(svc.endpoint, timeout=0.5) as client:
            with pytest.raises(Exception, match="no backend|went silent"):
                client.generate(big)
            client.timeout = 5
            assert client.generate(echo_request(2))
    finally:
        svc.stop()


def test_raw_garbage_without_delimiter_gets_an_error_reply():
    svc = start_service()
    try:
        peer = RawPeer(svc.endpoint)
        peer.send([b"GET / HTTP/1.1"])
        peer.send([b"\x00" * 3, b"more"])
        replies = [peer.receive(timeout=5) for _ in range(2)]
        peer.close()
    finally:
        svc.stop()
    assert [r.get("code") for r in replies] == ["bad_message", "bad_message"]
