"""`ServerConfig`: every knob of `dreamtalk serve` / `dreamtalk worker` in one dataclass."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from ..core.protocol import MAX_FRAMES


@dataclass
class ServerConfig:
    """Service settings; the CLI maps its options one to one onto these fields."""

    bind: str = "tcp://127.0.0.1:5555"  # ROUTER endpoint (server mode); loopback unless --insecure/--curve
    connect: str | None = None  # broker backend endpoint (worker mode); None = server mode
    control: str | None = None  # broker control (PUB) endpoint the worker subscribes to (worker mode)
    backend_bind: str = "tcp://127.0.0.1:5556"  # broker mode: where workers connect
    control_bind: str = "tcp://127.0.0.1:5557"  # broker mode: PUB of client cancel/heartbeat traffic
    workers: int = 1  # engine threads in this process; with CUDA spread over the GPUs (thread i on GPU i mod G)
    max_queue: int = 16  # jobs waiting for a worker; beyond that new jobs get "busy"
    max_jobs_per_client: int = 4  # queued + running jobs per client session (or CurveZMQ key)
    max_audio_seconds: float = 600.0  # longest audio in one request, checked from its declared shape
    max_message_bytes: int = 256 << 20  # whole message (all frames); a larger one gets "too_large"
    max_message_frames: int = MAX_FRAMES  # frames in one message; more gets "bad_message"
    io_slice_frames: int = 20_000  # frames of one message the I/O thread reads before serving others again
    refusal_log_interval: float = 10.0  # seconds: each kind of refusal is logged once per interval, then counted
    max_render_seconds: float = 600.0  # longest animation accepted in one render request
    max_portrait_pixels: int = 25_000_000  # largest portrait (width x height) a render request may carry
    job_timeout: float = 1800.0  # seconds a job may run before it is cancelled with "timeout"
    heartbeat_interval: float = 1.0  # seconds between heartbeats to clients with jobs in flight
    client_timeout: float = 10.0  # a job whose client sent nothing for this long is cancelled
    device: str = "auto"  # where the learned engines run: auto (CUDA when torch sees a GPU), cpu, cuda or cuda:N
    batch_requests: int = 0  # concurrent requests on one device sampled in one call (0: auto, see resolved_batch)
    curve_secret: str | None = None  # server .key_secret file; enables CurveZMQ
    curve_allow: str | None = None  # folder of allowed client public .key files
    curve_allow_workers: str | None = None  # broker: folder of allowed worker public .key files
    curve_key: str | None = None  # worker: this worker's .key_secret file (CurveZMQ to the broker)
    curve_server_public: str | None = None  # worker: the broker's public server.key file
    insecure: bool = False  # allow a non-loopback bind without CurveZMQ
    engine_plugins: tuple[str, ...] = ()  # "module:function" callables run at start to register engines
    shutdown_grace: float = 5.0  # seconds to wait for running jobs on shutdown

    @property
    def mode(self) -> Literal["server", "worker"]:
        return "server" if self.connect is None else "worker"
