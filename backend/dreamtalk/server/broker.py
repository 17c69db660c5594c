"""Scale-out broker: ZeroMQ's own queue device between clients and GPU workers.

    clients (DEALER) -> ROUTER frontend ==zmq.proxy_steerable==> DEALER backend -> workers (DEALER)
                                              | capture
                                              v
                                     PUB control -> workers (SUB, prefix b"C")

The frontend ROUTER prefixes each request with the client's routing id; the backend DEALER
hands requests to connected workers round-robin; replies travel back along the same envelope.
`zmq.proxy` copies every message to the capture socket; workers subscribe only to messages whose
first frame (the client's routing id) starts with b"C", i.e. the clients' control sockets, so a
cancel or heartbeat reaches whichever worker runs the job while bulk data is not broadcast.
"""

from __future__ import annotations

import signal
import threading
import uuid

import zmq

from .config import ServerConfig
from .logs import log_event
from .security import check_bind, make_curve_server, start_authenticator


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
            self.capture = self._socket(zmq.PUB, config.control_bind, "control", "workers")
        except BaseException:
            self._abort()
            raise
        self._control_address = f"inproc://dreamtalk-broker-{uuid.uuid4().hex}"
        self._control = self.context.socket(zmq.PAIR)
        self._control.bind(self._control_address)
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

    def stop(self) -> None:
        """Tell the proxy to terminate, then close everything."""
        if self._thread is None:
            return
        self._control.send(b"TERMINATE")
        self._thread.join(5.0)
        self._control.close()
        if self._auth is not None:
            self._auth.stop()
        self.context.term()
        self._thread = None
        log_event("broker_stopped")

    def serve_forever(self) -> int:
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, lambda *_: self._stop.set())
        self.start()
        while not self._stop.wait(0.5):
            pass
        self.stop()
        return 0
