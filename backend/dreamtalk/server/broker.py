"""Scale-out broker: ZeroMQ's own queue device between clients and GPU workers.

    clients (DEALER) -> ROUTER frontend ==zmq.proxy_steerable==> DEALER backend -> workers (DEALER)
                                              | capture (inproc PUB, only b"C..." subscribed)
                                              v
                                     relay thread: cancel / heartbeat, ids -> control tokens
                                              v
                                     PUB control -> workers (SUB, prefix b"C")

The frontend ROUTER prefixes each request with the client's routing id; the backend DEALER
hands requests to connected workers round-robin; replies travel back along the same envelope.
`zmq.proxy` copies every message to the capture socket; the relay takes only those whose first frame
(the client's routing id) starts with b"C", i.e. the clients' control sockets, and publishes each
cancel / heartbeat with its job id and session replaced by `protocol.control_token`s. So a cancel or
heartbeat reaches whichever worker runs the job (it recognises the token), while a listener on the
control port learns no job or session id (and no bulk data or result is ever published).
"""

from __future__ import annotations

import threading
import uuid

import zmq

from ..core.protocol import (
    CONTROL_PREFIX,
    JSON_FRAMES,
    MAX_ENVELOPE,
    Message,
    ProtocolError,
    control_token,
    decode,
    encode,
    split_envelope,
)
from .config import ServerConfig
from .intake import FrameReader
from .logs import log_event
from .security import check_bind, make_curve_server, start_authenticator
from .signals import run_until_signalled

CONTROL_MAX_BYTES = 64 << 10  # a cancel / heartbeat is a few hundred bytes
CONTROL_MAX_FRAMES = MAX_ENVELOPE + 1 + JSON_FRAMES  # control messages carry no buffers


class Broker:
    """`start()` / `stop()` for tests, `serve_forever()` for the CLI."""

    def __init__(self, config: ServerConfig) -> None:
        self.config = config
        self.endpoints: dict[str, str] = {}
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._auth = None
        self._sockets: list[zmq.Socket] = []

    def start(self) -> Broker:
        """Bind the three endpoints (errors surface here) and run the proxy on a thread."""
        config = self.config
        curve = config.curve_secret is not None
        for endpoint in (config.bind, config.backend_bind, config.control_bind):
            check_bind(endpoint, curve, config.insecure)
        self.context = zmq.Context()
        try:
            if curve:
                self._auth = start_authenticator(
                    self.context, {"clients": config.curve_allow, "workers": config.curve_allow_workers})
            self.frontend = self._socket(zmq.ROUTER, config.bind, "frontend", "clients")
            self.backend = self._socket(zmq.DEALER, config.backend_bind, "backend", "workers")
            self.publish = self._socket(zmq.PUB, config.control_bind, "control", "workers")
        except BaseException:
            self._abort()
            raise
        self._capture_address = f"inproc://dreamtalk-capture-{uuid.uuid4().hex}"
        self.capture = self.context.socket(zmq.PUB)
        self.capture.bind(self._capture_address)
        self._control_address = f"inproc://dreamtalk-broker-{uuid.uuid4().hex}"
        self._control = self.context.socket(zmq.PAIR)
        self._control.bind(self._control_address)
        self._relay_stop = threading.Event()
        self._relay = threading.Thread(target=self._relay_loop, name="dreamtalk-relay", daemon=True)
        self._relay.start()
        self._thread = threading.Thread(target=self._proxy, name="dreamtalk-broker", daemon=True)
        self._thread.start()
        log_event("broker_started", curve=curve, **self.endpoints)
        return self

    def _socket(self, kind: int, endpoint: str, role: str, domain: str) -> zmq.Socket:
        sock = self.context.socket(kind)
        self._sockets.append(sock)
        sock.linger = 0
        sock.setsockopt(zmq.MAXMSGSIZE, int(self.config.max_message_bytes))
        if self.config.curve_secret is not None:
            make_curve_server(sock, self.config.curve_secret, domain)
        sock.bind(endpoint)
        self.endpoints[role] = sock.getsockopt_string(zmq.LAST_ENDPOINT)
        return sock

    def _abort(self) -> None:
        for sock in self._sockets:
            sock.close()
        if self._auth is not None:
            self._auth.stop()
        self.context.term()

    def _proxy(self) -> None:
        control = self.context.socket(zmq.PAIR)
        control.connect(self._control_address)
        try:
            zmq.proxy_steerable(self.frontend, self.backend, self.capture, control)
        except zmq.ZMQError as error:
            log_event("broker_proxy_ended", error=str(error))
        finally:
            control.close()
            for sock in (self.frontend, self.backend, self.capture):
                sock.close()

    def _relay_loop(self) -> None:
        """Capture -> control PUB: clients' cancels and heartbeats only, their ids as control tokens."""
        sub = self.context.socket(zmq.SUB)
        sub.linger = 0
        sub.setsockopt(zmq.RCVHWM, 10_000)
        sub.setsockopt(zmq.SUBSCRIBE, CONTROL_PREFIX)
        sub.connect(self._capture_address)
        reader = FrameReader(sub, CONTROL_MAX_BYTES, CONTROL_MAX_FRAMES)
        try:
            while not self._relay_stop.is_set():
                if not (reader.mid_message or sub.poll(200)):
                    continue
                incoming = reader.read()
                frames = None if incoming is None or incoming.refusal else tokenised_control(incoming.frames)
                if frames is not None:
                    self.publish.send_multipart(frames, flags=zmq.NOBLOCK)
        except zmq.ZMQError as error:
            log_event("broker_relay_ended", error=str(error))
        finally:
            sub.close()
            self.publish.close()

    def stop(self) -> None:
        """Tell the proxy to terminate, then close everything."""
        if self._thread is None:
            return
        self._control.send(b"TERMINATE")
        self._thread.join(5.0)
        self._relay_stop.set()
        self._relay.join(5.0)
        self._control.close()
        if self._auth is not None:
            self._auth.stop()
        self.context.term()
        self._thread = None
        log_event("broker_stopped")

    def serve_forever(self) -> int:
        run_until_signalled(self.start, self._stop, self.stop)
        return 0


def tokenised_control(frames: list) -> list[bytes] | None:
    """A client's cancel / heartbeat with its job id and session replaced by control tokens (the frames
    to publish), or None for anything else (which is not published)."""
    try:
        envelope, body = split_envelope(frames)
        message = decode(body, peer="the client")
    except ProtocolError:
        return None
    job_id = message.get("job_id")
    if message.type not in ("cancel", "heartbeat") or not isinstance(job_id, str) or message.buffers:
        return None
    tokenised = Message(message.type, {"job_id": control_token(job_id)}, msg_id=message.msg_id,
                        session=control_token(message.session))
    return envelope + encode(tokenised)
