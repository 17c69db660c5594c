"""Client for the DREAM-Talk backend service (plain Python + pyzmq + numpy; the Blender add-on vendors it).

Each call opens its own DEALER socket (jupyter_client style: ROUTER on the server, DEALER here), so a
`Client` may be shared between threads and a restarted server is picked up by the next call. A message
counts as an answer only when its `parent_header.msg_id` is the request's id; anything else on the
socket is ignored (and does not count as the backend being alive). While a job runs the client sends
`heartbeat {job_id}` on a separate control socket whose routing id starts with b"C" (a broker
broadcasts those to every worker; see docs/protocol.md), and expects the server's progress/heartbeat
messages at least every `timeout` seconds.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import zmq

from .curves import Curves
from .errors import DreamTalkError
from .protocol import (
    CONTROL_PREFIX,
    Message,
    ProtocolError,
    answered_request,
    decode,
    encode,
    render_to_message,
    request_to_message,
    split_envelope,
    takes_from_result,
    video_from_result,
)
from .request import GenerateRequest, RenderRequest

_POLL_MS = 50  # how often a waiting call looks at its cancel event


class BackendError(DreamTalkError):
    """Something went wrong talking to the backend service."""


class BackendUnavailable(BackendError):
    """No backend answered at the address within the timeout."""


class BackendTimeout(BackendError):
    """The backend accepted a job but then fell silent for longer than the timeout."""


class RemoteError(BackendError):
    """The backend answered with an `error` message; `code` is one of protocol.ERROR_CODES."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"backend error ({code}): {message}")
        self.code = code
        self.remote_message = message


class JobCancelled(BackendError):
    """The job was cancelled (by this caller, or by the server shutting down)."""


@dataclass(frozen=True)
class CurveKeys:
    """CurveZMQ keys (Z85 bytes): this client's key pair and the server's public key."""

    public: bytes
    secret: bytes
    server_public: bytes

    @classmethod
    def load(cls, client_secret_file: str | Path, server_public_file: str | Path) -> CurveKeys:
        """Read keys written by `dreamtalk keys generate` (zmq.auth certificate files)."""
        from zmq.auth import load_certificate

        try:
            public, secret = load_certificate(str(client_secret_file))
            server_public, _ = load_certificate(str(server_public_file))
        except (OSError, ValueError) as error:
            raise BackendError(f"cannot read CurveZMQ keys: {error}") from None
        if secret is None:
            raise BackendError(f"{client_secret_file} holds no secret key (use the .key_secret file)")
        return cls(public, secret, server_public)


class Client:
    """Talks to `dreamtalk serve` (or a broker) at `address`."""

    def __init__(
        self, address: str = "tcp://127.0.0.1:5555", timeout: float = 30.0, curve: CurveKeys | None = None
    ) -> None:
        self.address = address
        self.timeout = float(timeout)  # seconds of silence tolerated from the backend
        self.curve = curve
        self.heartbeat_interval = max(0.05, min(1.0, self.timeout / 4))  # seconds between our heartbeats
        self.session = uuid.uuid4().hex  # sent with every message; the server's per-client limits key
        self._context = zmq.Context()
        self._closed = False

    # ------------------------------------------------------------ public API

    def hello(self) -> dict:
        """Capabilities: protocol, package version, engines, presets, renderers, device, limits."""
        message = Message("hello")
        with self._open() as sock:
            self._send(sock, message)
            reply = self._wait(sock, message.msg_id, time.monotonic())
        if reply.type != "hello":
            raise BackendError(f"backend answered hello with {reply.type!r}")
        return dict(reply.content)

    def generate(
        self,
        request: GenerateRequest,
        on_progress: Callable[[str, float], None] | None = None,
        cancel: threading.Event | None = None,
    ) -> list[Curves]:
        """Run `request` on the backend; one Curves per take. Raises BackendError subclasses."""
        reply = self._run_job(request_to_message(request), on_progress, cancel)
        try:
            return takes_from_result(reply)
        except ProtocolError as error:
            raise BackendError(f"backend sent an unreadable result: {error}") from None

    def render(
        self,
        request: RenderRequest,
        on_progress: Callable[[str, float], None] | None = None,
        cancel: threading.Event | None = None,
    ) -> bytes:
        """Render `request` on the backend; the encoded video (MP4 bytes). Raises BackendError subclasses
        (`RemoteError` with code `no_renderer` from a backend without a renderer)."""
        reply = self._run_job(render_to_message(request), on_progress, cancel)
        try:
            return video_from_result(reply)
        except ProtocolError as error:
            raise BackendError(f"backend sent an unreadable result: {error}") from None

    def _run_job(self, message: Message, on_progress, cancel: threading.Event | None) -> Message:
        """Send a job request, keep it alive (heartbeats, cancel) until its `result`; returns that."""
        job = _JobState(message.msg_id, cancel)
        with self._open() as sock, self._open(CONTROL_PREFIX + uuid.uuid4().bytes) as control:
            self._send(sock, message)
            reply = self._wait(sock, job.job_id, time.monotonic(), job, control, on_progress)
        if reply.type != "result":
            raise BackendError(f"backend answered {message.type} with {reply.type!r}")
        if job.cancel_sent:
            raise JobCancelled("job cancelled (it finished before the cancel reached the backend)")
        return reply

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            self._context.term()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------ sockets

    def _open(self, routing_id: bytes | None = None) -> zmq.Socket:
        if self._closed:
            raise BackendError("client is closed")
        sock = self._context.socket(zmq.DEALER)
        sock.linger = 0
        sock.setsockopt(zmq.RECONNECT_IVL, 100)
        if routing_id is not None:
            sock.setsockopt(zmq.ROUTING_ID, routing_id)
        if self.curve is not None:
            sock.curve_publickey = self.curve.public
            sock.curve_secretkey = self.curve.secret
            sock.curve_serverkey = self.curve.server_public
        try:
            sock.connect(self.address)
        except zmq.ZMQError as error:
            sock.close()
            raise BackendUnavailable(f"cannot connect to {self.address}: {error}") from None
        return sock

    def _send(self, sock: zmq.Socket, message: Message) -> None:
        message.session = self.session
        try:
            sock.send_multipart(encode(message), flags=zmq.NOBLOCK, copy=False)
        except zmq.Again:
            raise BackendUnavailable(f"no backend at {self.address} (send queue full)") from None

    def _wait(
        self,
        sock: zmq.Socket,
        job_id: str,
        started: float,
        job: _JobState | None = None,
        control: zmq.Socket | None = None,
        on_progress: Callable[[str, float], None] | None = None,
    ) -> Message:
        """Receive until the final reply to request `job_id`; heartbeats and cancels go out on `control`."""
        try:
            return self._receive_until(sock, job_id, started, job, control, on_progress)
        except zmq.ZMQError as error:  # e.g. close() from another thread terminated the context
            raise BackendError(f"connection to {self.address} ended: {error}") from None

    def _receive_until(
        self,
        sock: zmq.Socket,
        job_id: str,
        started: float,
        job: _JobState | None,
        control: zmq.Socket | None,
        on_progress: Callable[[str, float], None] | None,
    ) -> Message:
        heard = False
        last = started
        while True:
            if job is not None and control is not None:
                job.tick(self, control)
            if sock.poll(_POLL_MS):
                reply = self._receive(sock, job_id)
                if reply is None:  # not an answer to this request: ignored, the silence clock runs on
                    continue
                heard, last = True, time.monotonic()
                if reply.type == "progress" and on_progress is not None:
                    on_progress(str(reply.get("stage", "")), float(reply.get("fraction", 0.0)))
                elif reply.type == "error":
                    raise _remote_error(reply)
                elif reply.type not in ("progress", "heartbeat"):
                    return reply
            elif time.monotonic() - last > self.timeout:
                if job is not None and job.cancel_sent:
                    raise JobCancelled("job cancelled (the backend did not confirm)")
                raise self._silence_error(heard)

    def _receive(self, sock: zmq.Socket, request_id: str) -> Message | None:
        """The next message if it answers `request_id` (parent_header.msg_id), else None."""
        try:
            body = split_envelope(sock.recv_multipart())[1]
        except ProtocolError:
            return None  # garbage on our own socket
        try:
            message = decode(body, peer=f"the backend at {self.address}")
        except ProtocolError as error:
            if error.code == "version_mismatch" and answered_request(body) == request_id:
                raise RemoteError(error.code, str(error)) from None
            return None  # garbage, or a reply in another protocol major meant for someone else
        return message if message.parent_id == request_id else None

    def _silence_error(self, heard: bool) -> BackendError:
        if heard:
            return BackendTimeout(
                f"backend at {self.address} went silent for {self.timeout:g} s mid-job (worker gone?)"
            )
        return BackendUnavailable(f"no backend at {self.address} answered within {self.timeout:g} s")


class _JobState:
    """Client side of one running job: heartbeats and cancels on the control socket.

    The control socket is a separate connection, so a cancel may overtake the generate request it
    names; it is therefore repeated with every heartbeat until the job ends (cancel is idempotent).
    """

    def __init__(self, job_id: str, cancel: threading.Event | None) -> None:
        self.job_id = job_id
        self.cancel = cancel
        self.cancel_sent = False
        self.next_heartbeat = 0.0

    def tick(self, client: Client, control: zmq.Socket) -> None:
        now = time.monotonic()
        if self.cancel is not None and self.cancel.is_set() and (not self.cancel_sent or now >= self.next_heartbeat):
            self.cancel_sent = True
            client._send(control, Message("cancel", {"job_id": self.job_id}))
        if now >= self.next_heartbeat:
            self.next_heartbeat = now + client.heartbeat_interval
            client._send(control, Message("heartbeat", {"job_id": self.job_id}))


def _remote_error(reply: Message) -> BackendError:
    code = str(reply.get("code", "internal"))
    text = str(reply.get("message", "unknown error"))
    if code == "cancelled":
        return JobCancelled(f"job cancelled: {text}")
    return RemoteError(code, text)
