"""Wire protocol 2.1: round trips of every payload kind, header / parent header / content kept apart,
version rules (a 1.x peer is refused with a clear message), and robust decoding."""

from __future__ import annotations

import json
from dataclasses import fields

import numpy as np
import pytest
from dreamtalk.core.arkit import ARKIT_NAMES, INDEX
from dreamtalk.core.curves import Curves
from dreamtalk.core.errors import InputError
from dreamtalk.core.protocol import (
    ARRAY_FIELDS,
    DELIMITER,
    OPTION_TYPES,
    PROTOCOL_VERSION,
    Message,
    ProtocolError,
    check_version,
    curves_from_buffers,
    curves_to_buffers,
    decode,
    encode,
    render_from_message,
    render_to_message,
    request_from_message,
    request_to_message,
    result_message,
    takes_from_result,
    video_content,
    video_from_result,
)
from dreamtalk.core.request import EmotionKey, GenerateRequest, RenderRequest
from hypothesis import given, settings
from hypothesis import strategies as st


def _curves(frames: int, seed: int, eyes: bool = False) -> Curves:
    rng = np.random.default_rng(seed)
    eye = rng.normal(0, 0.1, (frames, 6)) if eyes else None
    return Curves(30.0, rng.uniform(0, 1, (frames, 52)), rng.normal(0, 0.1, (frames, 3)), eye)


def _roundtrip(message: Message) -> Message:
    return decode([bytes(f) for f in encode(message)])


def test_message_roundtrip_keeps_fields_arrays_and_images():
    png = b"\x89PNG\r\n\x1a\n" + bytes(range(50))
    arrays = {"a": np.arange(12, dtype=np.float32).reshape(3, 4), "b": np.array([1, -2], np.int16),
              "mask": np.array([True, False]), "portrait": png}
    message = Message("render", {"fps": 25.0, "nested": {"x": [1, 2]}}, arrays)
    back = _roundtrip(message)
    assert (back.type, back.msg_id, back.content) == ("render", message.msg_id, message.content)
    for name in ("a", "b", "mask"):
        assert back.buffers[name].dtype == arrays[name].dtype
        np.testing.assert_array_equal(back.buffers[name], arrays[name])
    assert back.buffers["portrait"] == png


def test_float64_arrays_travel_as_float32_and_objects_are_refused():
    back = _roundtrip(Message("result", {}, {"x": np.array([0.5, 1.5])}))
    assert back.buffers["x"].dtype == np.float32
    with pytest.raises(Exception, match="cannot send arrays of dtype object"):
        encode(Message("result", {}, {"x": np.array([{"a": 1}], dtype=object)}))
    with pytest.raises(Exception, match="PNG, JPEG or MP4"):
        encode(Message("render", {}, {"portrait": b"GIF89a..."}))


def test_generate_request_roundtrip_with_every_option():
    request = GenerateRequest(
        np.linspace(-1, 1, 8000, dtype=np.float32), 16000, transcript="hello there", emotion="happy",
        intensity=0.8, emotion_keys=[EmotionKey(0.0, "sad", 0.5), EmotionKey(0.3, "angry", 1.0)],
        style_clip=_curves(40, 1, eyes=True), locked=_curves(12, 2), locked_mask=np.arange(12) % 3 == 0,
        seed=7, takes=3, fps=30.0, engine="echo", steps=12, guidance=2.5, refine=False,
    )
    back = request_from_message(_roundtrip(request_to_message(request)))
    np.testing.assert_array_equal(back.audio, request.audio)
    assert back.options() == request.options()
    for name in ("style_clip", "locked"):
        np.testing.assert_array_equal(getattr(back, name).values, getattr(request, name).values)
        np.testing.assert_array_equal(getattr(back, name).head_pose, getattr(request, name).head_pose)
    np.testing.assert_array_equal(back.style_clip.eye_rotation, request.style_clip.eye_rotation)
    np.testing.assert_array_equal(back.locked_mask, request.locked_mask)


def test_int16_audio_is_scaled_back_to_float():
    request = GenerateRequest(np.array([0.0, 0.5, -0.5, -1.0], np.float32), 8000)
    message = _roundtrip(request_to_message(request, audio_dtype="int16"))
    assert message.buffers["audio"].dtype == np.int16
    np.testing.assert_allclose(request_from_message(message).audio, request.audio, atol=1 / 32768)


def test_every_request_field_is_carried():
    carried = set(OPTION_TYPES) | ARRAY_FIELDS
    assert carried == {f.name for f in fields(GenerateRequest)}


def test_precise_is_sent_only_when_asked_so_2_0_backends_take_the_rest():
    """2.1's `precise`: absent from the message when false (a 2.0 backend refuses unknown options), carried
    when true; a message without it (a 2.0 client's) decodes to false; a non-bool is bad_request."""
    audio = np.zeros(1600, np.float32)
    plain = request_to_message(GenerateRequest(audio, 16000))
    assert "precise" not in plain.content["options"] and request_from_message(_roundtrip(plain)).precise is False
    asked = _roundtrip(request_to_message(GenerateRequest(audio, 16000, precise=True)))
    assert asked.content["options"]["precise"] is True and request_from_message(asked).precise is True
    asked.content["options"]["precise"] = 1
    with pytest.raises(ProtocolError, match="precise"):
        request_from_message(asked)
    with pytest.raises(InputError, match="precise must be true or false"):
        GenerateRequest(audio, 16000, precise="yes")


def test_result_roundtrip_and_channels_matched_by_name():
    takes = [_curves(50, 3), _curves(50, 4, eyes=True)]
    back = takes_from_result(_roundtrip(result_message({"msg_id": "job"}, takes)))
    for mine, theirs in zip(takes, back, strict=True):
        np.testing.assert_array_equal(mine.values, theirs.values)
        assert theirs.fps == mine.fps
    description, arrays = curves_to_buffers(takes[0], "c")
    order = list(reversed(range(52)))
    description["names"] = [ARKIT_NAMES[i] for i in order]
    arrays["c.values"] = arrays["c.values"][:, order]
    shuffled = curves_from_buffers(description, arrays, "c")
    np.testing.assert_array_equal(shuffled.channel("jawOpen"), takes[0].values[:, INDEX["jawOpen"]])


def test_content_keys_named_like_header_keys_survive():
    content = {"msg_id": "not-the-id", "type": "nope", "version": "0.1.0", "session": "x", "buffers": ["?"]}
    message = Message("hello", content, parent={"msg_id": "p1", "type": "hello", "session": "s"}, session="me")
    back = _roundtrip(message)
    assert back.content == content
    assert (back.type, back.msg_id, back.version, back.session) == ("hello", message.msg_id, PROTOCOL_VERSION, "me")
    assert back.parent == message.parent and back.parent_id == "p1"
    header = json.loads(encode(message)[1])
    assert (header["msg_id"], header["type"], header["version"]) == (message.msg_id, "hello", PROTOCOL_VERSION)


def test_a_reply_names_its_request_in_the_parent_header():
    request = Message("generate", session="abc")
    reply = _roundtrip(request.reply("progress", {"stage": "sample", "fraction": 0.5}))
    assert reply.parent == {"msg_id": request.msg_id, "type": "generate", "session": "abc"}
    assert reply.parent_id == request.msg_id and reply.msg_id != request.msg_id
    assert _roundtrip(Message("hello")).parent_id is None  # a request answers nothing


def _v1_frames(kind: str = "hello", buffers: tuple[bytes, ...] = ()) -> list[bytes]:
    """What a 1.x peer sends: one JSON header holding every field, then the binary frames."""
    specs = [{"name": "audio", "dtype": "float32", "shape": [len(b) // 4]} for b in buffers]
    header = {"msg_id": "a1b2", "type": kind, "version": "1.4", "buffers": specs, "session": "old",
              "options": {}, "sample_rate": 16000}
    return [DELIMITER, json.dumps(header).encode(), *buffers]


def test_a_1x_peer_is_refused_with_a_message_naming_both_versions():
    for frames in (_v1_frames(), _v1_frames("generate", (np.zeros(160, np.float32).tobytes(),))):
        with pytest.raises(ProtocolError) as info:
            decode(frames, peer="the client")
        text = str(info.value)
        assert info.value.code == "version_mismatch" and "\n" not in text
        assert text.startswith("the client speaks protocol 1.4 but this side speaks 2.1")
        assert text.endswith("update the client")


def test_a_newer_major_is_refused_and_another_minor_accepted():
    frames = encode(Message("hello", {}))
    header = json.loads(frames[1])
    header["version"] = "3.0"
    with pytest.raises(ProtocolError, match="update this side") as info:
        decode([frames[0], json.dumps(header).encode(), *frames[2:]])
    assert info.value.code == "version_mismatch"
    header["version"] = f"{PROTOCOL_VERSION.split('.')[0]}.99"
    assert decode([frames[0], json.dumps(header).encode(), *frames[2:]]).type == "hello"
    with pytest.raises(ProtocolError) as info:
        check_version("one")
    assert info.value.code == "bad_message"


@pytest.mark.parametrize("mutate, code, text", [
    (lambda f: f[:1], "bad_message", "delimiter and a header"),
    (lambda f: [f[0], b"{not json"] + f[2:], "bad_message", "not valid UTF-8 JSON"),
    (lambda f: [f[0], b'{"x": ' + b"9" * 5000 + b"}"], "bad_message", "not valid UTF-8 JSON"),
    (lambda f: [f[0], b"[" * 100000], "bad_message", "not valid UTF-8 JSON"),
    (lambda f: [f[0], b"\xff\xfe"], "bad_message", "not valid UTF-8 JSON"),
    (lambda f: [b"hello", *f[1:]], "bad_message", "delimiter"),
    (lambda f: f[:-1], "bad_message", "buffers"),
    (lambda f: f[:4] + [f[4][:-4]] + f[5:], "bad_message", "needs"),
    (lambda f: f[:2], "bad_message", "parent header and content"),
    (lambda f: f[:2] + [b"[]"] + f[3:], "bad_message", "parent header must be a JSON object"),
    (lambda f: f[:3] + [b"{"] + f[4:], "bad_message", "content is not valid UTF-8 JSON"),
])
def test_truncated_or_broken_frames_give_clear_errors(mutate, code, text):
    frames = [bytes(f) for f in encode(request_to_message(GenerateRequest(np.zeros(160, np.float32), 16000)))]
    with pytest.raises(ProtocolError, match=text) as info:
        decode(mutate(frames))
    assert info.value.code == code


@pytest.mark.parametrize("options, text", [
    ({"seed": "7"}, "wrong type"), ({"intensity": 3.0}, "intensity"), ({"path": "/etc/passwd"}, "unknown"),
    ({"takes": True}, "wrong type"), ({"emotion_keys": [{"time": "x", "emotion": "sad"}]}, "emotion key"),
])
def test_bad_generate_options_are_refused(options, text):
    message = _roundtrip(request_to_message(GenerateRequest(np.zeros(160, np.float32), 16000)))
    message.content["options"].update(options)
    with pytest.raises(ProtocolError, match=text) as info:
        request_from_message(message)
    assert info.value.code == "bad_request"


_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4),
    max_leaves=12,
)


@settings(max_examples=300, deadline=None)
@given(frames=st.lists(st.binary(max_size=64), min_size=0, max_size=5), header=_json)
def test_decoding_garbage_raises_only_protocol_errors(frames, header):
    for candidate in ([DELIMITER, *frames], [DELIMITER, json.dumps(header).encode(), *frames], frames):
        try:
            message = decode(candidate)
            if message.type == "generate":
                request_from_message(message)
        except ProtocolError as error:
            assert "\n" not in str(error)


def test_render_request_roundtrip_with_and_without_audio():
    png = b"\x89PNG\r\n\x1a\n" + bytes(range(30))
    curves = _curves(20, 9)
    back = render_from_message(_roundtrip(render_to_message(RenderRequest(png, curves, options={"size": 256}))))
    assert back.portrait == png and back.options == {"size": 256} and back.audio is None
    np.testing.assert_array_equal(back.curves.values, curves.values)
    audio = np.linspace(-0.5, 0.5, 800, dtype=np.float32)
    back = render_from_message(_roundtrip(render_to_message(RenderRequest(png, curves, audio, 8000))))
    np.testing.assert_array_equal(back.audio, audio)
    assert back.sample_rate == 8000
    with pytest.raises(ProtocolError, match="portrait"):
        render_from_message(Message("render", {"curves": {}}, {}))


def test_render_result_carries_video_bytes():
    video = b"\x00\x00\x00\x18ftypmp42" + bytes(64)
    content, buffers = video_content(video, 25.0, 50)
    back = _roundtrip(Message("render").reply("result", content, buffers))
    assert video_from_result(back) == video and back.get("video") == {"format": "mp4", "fps": 25.0, "frames": 50}
