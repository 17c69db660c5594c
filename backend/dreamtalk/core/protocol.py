"""The DREAM-Talk wire protocol (2.1): multipart ZeroMQ messages, JSON frames + raw binary frames.

Modelled on the Jupyter messaging protocol (jupyter_client): every message is

    [routing envelope ...] DELIMITER header parent_header content buffer-0 buffer-1 ...

* header `{msg_id, type, version, session, buffers: [...]}`: who sent what; `buffers` describes the
  binary frames in order (`name`, `dtype`, `shape`, or `dtype: "bytes"` with a `format`).
* parent_header: `{msg_id, type, session}` of the request this message answers (`{}` for requests).
  A client takes a message as an answer only when `parent_header.msg_id` is its request's id.
* content: the type-specific body. Header, parent header and content are separate JSON objects, so a
  content key may share a header key's name (`hello`'s `version` is the package version).

Arrays travel as raw little-endian bytes, never pickled. The envelope (identities added by ROUTER
sockets and brokers) is kept apart so that any number of hops can sit between a client and a worker.
`PROTOCOL_VERSION` is defined here only; it is independent of the package version. A peer whose
major version differs is refused with a `version_mismatch` error naming both versions (the header is
read before anything else, so a 1.x peer gets that answer, not a parse error); minor versions are
compatible. See docs/protocol.md.
"""

from __future__ import annotations

import hashlib
import json
import math
import uuid
from dataclasses import dataclass, field

import numpy as np

from .arkit import ARKIT_NAMES, INDEX
from .curves import Curves
from .errors import DreamTalkError, InputError
from .request import DEFAULT_ENGINE, EmotionKey, GenerateRequest, RenderRequest, check_options

PROTOCOL_VERSION = "2.1"  # major.minor; bump major for incompatible changes
DELIMITER = b"<DTK|MSG>"  # separates the routing envelope from the message
JSON_FRAMES = 3  # header, parent header, content
MAX_JSON_BYTES = 1 << 20  # a JSON frame larger than this is refused before parsing
MAX_BUFFERS = 64  # binary frames per message
MAX_ENVELOPE = 8  # routing frames before the delimiter (one per ROUTER hop)
MAX_ROUTING_ID = 255  # bytes in one routing frame (libzmq's own limit)
MAX_FRAMES = MAX_ENVELOPE + 1 + JSON_FRAMES + MAX_BUFFERS  # frames a well-formed message can have
MAX_DIMENSION = 2**31 - 1  # largest size of one dimension of a buffer
MAX_ARRAY_ELEMENTS = 1 << 40  # elements a buffer shape may describe (zero-sized dimensions count as 1)
MAX_ERROR_TEXT = 280  # characters of an error message's text
CONTROL_PREFIX = b"C"  # routing-id prefix of client control sockets (cancel, heartbeat); brokers broadcast them

MESSAGE_TYPES: tuple[str, ...] = (
    "hello", "generate", "progress", "result", "render", "cancel", "error", "heartbeat",
)
ARRAY_DTYPES: dict[str, np.dtype] = {
    "float32": np.dtype("<f4"), "int16": np.dtype("<i2"), "uint8": np.dtype("u1"), "bool": np.dtype("?"),
}
BYTES_FORMATS: tuple[str, ...] = ("png", "jpeg", "mp4")  # encoded media sent as bytes buffers

# Error codes carried by `error` messages (docs/protocol.md lists what each means).
ERROR_CODES: tuple[str, ...] = (
    "bad_message", "version_mismatch", "unknown_type", "bad_request", "too_large", "busy",
    "too_many_jobs", "cancelled", "timeout", "engine_error", "no_renderer", "shutting_down", "internal",
)


class ProtocolError(DreamTalkError):
    """A message that does not follow the protocol; `code` is one of ERROR_CODES."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


@dataclass
class Message:
    """One decoded protocol message: header identity, parent header, content and named buffers."""

    type: str  # one of MESSAGE_TYPES
    content: dict = field(default_factory=dict)  # JSON-able body of the message type
    buffers: dict[str, np.ndarray | bytes] = field(default_factory=dict)  # name -> array or media bytes
    parent: dict = field(default_factory=dict)  # parent header: identity of the message this answers
    msg_id: str = field(default_factory=lambda: uuid.uuid4().hex)
    version: str = PROTOCOL_VERSION
    session: str = ""  # the sending client's session id (the per-client limits key without CurveZMQ)

    def get(self, key: str, default=None):
        return self.content.get(key, default)

    @property
    def parent_id(self) -> str | None:
        """`parent_header.msg_id`: the request this message answers, if any."""
        value = self.parent.get("msg_id")
        return value if isinstance(value, str) else None

    def identity(self) -> dict:
        """What a reply to this message carries as its parent header."""
        return {"msg_id": self.msg_id, "type": self.type, "session": self.session}

    def reply(self, kind: str, content: dict | None = None, buffers: dict | None = None) -> Message:
        """A message of type `kind` answering this one."""
        return Message(kind, dict(content or {}), dict(buffers or {}), parent=self.identity())


def parse_version(version: object) -> tuple[int, int]:
    """'2.0' -> (2, 0); anything else raises ProtocolError('bad_message')."""
    if not isinstance(version, str):
        raise ProtocolError("bad_message", "header field 'version' must be a 'major.minor' string")
    major, dot, minor = version.partition(".")
    if not (dot and major.isdigit() and minor.isdigit()):
        raise ProtocolError("bad_message", f"protocol version {version[:20]!r} is not 'major.minor'")
    return int(major), int(minor)


def check_version(version: object, peer: str = "the peer") -> None:
    """Refuse a peer whose major protocol version differs from ours; the message says who to update."""
    major, _ = parse_version(version)
    ours, _ = parse_version(PROTOCOL_VERSION)
    if major != ours:
        older = peer if major < ours else "this side"
        raise ProtocolError(
            "version_mismatch",
            f"{peer} speaks protocol {version} but this side speaks {PROTOCOL_VERSION}; the major versions "
            f"differ, so they cannot talk: update {older}",
        )


# ---------------------------------------------------------------- frames

def encode(message: Message) -> list[bytes]:
    """Message -> [DELIMITER, header, parent header, content, buffers...] (prepend the envelope to send)."""
    specs, frames = [], []
    for name, value in message.buffers.items():
        if isinstance(value, bytes | bytearray | memoryview):
            specs.append({"name": name, "dtype": "bytes", "format": _media_format(bytes(value))})
            frames.append(bytes(value))
            continue
        array = np.ascontiguousarray(value)
        dtype = _dtype_name(array.dtype, name)
        specs.append({"name": name, "dtype": dtype, "shape": list(array.shape)})
        frames.append(array.astype(ARRAY_DTYPES[dtype], copy=False).tobytes())
    header = {"msg_id": message.msg_id, "type": message.type, "version": message.version,
              "session": message.session, "buffers": specs}
    jsons = [json.dumps(part, allow_nan=False).encode() for part in (header, message.parent, message.content)]
    return [DELIMITER, *jsons, *frames]


def split_envelope(frames: list) -> tuple[list[bytes], list]:
    """Split received frames (bytes or zmq.Frame) into (envelope, [DELIMITER, header, ...]);
    ProtocolError if no delimiter among the first frames. No frame is copied but the routing ids."""
    for index, frame in enumerate(frames[: MAX_ENVELOPE + 1]):
        if _is_delimiter(frame):
            if any(len(f) > MAX_ROUTING_ID for f in frames[:index]):
                raise ProtocolError("bad_message", f"routing frames are at most {MAX_ROUTING_ID} bytes")
            return [bytes(f) for f in frames[:index]], list(frames[index:])
    raise ProtocolError("bad_message", "message has no protocol delimiter frame")


def _is_delimiter(frame) -> bool:
    return len(frame) == len(DELIMITER) and bytes(frame) == DELIMITER


def decode(frames: list, peer: str = "the peer") -> Message:
    """[DELIMITER, header, parent, content, buffers...] -> Message; any defect raises ProtocolError.

    Frames may be bytes or zmq.Frame: array buffers are views of the received frames (read-only, not
    copied), JSON frames are measured before they are read. The header's version is checked first,
    so a peer of another major version (whose frames follow another layout) gets `version_mismatch`;
    `peer` names it in that message ("the client")."""
    if len(frames) < 2 or not _is_delimiter(frames[0]):
        raise ProtocolError("bad_message", "message must start with the delimiter and a header frame")
    header = _parse_json(frames[1], "header")
    _check_header(header)
    check_version(header["version"], peer)
    if len(frames) < 1 + JSON_FRAMES:
        raise ProtocolError("bad_message", "message needs header, parent header and content frames")
    parent = _parse_json(frames[2], "parent header")
    content = _parse_json(frames[3], "content")
    if header["type"] not in MESSAGE_TYPES:
        raise ProtocolError("unknown_type", f"unknown message type {str(header['type'])[:40]!r}")
    specs, data = header.get("buffers", []), frames[1 + JSON_FRAMES:]
    if not isinstance(specs, list) or len(specs) != len(data) or len(specs) > MAX_BUFFERS:
        raise ProtocolError("bad_message", f"header lists {_count(specs)} buffers but {len(data)} came")
    buffers = {}
    for spec, frame in zip(specs, data, strict=True):
        name, value = _decode_buffer(spec, frame)
        if name in buffers:
            raise ProtocolError("bad_message", f"buffer {name!r} appears twice")
        buffers[name] = value
    session = header.get("session", "")
    return Message(header["type"], content, buffers, parent, msg_id=header["msg_id"], version=header["version"],
                   session=session[:64] if isinstance(session, str) else "")


def _parse_json(frame, what: str) -> dict:
    if len(frame) > MAX_JSON_BYTES:
        raise ProtocolError("bad_message", f"{what} is {len(frame)} bytes; the limit is {MAX_JSON_BYTES}")
    try:
        value = json.loads(bytes(frame).decode("utf-8"))
    except (ValueError, RecursionError):
        raise ProtocolError("bad_message", f"{what} is not valid UTF-8 JSON") from None
    if not isinstance(value, dict):
        raise ProtocolError("bad_message", f"{what} must be a JSON object")
    return value


def _check_header(header: dict) -> None:
    for key in ("msg_id", "type", "version"):
        if not isinstance(header.get(key), str) or not header[key] or len(header[key]) > 64:
            raise ProtocolError("bad_message", f"header field {key!r} must be a short non-empty string")


def _decode_buffer(spec: object, frame) -> tuple[str, np.ndarray | bytes]:
    if not isinstance(spec, dict) or not isinstance(spec.get("name"), str):
        raise ProtocolError("bad_message", "each buffer description needs a 'name'")
    name, dtype = spec["name"][:80], spec.get("dtype")
    if dtype == "bytes":
        if spec.get("format") not in BYTES_FORMATS:
            raise ProtocolError("bad_message", f"buffer {name!r}: bytes buffers must be one of {list(BYTES_FORMATS)}")
        return name, bytes(frame)
    if dtype not in ARRAY_DTYPES:
        raise ProtocolError("bad_message", f"buffer {name!r}: dtype must be one of {sorted(ARRAY_DTYPES)}")
    shape = spec.get("shape")
    if not isinstance(shape, list) or len(shape) > 4 or not all(_is_count(n) for n in shape):
        raise ProtocolError("bad_message", f"buffer {name!r}: shape must be a list of up to 4 counts")
    if max(shape, default=0) > MAX_DIMENSION or math.prod(max(1, n) for n in shape) > MAX_ARRAY_ELEMENTS:
        raise ProtocolError("bad_message", f"buffer {name!r}: shape {str(shape)[:60]} is too large")
    expected = math.prod(shape) * ARRAY_DTYPES[dtype].itemsize
    if expected != len(frame):
        raise ProtocolError("bad_message", f"buffer {name!r}: shape {shape} needs {expected} bytes, got {len(frame)}")
    return name, np.frombuffer(memoryview(frame), ARRAY_DTYPES[dtype]).reshape(shape)


def _is_count(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 0 <= value < 2**40


def _count(specs: object) -> int | str:
    return len(specs) if isinstance(specs, list) else "no list of"


def _dtype_name(dtype: np.dtype, name: str) -> str:
    dtype = np.dtype(dtype)
    if dtype.kind == "f":
        return "float32"
    for key, known in ARRAY_DTYPES.items():
        if dtype.kind == known.kind and dtype.itemsize == known.itemsize:
            return key
    raise InputError(f"buffer {name!r}: cannot send arrays of dtype {dtype}")


def _media_format(data: bytes) -> str:
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if data.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    if data[4:8] == b"ftyp":
        return "mp4"
    raise InputError("bytes buffers must be PNG, JPEG or MP4 data")


def _loads(frame) -> object:
    if len(frame) > MAX_JSON_BYTES:
        return None
    try:
        return json.loads(bytes(frame).decode("utf-8"))
    except (ValueError, RecursionError):
        return None


def peek_identity(frames: list[bytes]) -> dict:
    """Best-effort parent header for a reply to a message that failed to decode: its msg_id and type
    when its header frame is readable JSON, else {} (the error then names no request)."""
    header = _loads(frames[1]) if len(frames) > 1 else None
    msg_id = header.get("msg_id") if isinstance(header, dict) else None
    if not (isinstance(msg_id, str) and 0 < len(msg_id) <= 64):
        return {}
    kind = header.get("type")
    return {"msg_id": msg_id, "type": kind if isinstance(kind, str) else "", "session": ""}


def answered_request(frames: list[bytes]) -> str | None:
    """The request id a message of any protocol major answers: `parent_header.msg_id` (2.x) or the
    header's `job_id` (1.x). Lets a client tell a refusal from a peer of another major meant for it."""
    header = _loads(frames[1]) if len(frames) > 1 else None
    parent = _loads(frames[2]) if len(frames) > 2 else None
    for source, key in ((parent, "msg_id"), (header, "job_id")):
        value = source.get(key) if isinstance(source, dict) else None
        if isinstance(value, str):
            return value
    return None


# ---------------------------------------------------------------- messages

def error_message(code: str, text: str, parent: dict | None = None) -> Message:
    """An `error` reply; `parent` is the identity of the request it answers (`Message.identity()`)."""
    return Message("error", {"code": code, "message": one_line(text)}, parent=dict(parent or {}))


def control_token(value: str) -> str:
    """What the broker's control broadcast shows instead of a job or session id: a one-way digest, so
    a listener learns no id it could use, while a worker holding the job can recognise it."""
    return hashlib.sha256(f"dreamtalk-control:{value}".encode()).hexdigest()[:32]


def one_line(text: object, limit: int = MAX_ERROR_TEXT) -> str:
    """`text` on one line of at most `limit` characters (longer ones end with '...')."""
    line = " ".join(str(text)[: limit * 4].split())
    return line if len(line) <= limit else line[: limit - 3] + "..."


def progress_message(parent: dict, stage: str, fraction: float) -> Message:
    return Message("progress", {"stage": stage, "fraction": float(fraction)}, parent=dict(parent))


def heartbeat_message(parent: dict, state: str | None = None) -> Message:
    """A server heartbeat about the job `parent` names (`state`: queued / running), or a ping's answer."""
    return Message("heartbeat", {} if state is None else {"state": state}, parent=dict(parent))


def curves_to_buffers(curves: Curves, prefix: str) -> tuple[dict, dict[str, np.ndarray]]:
    """Curves -> (header description {fps, names, frames}, float32 arrays named `prefix.*`)."""
    arrays = {f"{prefix}.values": curves.values, f"{prefix}.head_pose": curves.head_pose}
    if curves.eye_rotation is not None:
        arrays[f"{prefix}.eye_rotation"] = curves.eye_rotation
    description = {"fps": curves.fps, "names": list(curves.names), "frames": curves.num_frames}
    return description, arrays


def curves_from_buffers(description: object, buffers: dict, prefix: str) -> Curves:
    """Inverse of `curves_to_buffers`; channels are matched by name, so any name order is accepted."""
    if not isinstance(description, dict):
        raise ProtocolError("bad_message", f"curves {prefix!r} need a header description")
    values = _float_buffer(buffers, f"{prefix}.values", 2)
    names = description.get("names", list(ARKIT_NAMES))
    if not isinstance(names, list) or sorted(map(str, names)) != sorted(ARKIT_NAMES):
        raise ProtocolError("bad_message", f"curves {prefix!r}: names must be the 52 ARKit names")
    if values.shape[1] != len(names):
        raise ProtocolError("bad_message", f"curves {prefix!r}: {values.shape[1]} columns for {len(names)} names")
    order = np.argsort([INDEX[str(n)] for n in names])
    head = buffers.get(f"{prefix}.head_pose")
    eyes = buffers.get(f"{prefix}.eye_rotation")
    try:
        return Curves(description.get("fps"), values[:, order], head, eyes)
    except InputError as error:
        raise ProtocolError("bad_request", f"curves {prefix!r}: {error}") from None


def curves_extent(message: Message, prefix: str) -> tuple[int, float]:
    """(frames, fps) of the message's curves `prefix`, from the declared shape and description alone
    (nothing converted); ProtocolError when they are missing or malformed."""
    info = message.get("curves")
    description = info.get(prefix) if isinstance(info, dict) else None
    values = message.buffers.get(f"{prefix}.values")
    fps = description.get("fps") if isinstance(description, dict) else None
    if not isinstance(values, np.ndarray) or values.ndim != 2 or values.shape[0] < 1:
        raise ProtocolError("bad_request", f"{message.type} needs curves {prefix!r} with at least one frame")
    if isinstance(fps, bool) or not isinstance(fps, int | float) or not 1 <= fps <= 240:
        raise ProtocolError("bad_request", f"curves {prefix!r} need an fps between 1 and 240")
    return int(values.shape[0]), float(fps)


def _float_buffer(buffers: dict, name: str, ndim: int) -> np.ndarray:
    array = buffers.get(name)
    if not isinstance(array, np.ndarray) or array.ndim != ndim:
        raise ProtocolError("bad_message", f"buffer {name!r} is missing or not {ndim}-D")
    return array.astype(np.float32)


def takes_content(takes: list[Curves]) -> tuple[dict, dict[str, np.ndarray]]:
    """The content and buffers of a generate `result`: one curves set per take (`take0.*`, ...)."""
    descriptions, buffers = [], {}
    for index, curves in enumerate(takes):
        description, arrays = curves_to_buffers(curves, f"take{index}")
        descriptions.append(description)
        buffers.update(arrays)
    return {"takes": descriptions}, buffers


def result_message(parent: dict, takes: list[Curves]) -> Message:
    """The `result` of the generate request `parent` names."""
    content, buffers = takes_content(takes)
    return Message("result", content, buffers, parent=dict(parent))


def takes_from_result(message: Message) -> list[Curves]:
    descriptions = message.get("takes")
    if not isinstance(descriptions, list):
        raise ProtocolError("bad_message", "result message has no 'takes' list")
    return [curves_from_buffers(d, message.buffers, f"take{i}") for i, d in enumerate(descriptions)]


# ---------------------------------------------------------------- GenerateRequest

ARRAY_FIELDS = frozenset({"audio", "sample_rate", "style_clip", "locked", "locked_mask", "emotion_keys"})
OPTION_TYPES: dict[str, tuple[type, ...]] = {  # plain GenerateRequest options and the JSON types allowed
    "transcript": (str, type(None)), "emotion": (str,), "intensity": (int, float), "seed": (int,),
    "takes": (int,), "fps": (int, float), "engine": (str,), "steps": (int, type(None)),
    "guidance": (int, float, type(None)), "refine": (bool,), "precise": (bool,),
}
SINCE_2_1 = {"precise": False}  # options added in 2.1: sent only when set, so 2.0 backends take the rest


def request_to_message(request: GenerateRequest, audio_dtype: str = "float32") -> Message:
    """GenerateRequest -> `generate` message; audio goes as float32 or int16 PCM with its rate."""
    options = {k: v for k, v in request.options().items()
               if k != "sample_rate" and not (k in SINCE_2_1 and v == SINCE_2_1[k])}
    buffers: dict[str, np.ndarray] = {"audio": _pcm(request.audio, audio_dtype)}
    curves_info = {}
    for name in ("style_clip", "locked"):
        curves = getattr(request, name)
        if curves is not None:
            curves_info[name], arrays = curves_to_buffers(curves, name)
            buffers.update(arrays)
    if request.locked_mask is not None:
        buffers["locked_mask"] = np.asarray(request.locked_mask, bool).reshape(-1)
    body = {"options": options, "sample_rate": int(request.sample_rate), "curves": curves_info}
    return Message("generate", body, buffers)


def _pcm(audio: np.ndarray, dtype: str) -> np.ndarray:
    if dtype == "int16":
        return np.round(np.clip(audio, -1.0, 32767 / 32768) * 32768).astype(np.int16)
    if dtype != "float32":
        raise InputError(f"audio dtype must be float32 or int16, got {dtype!r}")
    return np.asarray(audio, np.float32)


def check_generate(message: Message, max_audio_seconds: float | None = None) -> tuple[str, float]:
    """Cheap checks of a `generate` message, converting no array: option types and ranges, the sample
    rate, the audio's length from its declared shape (`too_large` beyond `max_audio_seconds`) and the
    curves descriptions. Returns (engine, audio seconds); ProtocolError for anything wrong. The
    conversion itself (`request_from_message`) can then run off the I/O thread."""
    options = _checked_options(message.get("options"))
    try:
        check_options(options)
    except InputError as error:
        raise ProtocolError("bad_request", f"invalid generate options: {error}") from None
    seconds = audio_seconds(message, max_audio_seconds, required=True)
    info = message.get("curves", {})
    if not isinstance(info, dict) or not set(info) <= {"style_clip", "locked"}:
        raise ProtocolError("bad_request", "'curves' may only describe style_clip and locked")
    return options.get("engine", DEFAULT_ENGINE), seconds


def audio_seconds(message: Message, max_seconds: float | None = None, required: bool = False) -> float:
    """Length in seconds of the message's `audio` buffer, from its shape and `sample_rate` alone (no
    conversion); ProtocolError `too_large` beyond `max_seconds`, `bad_request` for a malformed one.
    0.0 when an optional audio buffer is absent. For every message type that carries audio."""
    audio = message.buffers.get("audio")
    if audio is None and not required:
        return 0.0
    rate = _sample_rate(message)
    if not isinstance(audio, np.ndarray) or audio.ndim != 1 or audio.dtype.kind not in "fi":
        raise ProtocolError("bad_request", f"{message.type} needs a 1-D float32 or int16 'audio' buffer")
    seconds = audio.shape[0] / rate
    if max_seconds is not None and seconds > max_seconds:
        raise ProtocolError("too_large", f"audio is {seconds:.1f} s; this server accepts at most {max_seconds:g} s")
    return seconds


def _sample_rate(message: Message) -> int:
    rate = message.get("sample_rate")
    if not _is_count(rate) or not 1000 <= rate <= 384000:
        raise ProtocolError("bad_request", "sample_rate must be an integer between 1000 and 384000 Hz")
    return rate


def request_from_message(message: Message) -> GenerateRequest:
    """`generate` message -> GenerateRequest, validating every option (ProtocolError 'bad_request')."""
    options = _checked_options(message.get("options"))
    audio, rate = _audio(message, required=True)
    extra = _request_curves(message)
    try:
        return GenerateRequest(audio=audio, sample_rate=rate, **options, **extra)
    except (InputError, TypeError, ValueError) as error:
        raise ProtocolError("bad_request", f"invalid generate options: {error}") from None


def _audio(message: Message, required: bool) -> tuple[np.ndarray | None, int | None]:
    """The `audio` buffer as float32 in [-1, 1] and its `sample_rate` (None, None when absent and optional)."""
    audio = message.buffers.get("audio")
    if audio is None and not required:
        return None, None
    audio_seconds(message, required=True)
    rate = _sample_rate(message)
    audio = audio.astype(np.float32) / 32768.0 if audio.dtype.kind == "i" else audio
    if not np.isfinite(audio).all():
        raise ProtocolError("bad_request", "audio contains NaN or infinite samples")
    return audio, rate


def _checked_options(options: object) -> dict:
    if not isinstance(options, dict):
        raise ProtocolError("bad_request", "generate needs an 'options' object")
    out = {}
    for key, value in options.items():
        if key == "emotion_keys":
            out[key] = _emotion_keys(value)
            continue
        allowed = OPTION_TYPES.get(key)
        if allowed is None:
            raise ProtocolError("bad_request", f"unknown generate option {str(key)[:40]!r}")
        if not isinstance(value, allowed) or (isinstance(value, bool) and bool not in allowed):
            raise ProtocolError("bad_request", f"option {key!r} has the wrong type ({type(value).__name__})")
        if isinstance(value, float) and not math.isfinite(value):
            raise ProtocolError("bad_request", f"option {key!r} must be finite")
        out[key] = value
    return out


def _emotion_keys(value: object) -> list[EmotionKey]:
    if not isinstance(value, list) or len(value) > 10000:
        raise ProtocolError("bad_request", "emotion_keys must be a list")
    keys = []
    for item in value:
        ok = isinstance(item, dict) and set(item) <= {"time", "emotion", "intensity"}
        if not ok or not isinstance(item.get("emotion"), str) or not _is_number(item.get("time")) \
                or not _is_number(item.get("intensity", 1.0)):
            raise ProtocolError("bad_request", "each emotion key needs time (s), emotion and intensity")
        keys.append(EmotionKey(float(item["time"]), item["emotion"], float(item.get("intensity", 1.0))))
    return keys


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _request_curves(message: Message) -> dict:
    info = message.get("curves", {})
    if not isinstance(info, dict) or not set(info) <= {"style_clip", "locked"}:
        raise ProtocolError("bad_request", "'curves' may only describe style_clip and locked")
    extra = {name: curves_from_buffers(desc, message.buffers, name) for name, desc in info.items()}
    mask = message.buffers.get("locked_mask")
    if mask is not None:
        if not isinstance(mask, np.ndarray) or mask.ndim != 1:
            raise ProtocolError("bad_request", "locked_mask must be a 1-D bool buffer")
        extra["locked_mask"] = mask.astype(bool)
    return extra


# ---------------------------------------------------------------- render

def render_to_message(request: RenderRequest, audio_dtype: str = "float32") -> Message:
    """RenderRequest -> `render` message: portrait bytes, curves and, when given, the audio."""
    description, buffers = curves_to_buffers(request.curves, "curves")
    content = {"curves": {"curves": description}, "options": dict(request.options)}
    buffers["portrait"] = bytes(request.portrait)
    if request.audio is not None:
        buffers["audio"] = _pcm(request.audio, audio_dtype)
        content["sample_rate"] = int(request.sample_rate)
    return Message("render", content, buffers)


def render_from_message(message: Message) -> RenderRequest:
    """`render` message -> RenderRequest (ProtocolError 'bad_request' for anything missing or malformed)."""
    portrait = message.buffers.get("portrait")
    if not isinstance(portrait, bytes):
        raise ProtocolError("bad_request", "render needs a PNG or JPEG 'portrait' buffer")
    info, options = message.get("curves"), message.get("options", {})
    if not isinstance(info, dict) or not isinstance(options, dict):
        raise ProtocolError("bad_request", "render needs 'curves' and 'options' objects")
    curves = curves_from_buffers(info.get("curves"), message.buffers, "curves")
    audio, rate = _audio(message, required=False)
    return RenderRequest(portrait, curves, audio, rate, options)


def video_content(video: bytes, fps: float, frames: int) -> tuple[dict, dict[str, bytes]]:
    """The content and buffers of a render `result`: the encoded video (MP4) as one bytes buffer."""
    return {"video": {"format": "mp4", "fps": float(fps), "frames": int(frames)}}, {"video": bytes(video)}


def video_from_result(message: Message) -> bytes:
    """The video bytes of a render `result`."""
    video = message.buffers.get("video")
    if not isinstance(message.get("video"), dict) or not isinstance(video, bytes):
        raise ProtocolError("bad_message", "render result has no 'video' buffer")
    return video
