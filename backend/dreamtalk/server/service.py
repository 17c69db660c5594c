"""`Service`: the ZeroMQ front of the backend (ROUTER server, or DEALER worker behind a broker).

One I/O thread owns every socket and never runs model work: it reads messages within the whole-message
limits (`intake.FrameReader`, a bounded number of frames per turn), checks requests cheaply, queues
jobs, forwards worker replies from an inproc outbox, sends heartbeats for jobs in flight and cancels
jobs whose client is gone (ROUTER_MANDATORY send failure or no heartbeat for `client_timeout`) or
whose time is up. Engines, and the conversion of a request's arrays, run in `WorkerPool` threads.
See docs/protocol.md ("Limits and guarantees").
"""

from __future__ import annotations

import importlib
import threading
import uuid

import zmq

from .. import engines
from ..core.errors import InputError
from ..core.protocol import (
    CONTROL_PREFIX,
    Message,
    ProtocolError,
    decode,
    encode,
    error_message,
    peek_identity,
    split_envelope,
)
from ..learning.devices import describe, worker_devices
from .config import ServerConfig
from .handlers import Handlers
from .intake import FrameReader, Incoming
from .jobs import JobTable
from .logs import log_event, now
from .pool import WorkerPool
from .security import check_bind, make_curve_client, make_curve_server, start_authenticator
from .signals import run_until_signalled

_DRAIN = 64  # messages handled per socket per poll round, so no socket starves the others
ENVELOPE_ONLY = 1  # a refused message without a readable delimiter is answered on its first frame (ROUTER id)


class Service:
    """Run with `start()` / `stop()` (tests) or `serve_forever()` (CLI, stops on SIGINT/SIGTERM)."""

    def __init__(self, config: ServerConfig) -> None:
        self.config = config
        self.device = "cpu"  # what hello reports: the workers' devices, known after start()
        self.devices: list[str] = []  # worker thread i runs on devices[i]
        self.endpoint = ""  # the bound / connected endpoint, known after start()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._auth = None
        self.table = JobTable(config.max_queue, config.max_jobs_per_client)
        self.handlers: Handlers | None = None  # made in start(), once the device is known

    # ------------------------------------------------------------ lifecycle

    def start(self) -> Service:
        """Load plugins, open sockets (errors surface here), start workers and the I/O thread."""
        load_plugins(self.config.engine_plugins)
        self.devices = worker_devices(self.config.device, max(1, self.config.workers))  # one-line error when absent
        self.device = describe(self.devices)
        self.handlers = Handlers(self.config, self.table, self.send, lambda: self.stopping, self.device)
        self.context = zmq.Context()
        try:
            self._open_sockets()
        except BaseException:
            self._close_sockets()
            raise
        self.pool = WorkerPool(self.context, self._outbox_address, self.table, max(1, self.config.workers),
                               setup=self._place_worker)
        self.pool.start()
        self._thread = threading.Thread(target=self._io_loop, name="dreamtalk-io", daemon=True)
        self._thread.start()
        log_event("service_started", mode=self.config.mode, endpoint=self.endpoint, device=self.device,
                  workers=self.config.workers, batch_requests=resolved_batch(self.config, self.devices),
                  engines=engines.available(),
                  curve=self.curve or self.config.curve_key is not None)
        return self

    def _place_worker(self, index: int) -> None:
        """Worker thread `index` runs its engines on its device (`engines.placement`)."""
        engines.place_thread(engines.Placement(self.devices[index], resolved_batch(self.config, self.devices)))

    def stop(self, timeout: float | None = None) -> None:
        """Graceful stop: refuse new jobs, cancel jobs in flight, join workers, close sockets."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout if timeout is not None else self.config.shutdown_grace + 5.0)

    def serve_forever(self) -> int:
        """Start, then block until SIGINT/SIGTERM; returns an exit status."""
        run_until_signalled(self.start, self._stop, self.stop)
        log_event("service_stopped", **self.table.stats())
        return 0

    def __enter__(self) -> Service:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def curve(self) -> bool:
        return self.config.curve_secret is not None

    @property
    def stopping(self) -> bool:
        return self._stop.is_set()

    def stats(self) -> dict:
        return self.table.stats()

    # ------------------------------------------------------------ sockets

    def _open_sockets(self) -> None:
        config = self.config
        self.sub = None
        if config.mode == "server":
            check_bind(config.bind, self.curve, config.insecure)
            self.main = self.context.socket(zmq.ROUTER)
            self.main.setsockopt(zmq.ROUTER_MANDATORY, 1)  # sends to a vanished client fail: client gone
        else:
            self.main = self.context.socket(zmq.DEALER)
        self.main.linger = 1000
        self.main.setsockopt(zmq.MAXMSGSIZE, int(config.max_message_bytes))
        if config.mode == "server":
            if self.curve:
                self._auth = start_authenticator(self.context, {"clients": config.curve_allow})
                make_curve_server(self.main, config.curve_secret)
            self.main.bind(config.bind)
            self.endpoint = self.main.getsockopt_string(zmq.LAST_ENDPOINT)
        else:
            self._curve_client(self.main)
            self.main.connect(config.connect)
            self.endpoint = config.connect
            self.sub = self._control_subscriber(config.control)
        self._outbox_address = f"inproc://dreamtalk-outbox-{uuid.uuid4().hex}"
        self.outbox = self.context.socket(zmq.PULL)
        self.outbox.bind(self._outbox_address)
        self.readers = {sock: FrameReader(sock, config.max_message_bytes, config.max_message_frames,
                                          config.io_slice_frames) for sock in (self.main, self.sub) if sock is not None}

    def _curve_client(self, sock: zmq.Socket) -> None:
        """Worker mode with CurveZMQ: authenticate to the broker with this worker's key."""
        if self.config.curve_key is not None:
            if self.config.curve_server_public is None:
                raise InputError("a CurveZMQ worker needs the broker's public key (--server-public)")
            make_curve_client(sock, self.config.curve_key, self.config.curve_server_public)

    def _control_subscriber(self, address: str | None) -> zmq.Socket | None:
        """Worker mode: receive every client's cancel/heartbeat, broadcast by the broker."""
        if address is None:
            return None
        sub = self.context.socket(zmq.SUB)
        sub.linger = 0
        self._curve_client(sub)
        sub.setsockopt(zmq.SUBSCRIBE, CONTROL_PREFIX)
        sub.connect(address)
        return sub

    def _close_sockets(self) -> None:
        for name in ("main", "sub", "outbox"):
            sock = getattr(self, name, None)
            if sock is not None:
                sock.close()
        if self._auth is not None:
            self._auth.stop()
        self.context.term()

    # ------------------------------------------------------------ I/O thread

    def _io_loop(self) -> None:
        poller = zmq.Poller()
        for sock in (self.main, self.outbox, self.sub):
            if sock is not None:
                poller.register(sock, zmq.POLLIN)
        tick = min(0.25, self.config.heartbeat_interval)
        next_tick = now() + tick
        try:
            while not self._stop.is_set():
                busy = any(reader.mid_message for reader in self.readers.values())
                ready = dict(poller.poll(0 if busy else max(1, int((next_tick - now()) * 1000))))
                self._drain(ready, self.outbox, self._on_outbox)
                self._read(ready, self.main, self._on_request)
                self._read(ready, self.sub, self._on_broadcast)
                if now() >= next_tick:
                    self.handlers.tick()
                    next_tick = now() + tick
            self._shutdown()
        except Exception:  # the I/O thread must log, never die silently
            log_event("io_thread_crashed", 50, exc_info=True)
            raise
        finally:
            self._close_sockets()

    def _drain(self, ready: dict, sock: zmq.Socket | None, handle) -> None:
        """Worker reports from the trusted inproc outbox, whole messages at a time."""
        if sock is None or sock not in ready:
            return
        for _ in range(_DRAIN):
            try:
                frames = sock.recv_multipart(flags=zmq.NOBLOCK, copy=False)
            except zmq.Again:
                return
            try:
                handle(frames)
            except Exception:
                self.handlers.quiet.event("handler_failed", "outbox", 40, exc_info=True)

    def _read(self, ready: dict, sock: zmq.Socket | None, handle) -> None:
        """Messages from a network socket, at most `io_slice_frames` frames in this turn (so one message
        of millions of frames is read over many turns, the others served in between)."""
        reader = self.readers.get(sock)
        if reader is None or (sock not in ready and not reader.mid_message):
            return
        budget = self.config.io_slice_frames
        for _ in range(_DRAIN):
            before = reader.frames_read
            incoming = reader.read(budget)
            budget -= reader.frames_read - before
            if incoming is None:
                return
            try:
                handle(incoming)
            except Exception:
                self.handlers.quiet.event("handler_failed", "request", 40, exc_info=True)
            if budget <= 0:
                return

    def _on_request(self, incoming: Incoming, broadcast: bool = False) -> None:
        frames = incoming.frames
        user = frames[0].get("User-Id") if self.curve and isinstance(frames[0], zmq.Frame) else None
        answer = self.config.mode == "server" and not broadcast
        try:
            envelope, body = split_envelope(frames)
        except ProtocolError as error:
            if answer and len(frames) > 1:
                self._refuse(frames[:ENVELOPE_ONLY], {}, *(incoming.refusal or (error.code, str(error))))
            return
        if incoming.refusal is not None:
            if not broadcast:
                self._refuse(envelope, peek_identity(body), *incoming.refusal)
            return
        try:
            message = decode(body, peer="the client")
        except ProtocolError as error:
            if not broadcast:
                self._refuse(envelope, peek_identity(body), error.code, str(error))
            return
        try:
            self.handlers.dispatch(envelope, message, user, broadcast)
        except Exception as error:  # a bug in a handler: answer, log, keep serving
            self.handlers.quiet.event("handler_failed", message.type, 40, exc_info=True, type=message.type)
            if not broadcast:
                text = f"server error handling {message.type}: {type(error).__name__}"
                self.send(envelope, error_message("internal", text, message.identity()))

    def _refuse(self, envelope: list, parent: dict, code: str, text: str) -> None:
        """Answer a message that could not be read or broke a limit (logged at most once per interval)."""
        self.send([bytes(f) for f in envelope], error_message(code, text, parent))
        self.handlers.quiet.event("message_refused", code, code=code, reason=text, request=parent.get("msg_id"))

    def _on_broadcast(self, incoming: Incoming) -> None:
        self._on_request(incoming, broadcast=True)

    def _on_outbox(self, frames: list[zmq.Frame]) -> None:
        """A worker's news about a job. Job state changes only here and in the handlers, all on this
        thread, so a cancel and a finishing worker can never both answer the client."""
        kind, job_id, *body = [f.bytes for f in frames]
        job = self.table.jobs.get(job_id.decode())
        if kind == b"started":
            if job is not None and job.state == "queued":
                job.state = "running"
            return
        if job is not None and job.state != "answered" and body:
            self.send_frames(job.envelope, body)
            if kind == b"done":
                job.state = "answered"
        if kind == b"done":
            self.table.release(job_id.decode())

    def _shutdown(self) -> None:
        for job in self.table.active():
            self.handlers.cancel(job, "shutting_down", "the server is shutting down")
        self.pool.stop(self.config.shutdown_grace)
        while self.outbox.poll(0):
            self._on_outbox(self.outbox.recv_multipart(copy=False))
        self.handlers.quiet.flush(force=True)

    # ------------------------------------------------------------ sending

    def send(self, envelope: list[bytes], message: Message) -> bool:
        return self.send_frames(envelope, encode(message))

    def send_frames(self, envelope: list[bytes], frames: list[bytes]) -> bool:
        """False when the client is gone (ROUTER_MANDATORY) or not reading (high-water mark)."""
        try:
            self.main.send_multipart(envelope + frames, flags=zmq.NOBLOCK, copy=False)
            return True
        except zmq.ZMQError as error:
            if error.errno not in (zmq.EHOSTUNREACH, zmq.EAGAIN):
                raise
            return False


def load_plugins(targets: tuple[str, ...]) -> None:
    """Call each 'module:function' (which registers engines via dreamtalk.engines.register)."""
    for target in targets:
        module, _, function = target.partition(":")
        try:
            getattr(importlib.import_module(module), function or "register")()
        except (ImportError, AttributeError) as error:
            raise InputError(f"cannot load engine plugin {target!r}: {error}") from None


def resolved_batch(config: ServerConfig, devices: list[str]) -> int:
    """Requests per sampling call: `config.batch_requests`, or (0, auto) as many as there are worker threads
    on one device, so concurrent requests on a GPU (or on the CPU) are sampled together."""
    if config.batch_requests > 0:
        return config.batch_requests
    return max(devices.count(device) for device in devices)
