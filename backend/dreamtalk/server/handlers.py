"""Message handlers of the service's I/O thread: one method per protocol message type.

Everything here runs on the I/O thread and must stay quick: decoding, limit checks and queueing only.
Handlers know the service only through what they are given: its config, its job table, a `send`
function and a `stopping` flag (so `service` imports `handlers`, never the other way round).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

from .. import __version__, engines
from ..core.errors import InputError
from ..core.progress import Progress
from ..core.protocol import (
    PROTOCOL_VERSION,
    Message,
    ProtocolError,
    error_message,
    heartbeat_message,
    render_from_message,
    request_from_message,
    takes_content,
    video_content,
)
from ..core.request import EMOTIONS, GenerateRequest, RenderRequest
from ..render import service as render
from .config import ServerConfig
from .jobs import Job, JobTable
from .logs import log_event, now

Send = Callable[[list[bytes], Message], bool]  # (envelope, message) -> False when the client is gone

class Handlers:
    """Dispatch decoded messages; `tick()` runs the periodic heartbeat / timeout checks."""

    def __init__(self, config: ServerConfig, table: JobTable, send: Send, stopping: Callable[[], bool],
                 device: str) -> None:
        self.config, self.table, self.send, self.stopping, self.device = config, table, send, stopping, device

    def dispatch(self, envelope: list[bytes], message: Message, user: str | None, broadcast: bool) -> None:
        if broadcast:  # the broker's copy of some client's control socket traffic
            if message.type in ("cancel", "heartbeat") and message.get("job_id") is not None:
                getattr(self, f"on_{message.type}")(envelope, message, user)
            return
        handler = getattr(self, f"on_{message.type}", None)
        if handler is None or message.type in ("progress", "result", "error"):
            self.send(envelope, error_message(
                "unknown_type", f"clients do not send {message.type!r} messages", message.identity()))
            return
        handler(envelope, message, user)

    # ------------------------------------------------------------ message types

    def on_hello(self, envelope: list[bytes], message: Message, user: str | None) -> None:
        config = self.config
        self.send(envelope, message.reply("hello", {
            "protocol": PROTOCOL_VERSION, "version": __version__,
            "engines": engines.available(), "presets": list(EMOTIONS), "renderers": render.available(),
            "device": self.device, "mode": config.mode, "workers": config.workers,
            "limits": {
                "max_audio_seconds": config.max_audio_seconds, "max_message_bytes": config.max_message_bytes,
                "max_queue": config.max_queue, "max_jobs_per_client": config.max_jobs_per_client,
                "job_timeout": config.job_timeout, "heartbeat_interval": config.heartbeat_interval,
                "client_timeout": config.client_timeout, "max_render_seconds": config.max_render_seconds,
                "max_portrait_pixels": config.max_portrait_pixels,
            },
        }))

    def on_generate(self, envelope: list[bytes], message: Message, user: str | None) -> None:
        refusal = self._refusal(message, user)
        if refusal is None:
            try:
                request = request_from_message(message)
                refusal = self._request_refusal(request)
            except ProtocolError as error:
                refusal = (error.code, str(error))
        if refusal is not None:
            self.send(envelope, error_message(*refusal, message.identity()))
            log_event("job_refused", job_id=message.msg_id, code=refusal[0])
            return
        job = Job(message.msg_id, envelope, self._client(message, user), message.identity(),
                  partial(generate_work, request), now() + self.config.job_timeout, request.engine,
                  request.duration)
        self.submit(job)

    def submit(self, job: Job) -> None:
        """Queue an accepted job and tell its client (`heartbeat {state: queued}`), or answer `busy`."""
        if not self.table.submit(job):
            self.send(job.envelope, error_message("busy", "the server is busy; try again later", job.parent))
            return
        log_event("job_queued", job_id=job.job_id, client=job.client, engine=job.label)
        self.send(job.envelope, heartbeat_message(job.parent, "queued"))

    def on_cancel(self, envelope: list[bytes], message: Message, user: str | None) -> None:
        job = self.table.jobs.get(str(message.get("job_id")))
        if job is not None and job.state != "answered":
            self.cancel(job, "cancelled", "cancelled by the client")

    def on_heartbeat(self, envelope: list[bytes], message: Message, user: str | None) -> None:
        job_id = message.get("job_id")
        if job_id is None:  # a ping: answer it
            self.send(envelope, heartbeat_message(message.identity()))
            return
        job = self.table.jobs.get(str(job_id))
        if job is not None:
            job.last_seen = now()

    def on_render(self, envelope: list[bytes], message: Message, user: str | None) -> None:
        """A photoreal render: portrait + curves (+ audio) -> mp4 bytes, queued like a generate job."""
        refusal = self._refusal(message, user)
        if refusal is None:
            try:
                request = render_from_message(message)
                refusal = self._render_refusal(request)
            except (ProtocolError, InputError) as error:
                refusal = (getattr(error, "code", "bad_request"), str(error))
        if refusal is not None:
            self.send(envelope, error_message(*refusal, message.identity()))
            log_event("job_refused", job_id=message.msg_id, code=refusal[0])
            return
        renderer = request.options.get("renderer", render.DEFAULT_RENDERER)
        job = Job(message.msg_id, envelope, self._client(message, user), message.identity(),
                  partial(render_work, request), now() + self.config.job_timeout, f"render:{renderer}",
                  request.curves.duration)
        self.submit(job)

    # ------------------------------------------------------------ jobs

    def cancel(self, job: Job, code: str, text: str, tell_client: bool = True) -> None:
        """Cancel `job` (the worker stops at its next progress call) and answer its client."""
        job.cancel_event.set()
        job.state = "answered"
        self.table.cancelled += 1
        if tell_client:
            self.send(job.envelope, error_message(code, text, job.parent))
        log_event("job_cancel", job_id=job.job_id, code=code, reason=text)

    def tick(self) -> None:
        """Heartbeats to clients with jobs in flight; cancel jobs past their deadline or whose client left."""
        config, moment = self.config, now()
        for job in self.table.active():
            if moment > job.deadline:
                self.cancel(job, "timeout", f"the job ran longer than {config.job_timeout:g} s")
            elif moment - job.last_seen > config.client_timeout:
                self.cancel(job, "cancelled", "client gone (no heartbeat)", tell_client=False)
            elif moment - job.last_beat >= config.heartbeat_interval:
                job.last_beat = moment
                if not self.send(job.envelope, heartbeat_message(job.parent, job.state)) and config.mode == "server":
                    self.cancel(job, "cancelled", "client gone (disconnected)", tell_client=False)

    def _refusal(self, message: Message, user: str | None) -> tuple[str, str] | None:
        if self.stopping():
            return "shutting_down", "the server is shutting down"
        if message.msg_id in self.table.jobs:
            return "bad_request", "a job with this msg_id is already in flight"
        return self.table.refusal(self._client(message, user))

    def _request_refusal(self, request: GenerateRequest) -> tuple[str, str] | None:
        limit = self.config.max_audio_seconds
        if request.duration > limit:
            return "too_large", f"audio is {request.duration:.1f} s; this server accepts at most {limit:g} s"
        if request.engine not in engines.available():
            return "bad_request", f"unknown engine {request.engine!r}; available: {', '.join(engines.available())}"
        return None

    def _render_refusal(self, request: RenderRequest) -> tuple[str, str] | None:
        """Limits checked on the I/O thread before queueing (the portrait's size is read from its header)."""
        limit = self.config.max_render_seconds
        if request.curves.duration > limit:
            return "too_large", f"the animation lasts {request.curves.duration:.1f} s; this server renders at most {limit:g} s"
        pixels = render.image_pixels(request.portrait)
        if pixels > self.config.max_portrait_pixels:
            return "too_large", (f"the portrait has {pixels / 1e6:.1f} megapixels; this server accepts at most "
                                 f"{self.config.max_portrait_pixels / 1e6:g}")
        render.check_request(request.curves, request.audio, request.sample_rate, request.options)
        return None

    @staticmethod
    def _client(message: Message, user: str | None) -> str:
        """Per-client limits key: the CurveZMQ key when authenticated, else the client's session id."""
        return f"key:{user}" if user else f"session:{message.session[:64]}"


def render_work(request: RenderRequest, progress: Progress) -> tuple[dict, dict]:
    """A render job's work (on a worker thread): the mp4 as `result` content and buffer."""
    video = render.render_request(request, progress)
    return video_content(video, request.curves.fps, request.curves.num_frames)


def generate_work(request: GenerateRequest, progress: Progress) -> tuple[dict, dict]:
    """A generate job's work (on a worker thread): the engine's takes as `result` content and buffers."""
    return takes_content(engines.generate(request, progress))
