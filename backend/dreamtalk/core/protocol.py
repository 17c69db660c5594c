"""The DREAM-Talk wire protocol: multipart ZeroMQ messages, JSON header + raw binary frames.

Modelled on the Jupyter messaging protocol (jupyter_client): every message is

    [routing envelope ...] DELIMITER header-json buffer-0 buffer-1 ...

The header is a JSON object `{msg_id, type, version, buffers: [...], ...}`; each entry of `buffers`
describes the binary frame at the same position (`name`, `dtype`, `shape`, or `dtype: "bytes"` with a
`format` for PNG/JPEG images). Arrays travel as raw little-endian bytes, never pickled. The
envelope (identities added by ROUTER sockets and brokers) is kept apart so that any number of hops
can sit between a client and a worker. See docs/protocol.md.

`PROTOCOL_VERSION` is defined here only; it is independent of the package version. A peer whose
major version differs is refused with a `version_mismatch` error; minor versions are compatible.
"""

from __future__ import annotations

import json
import math
import uuid
from dataclasses import dataclass, field

import numpy as np

from .arkit import ARKIT_NAMES, INDEX
from .curves import Curves
from .errors import DreamTalkError, InputError
from .request import EmotionKey, GenerateRequest

PROTOCOL_VERSION = "1.0"  # major.minor; bump major for incompatible changes
DELIMITER = b"<DTK|MSG>"  # separates the routing envelope from the message
MAX_HEADER_BYTES = 1 << 20  # a header larger than this is refused before JSON parsing
MAX_BUFFERS = 64  # frames per message
CONTROL_PREFIX = b"C"  # routing-id prefix of client control sockets (cancel, heartbeat); brokers broadcast them

MESSAGE_TYPES: tuple[str, ...] = (
    "hello", "generate", "progress", "result", "render", "cancel", "error", "heartbeat",
)
ARRAY_DTYPES: dict[str, np.dtype] = {
    "float32": np.dtype("<f4"), "int16": np.dtype("<i2"), "uint8": np.dtype("u1"), "bool": np.dtype("?"),
}
IMAGE_FORMATS: tuple[str, ...] = ("png", "jpeg")

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
    """One decoded protocol message: header fields plus named binary buffers."""

    type: str  # one of MESSAGE_TYPES
    fields: dict = field(default_factory=dict)  # JSON-able header fields beyond the standard ones
    buffers: dict[str, np.ndarray | bytes] = field(default_factory=dict)  # name -> array or image bytes
    msg_id: str = field(default_factory=lambda: uuid.uuid4().hex)
    version: str = PROTOCOL_VERSION

    def get(self, key: str, default=None):
        return self.fields.get(key, default)


def parse_version(version: object) -> tuple[int, int]:
    """'1.0' -> (1, 0); anything else raises ProtocolError('bad_message')."""
    if not isinstance(version, str):
        raise ProtocolError("bad_message", "header field 'version' must be a 'major.minor' string")
    major, dot, minor = version.partition(".")
    if not (dot and major.isdigit() and minor.isdigit()):
        raise ProtocolError("bad_message", f"protocol version {version[:20]!r} is not 'major.minor'")
    return int(major), int(minor)


def check_version(version: object) -> None:
    """Refuse a peer whose major protocol version differs from ours."""
    major, _ = parse_version(version)
    ours, _ = parse_version(PROTOCOL_VERSION)
    if major != ours:
        raise ProtocolError(
            "version_mismatch",
            f"protocol version {version} is not compatible with this side's {PROTOCOL_VERSION} "
            f"(major versions differ); update the older of client and server",
        )


# ---------------------------------------------------------------- frames

def encode(message: Message) -> list[bytes]:
    """Message -> [DELIMITER, header, buffers...] (prepend the routing envelope to send)."""
    specs, frames = [], []
    for name, value in message.buffers.items():
        if isinstance(value, bytes | bytearray | memoryview):
            specs.append({"name": name, "dtype": "bytes", "format": _image_format(bytes(value))})
            frames.append(bytes(value))
            continue
        array = np.ascontiguousarray(value)
        dtype = _dtype_name(array.dtype, name)
        specs.append({"name": name, "dtype": dtype, "shape": list(array.shape)})
        frames.append(array.astype(ARRAY_DTYPES[dtype], copy=False).tobytes())
    header = dict(message.fields)
    header.update(msg_id=message.msg_id, type=message.type, version=message.version, buffers=specs)
    return [DELIMITER, json.dumps(header, allow_nan=False).encode(), *frames]


def split_envelope(frames: list[bytes]) -> tuple[list[bytes], list[bytes]]:
    """Split received frames into (envelope, [DELIMITER, header, ...]); ProtocolError if no delimiter."""
    for index, frame in enumerate(frames[:8]):
        if bytes(frame) == DELIMITER:
            return [bytes(f) for f in frames[:index]], list(frames[index:])
    raise ProtocolError("bad_message", "message has no protocol delimiter frame")


def decode(frames: list[bytes]) -> Message:
    """[DELIMITER, header, buffers...] -> Message; any defect raises ProtocolError with a clear text."""
    if len(frames) < 2 or bytes(frames[0]) != DELIMITER:
        raise ProtocolError("bad_message", "message must start with the delimiter and a header frame")
    header = _parse_header(bytes(frames[1]))
    check_version(header.pop("version"))
    kind = header.pop("type")
    if kind not in MESSAGE_TYPES:
        raise ProtocolError("unknown_type", f"unknown message type {str(kind)[:40]!r}")
    specs = header.pop("buffers", [])
    if not isinstance(specs, list) or len(specs) != len(frames) - 2 or len(specs) > MAX_BUFFERS:
        raise ProtocolError("bad_message", f"header lists {_count(specs)} buffers but {len(frames) - 2} came")
    buffers = {}
    for spec, frame in zip(specs, frames[2:], strict=True):
        name, value = _decode_buffer(spec, bytes(frame))
        if name in buffers:
            raise ProtocolError("bad_message", f"buffer {name!r} appears twice")
        buffers[name] = value
    msg_id = header.pop("msg_id")
    return Message(kind, header, buffers, msg_id=msg_id)


def _parse_header(raw: bytes) -> dict:
    if len(raw) > MAX_HEADER_BYTES:
        raise ProtocolError("bad_message", f"header is {len(raw)} bytes; the limit is {MAX_HEADER_BYTES}")
    try:
        header = json.loads(raw.decode("utf-8"))
    except (ValueError, RecursionError):
        raise ProtocolError("bad_message", "header is not valid UTF-8 JSON") from None
    if not isinstance(header, dict):
        raise ProtocolError("bad_message", "header must be a JSON object")
    for key in ("msg_id", "type", "version"):
        if not isinstance(header.get(key), str) or not header[key] or len(header[key]) > 64:
            raise ProtocolError("bad_message", f"header field {key!r} must be a short non-empty string")
    return header


def _decode_buffer(spec: object, frame: bytes) -> tuple[str, np.ndarray | bytes]:
    if not isinstance(spec, dict) or not isinstance(spec.get("name"), str):
        raise ProtocolError("bad_message", "each buffer description needs a 'name'")
    name, dtype = spec["name"][:80], spec.get("dtype")
    if dtype == "bytes":
        if spec.get("format") not in IMAGE_FORMATS:
            raise ProtocolError("bad_message", f"buffer {name!r}: bytes buffers must be png or jpeg")
        return name, frame
    if dtype not in ARRAY_DTYPES:
        raise ProtocolError("bad_message", f"buffer {name!r}: dtype must be one of {sorted(ARRAY_DTYPES)}")
    shape = spec.get("shape")
    if not isinstance(shape, list) or len(shape) > 4 or not all(_is_count(n) for n in shape):
        raise ProtocolError("bad_message", f"buffer {name!r}: shape must be a list of up to 4 counts")
    expected = math.prod(shape) * ARRAY_DTYPES[dtype].itemsize
    if expected != len(frame):
        raise ProtocolError("bad_message", f"buffer {name!r}: shape {shape} needs {expected} bytes, got {len(frame)}")
    return name, np.frombuffer(frame, ARRAY_DTYPES[dtype]).reshape(shape)


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


def _image_format(data: bytes) -> str:
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if data.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    raise InputError("images must be PNG or JPEG bytes")


# ---------------------------------------------------------------- messages

def error_message(code: str, text: str, job_id: str | None = None) -> Message:
    """An `error` reply; `job_id` names the request it answers."""
    body = {"code": code, "message": " ".join(str(text).split())}
    if job_id is not None:
        body["job_id"] = job_id
    return Message("error", body)


def progress_message(job_id: str, stage: str, fraction: float) -> Message:
    return Message("progress", {"job_id": job_id, "stage": stage, "fraction": float(fraction)})


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


def _float_buffer(buffers: dict, name: str, ndim: int) -> np.ndarray:
    array = buffers.get(name)
    if not isinstance(array, np.ndarray) or array.ndim != ndim:
        raise ProtocolError("bad_message", f"buffer {name!r} is missing or not {ndim}-D")
    return array.astype(np.float32)


def result_message(job_id: str, takes: list[Curves]) -> Message:
    """The `result` of a generate job: one curves set per take (`take0.*`, `take1.*`, ...)."""
    descriptions, buffers = [], {}
    for index, curves in enumerate(takes):
        description, arrays = curves_to_buffers(curves, f"take{index}")
        descriptions.append(description)
        buffers.update(arrays)
    return Message("result", {"job_id": job_id, "takes": descriptions}, buffers)


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
    "guidance": (int, float, type(None)), "refine": (bool,),
}


def request_to_message(request: GenerateRequest, audio_dtype: str = "float32") -> Message:
    """GenerateRequest -> `generate` message; audio goes as float32 or int16 PCM with its rate."""
    options = {k: v for k, v in request.options().items() if k != "sample_rate"}
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


def request_from_message(message: Message) -> GenerateRequest:
    """`generate` message -> GenerateRequest, validating every option (ProtocolError 'bad_request')."""
    options = _checked_options(message.get("options"))
    rate = message.get("sample_rate")
    if not _is_count(rate) or not 1000 <= rate <= 384000:
        raise ProtocolError("bad_request", "sample_rate must be an integer between 1000 and 384000 Hz")
    audio = message.buffers.get("audio")
    if not isinstance(audio, np.ndarray) or audio.ndim != 1 or audio.dtype.kind not in "fi":
        raise ProtocolError("bad_request", "generate needs a 1-D float32 or int16 'audio' buffer")
    audio = audio.astype(np.float32) / 32768.0 if audio.dtype.kind == "i" else audio
    if not np.isfinite(audio).all():
        raise ProtocolError("bad_request", "audio contains NaN or infinite samples")
    extra = _request_curves(message)
    try:
        return GenerateRequest(audio=audio, sample_rate=rate, **options, **extra)
    except (InputError, TypeError, ValueError) as error:
        raise ProtocolError("bad_request", f"invalid generate options: {error}") from None


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


def peek_msg_id(frames: list[bytes]) -> str | None:
    """Best-effort msg_id of a message that failed to decode (so the error reply can name it)."""
    try:
        header = json.loads(bytes(frames[1]).decode("utf-8")) if len(frames) > 1 else None
    except (ValueError, RecursionError):
        return None
    msg_id = header.get("msg_id") if isinstance(header, dict) else None
    return msg_id if isinstance(msg_id, str) and 0 < len(msg_id) <= 64 else None


# ---------------------------------------------------------------- render

def render_to_message(portrait: bytes, curves: Curves, options: dict | None = None) -> Message:
    """`render` request: a PNG/JPEG portrait + curves -> frames/video (see docs/protocol.md)."""
    description, arrays = curves_to_buffers(curves, "curves")
    body = {"curves": {"curves": description}, "options": dict(options or {})}
    return Message("render", body, {"portrait": bytes(portrait), **arrays})


def render_from_message(message: Message) -> tuple[bytes, Curves, dict]:
    """Inverse of `render_to_message`: (portrait bytes, curves, options)."""
    portrait = message.buffers.get("portrait")
    if not isinstance(portrait, bytes):
        raise ProtocolError("bad_request", "render needs a PNG or JPEG 'portrait' buffer")
    info = message.get("curves")
    options = message.get("options", {})
    if not isinstance(info, dict) or not isinstance(options, dict):
        raise ProtocolError("bad_request", "render needs 'curves' and 'options' objects")
    return portrait, curves_from_buffers(info.get("curves"), message.buffers, "curves"), options
