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
    audio_seconds,
    check_generate,
    control_token,
    curves_extent,
    error_message,
    heartbeat_message,
    render_from_message,
    request_from_message,
    takes_content,
    video_content,
)
from ..core.request import EMOTIONS
from ..render import service as render
from .config import ServerConfig
from .jobs import Job, JobTable, Work
from .logs import RateLimitedLog, log_event, now

Send = Callable[[list[bytes], Message], bool]  # (envelope, message) -> False when the client is gone
Check = Callable[[], tuple[str, float]]  # a job request's cheap checks -> (label, audio seconds); ProtocolError

class Handlers:
    """Dispatch decoded messages; `tick()` runs the periodic heartbeat / timeout checks."""

    def __init__(self, config: ServerConfig, table: JobTable, send: Send, stopping: Callable[[], bool],
                 device: str) -> None:
        self.config, self.table, self.send, self.stopping, self.device = config, table, send, stopping, device
        self.quiet = RateLimitedLog(config.refusal_log_interval)  # refusals: at most one line per kind and interval

    def dispatch(self, envelope: list[bytes], message: Message, user: str | None, broadcast: bool) -> None:
        if broadcast:  # the broker's copy of some client's control traffic, ids replaced by control tokens
            job = self._owned_job(message, user, broadcast=True)
            if job is not None and message.type in ("cancel", "heartbeat"):
                self._control(job, message.type)
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
            "engines": engines.available(), "presets": list(EMOTIONS), "renderers": render.usable(),
            "device": self.device, "mode": config.mode, "workers": config.workers,
            "limits": {
                "max_audio_seconds": config.max_audio_seconds, "max_message_bytes": config.max_message_bytes,
                "max_message_frames": config.max_message_frames,
                "max_queue": config.max_queue, "max_jobs_per_client": config.max_jobs_per_client,
                "job_timeout": config.job_timeout, "heartbeat_interval": config.heartbeat_interval,
                "client_timeout": config.client_timeout, "max_render_seconds": config.max_render_seconds,
                "max_portrait_pixels": config.max_portrait_pixels,
            },
        }))

    def on_generate(self, envelope: list[bytes], message: Message, user: str | None) -> None:
        def check() -> tuple[str, float]:
            engine, seconds = check_generate(message, self.config.max_audio_seconds)
            if engine not in engines.available():
                raise ProtocolError("bad_request", f"unknown engine {engine[:40]!r}; available: "
                                                   f"{', '.join(engines.available())}")
            return engine, seconds

        self.admit_job(envelope, message, user, check, partial(generate_work, message))

    def admit_job(self, envelope: list[bytes], message: Message, user: str | None, check: Check, work: Work) -> None:
        """Any job request (generate, render): refuse it (server stopping, id in use, busy, per-client
        limits, or `check()` raising ProtocolError) or queue a job running `work` on a worker thread.
        `check` runs here on the I/O thread, so it must be cheap: limits from declared shapes and option
        checks, no array conversion (that belongs in `work`)."""
        try:
            refusal = self._refusal(envelope, message, user)
            label, seconds = check() if refusal is None else ("", 0.0)
        except ProtocolError as error:
            refusal = (error.code, str(error))
        if refusal is not None:
            self.send(envelope, error_message(*refusal, message.identity()))
            self.quiet.event("job_refused", refusal[0], job_id=message.msg_id, code=refusal[0])
            return
        self.submit(Job(message.msg_id, envelope, self._client(message, user), message.identity(), work,
                        now() + self.config.job_timeout, label, seconds, owner=(user or "", message.session),
                        peer=envelope[0] if envelope else b""))

    def submit(self, job: Job) -> None:
        """Queue an accepted job and tell its client (`heartbeat {state: queued}`), or answer `busy`."""
        if not self.table.submit(job):
            self.send(job.envelope, error_message("busy", "the server is busy; try again later", job.parent))
            self.quiet.event("job_refused", "busy", job_id=job.job_id, code="busy")
            return
        log_event("job_queued", job_id=job.job_id, client=job.client, engine=job.label)
        self.send(job.envelope, heartbeat_message(job.parent, "queued"))

    def on_cancel(self, envelope: list[bytes], message: Message, user: str | None) -> None:
        job = self._owned_job(message, user)
        if job is not None:
            self._control(job, "cancel")

    def on_heartbeat(self, envelope: list[bytes], message: Message, user: str | None) -> None:
        if message.get("job_id") is None:  # a ping: answer it
            self.send(envelope, heartbeat_message(message.identity()))
            return
        job = self._owned_job(message, user)
        if job is not None:
            self._control(job, "heartbeat")

    def _owned_job(self, message: Message, user: str | None, broadcast: bool = False) -> Job | None:
        """The live job a cancel / heartbeat names, if the sender owns it: same session and, under
        CurveZMQ, same key. Anyone else's is ignored like an unknown id (no reply tells them it exists).
        The broker's broadcast carries control tokens of the job id and session instead of the ids."""
        job_id = message.get("job_id")
        job = self.table.find(job_id, by_token=broadcast) if isinstance(job_id, str) else None
        if job is None or job.state == "answered":
            return None
        session = control_token(job.owner[1]) if broadcast else job.owner[1]
        if message.session != session or (not broadcast and job.owner[0] != (user or "")):
            self.quiet.event("control_refused", message.type, job_id=job.job_id, type=message.type,
                             reason="not the client that started the job")
            return None
        return job

    def _control(self, job: Job, kind: str) -> None:
        if kind == "cancel":
            self.cancel(job, "cancelled", "cancelled by the client")
        else:
            job.last_seen = now()

    def on_render(self, envelope: list[bytes], message: Message, user: str | None) -> None:
        """A photoreal render: portrait + curves (+ audio) -> mp4 bytes, queued like a generate job."""
        self.admit_job(envelope, message, user, partial(self._check_render, message), partial(render_work, message))

    def _check_render(self, message: Message) -> tuple[str, float]:
        """Cheap checks of a `render` message on the I/O thread: options, the portrait's size from its image
        header, the curves' and the audio's lengths from their declared shapes (nothing converted)."""
        portrait = message.buffers.get("portrait")
        if not isinstance(portrait, bytes):
            raise ProtocolError("bad_request", "render needs a PNG or JPEG 'portrait' buffer")
        options = message.get("options", {})
        audio = audio_seconds(message, self.config.max_audio_seconds)
        frames, fps = curves_extent(message, "curves")
        try:
            renderer = render.check_options(options if isinstance(options, dict) else None)
            render.check_seconds(frames / fps, audio if "audio" in message.buffers else None, fps)
            pixels = render.image_pixels(portrait)
        except InputError as error:
            raise ProtocolError("bad_request", str(error)) from None
        limit = self.config.max_render_seconds
        if frames / fps > limit:
            raise ProtocolError("too_large", f"the animation lasts {frames / fps:.1f} s; this server renders at most {limit:g} s")
        if pixels > self.config.max_portrait_pixels:
            raise ProtocolError("too_large", f"the portrait has {pixels / 1e6:.1f} megapixels; this server accepts at "
                                             f"most {self.config.max_portrait_pixels / 1e6:g}")
        return f"render:{renderer}", frames / fps

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
        self.quiet.flush()
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

    def _refusal(self, envelope: list[bytes], message: Message, user: str | None) -> tuple[str, str] | None:
        if self.stopping():
            return "shutting_down", "the server is shutting down"
        if message.msg_id in self.table.jobs:
            return "bad_request", "a job with this msg_id is already in flight"
        return self.table.refusal(self._client(message, user), envelope[0] if envelope else b"")

    @staticmethod
    def _client(message: Message, user: str | None) -> str:
        """Per-client limits key: the CurveZMQ key when authenticated, else the client's session id."""
        return f"key:{user}" if user else f"session:{message.session[:64]}"


def render_work(message: Message, progress: Progress) -> tuple[dict, dict]:
    """A render job's work (on a worker thread): decode the request, render, the mp4 as `result`."""
    request = render_from_message(message)
    video = render.render_request(request, progress)
    return video_content(video, request.curves.fps, request.curves.num_frames)


def generate_work(message: Message, progress: Progress) -> tuple[dict, dict]:
    """A generate job's work (on a worker thread): decode the request (arrays converted here, off the
    I/O thread), run the engine, its takes as `result` content and buffers."""
    return takes_content(engines.generate(request_from_message(message), progress))
