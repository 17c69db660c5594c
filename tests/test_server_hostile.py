"""The service under hostile input (issue 15): whole-message limits before anything is copied, audio
refused from its declared shape, many-frame messages held to a bounded number of frames, huge buffer
shapes, out-of-range options, and error texts that reveal nothing of the server's files."""

from __future__ import annotations

import json
import tracemalloc

import numpy as np
import pytest
import zmq
from dreamtalk.core.protocol import DELIMITER, Message, encode, request_to_message
from server_helpers import RawPeer, echo_request, hang_guard, start_service  # noqa: F401

@pytest.fixture
def small_service():
    svc = start_service(workers=1, max_message_bytes=1 << 20, max_audio_seconds=2.0)
    yield svc
    svc.stop()


@pytest.fixture
def peer(small_service):
    raw = RawPeer(small_service.endpoint)
    yield raw
    raw.close()


def _ask(peer: RawPeer, frames: list, timeout: float = 10.0) -> Message:
    peer.send(frames)
    reply = peer.receive(timeout)
    assert reply is not None, "no reply"
    return reply


def _traced_peak(action) -> int:
    """Peak Python/numpy allocation (bytes) while `action()` runs (the service runs in this process)."""
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        base = tracemalloc.get_traced_memory()[0]
        result = action()
        return tracemalloc.get_traced_memory()[1] - base, result
    finally:
        tracemalloc.stop()


def test_a_message_over_the_whole_message_limit_is_refused_with_a_reply_and_not_copied(peer):
    """Each frame is under the 1 MiB limit (libzmq's per-frame check passes), the message is not."""
    message = request_to_message(echo_request(1))
    for index in range(4):
        message.buffers[f"extra{index}"] = np.zeros(100_000, np.float32)  # 400 KB each, 1.6 MB in all
    frames = encode(message)
    peak, reply = _traced_peak(lambda: _ask(peer, frames))
    assert (reply.type, reply.get("code"), reply.parent_id) == ("error", "too_large", message.msg_id)
    assert "limit" in reply.get("message")
    assert peak < 400_000, f"the service copied {peak} bytes of a refused 1.6 MB message"


def test_audio_over_the_limit_is_refused_from_its_declared_shape_before_conversion(peer):
    request = echo_request(2)
    request.audio = np.full(16000 * 30, 0.1, np.float32)  # 30 s > 2 s, sent as int16: 960 KB
    message = request_to_message(request, audio_dtype="int16")
    frames = encode(message)
    peak, reply = _traced_peak(lambda: _ask(peer, frames))
    assert (reply.get("code"), reply.parent_id) == ("too_large", message.msg_id)
    assert "30.0 s" in reply.get("message")
    assert peak < 500_000, f"{peak} bytes allocated: the audio was converted before its length was checked"


def test_a_message_of_many_tiny_frames_is_never_held_whole(peer):
    """100 000 one-byte frames: the service keeps a bounded number of them, answers, and goes on."""
    message = request_to_message(echo_request(3))
    frames = [*encode(message), *([b"x"] * 100_000)]
    peak, reply = _traced_peak(lambda: _ask(peer, frames, timeout=60))
    assert peak < 3_000_000, f"{peak} bytes allocated: the frames of the message were all kept"
    assert (reply.type, reply.get("code"), reply.parent_id) == ("error", "bad_message", message.msg_id)
    assert "frames" in reply.get("message")
    ping = Message("heartbeat")
    assert _ask(peer, encode(ping)).parent_id == ping.msg_id


@pytest.mark.parametrize("shape", [[0, 2**39, 2**39, 2**39], [2**39, 0], [0, 2**62]])
def test_huge_declared_shapes_get_a_bad_message_reply(peer, shape):
    message = request_to_message(echo_request(4))
    frames = encode(message)
    header = json.loads(frames[1])
    header["buffers"].append({"name": "huge", "dtype": "float32", "shape": shape})
    frames[1] = json.dumps(header).encode()
    reply = _ask(peer, [*frames, b""])
    assert (reply.type, reply.get("code"), reply.parent_id) == ("error", "bad_message", message.msg_id)


@pytest.mark.parametrize("options, text", [
    ({"seed": 2**70}, "seed"), ({"steps": -5}, "steps"), ({"steps": 0}, "steps"),
    ({"fps": 10**6}, "fps"), ({"takes": 0}, "takes"),
])
def test_out_of_range_options_answer_bad_request(peer, options, text):
    message = request_to_message(echo_request(5))
    message.content["options"].update(options)
    reply = _ask(peer, encode(message))
    assert (reply.type, reply.get("code"), reply.parent_id) == ("error", "bad_request", message.msg_id)
    assert text in reply.get("message")


def test_refused_garbage_is_answered_without_reading_its_frames_into_python(peer):
    """A frame-count check on a message without a delimiter: one reply, the service goes on."""
    peer.send([b"junk"] * 5000)
    reply = peer.receive(10)
    assert reply is not None and reply.get("code") == "bad_message"
    ping = Message("heartbeat")
    assert _ask(peer, encode(ping)).parent_id == ping.msg_id


def test_a_header_frame_over_the_json_limit_is_refused_before_it_is_copied():
    svc = start_service(workers=1)  # the default 256 MiB message limit: the 2 MB header is within it
    raw = RawPeer(svc.endpoint)
    frames = [DELIMITER, b" " * 2_000_000, b"{}", b"{}"]
    try:
        peak, reply = _traced_peak(lambda: _ask(raw, frames))
    finally:
        raw.close()
        svc.stop()
    assert reply.get("code") == "bad_message" and "2000000 bytes" in reply.get("message")
    assert peak < 1_000_000


def test_frames_read_per_turn_are_bounded_and_the_next_message_is_intact():
    """The reader drains an oversized message a slice at a time (the I/O loop serves others in between)
    and the message after it arrives whole."""
    from dreamtalk.server.intake import FrameReader

    context = zmq.Context()
    router, dealer = context.socket(zmq.ROUTER), context.socket(zmq.DEALER)
    port = router.bind_to_random_port("tcp://127.0.0.1")
    dealer.connect(f"tcp://127.0.0.1:{port}")
    good = encode(Message("heartbeat"))
    dealer.send_multipart([*good, *([b"y"] * 5000)])
    dealer.send_multipart(good)
    reader = FrameReader(router, max_bytes=1 << 20, max_frames=80, slice_frames=500)
    assert router.poll(5000)
    outcomes, calls = [], 0
    while len(outcomes) < 2 and calls < 100:
        calls += 1
        before = reader.frames_read
        outcome = reader.read()
        assert reader.frames_read - before <= 500
        if outcome is not None:
            outcomes.append(outcome)
        else:
            router.poll(1000)
    first, second = outcomes
    assert first.refusal is not None and first.refusal[0] == "bad_message" and calls >= 10
    assert second.refusal is None and [bytes(f) for f in second.frames[1:]] == [bytes(f) for f in good]
    router.close()
    dealer.close()
    context.term()
