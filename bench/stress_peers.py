"""Helpers of bench/stress_service.py: the engines the stressed server runs, the watcher process that
measures other clients' service while the server is under attack, and raw message builders.

Run by the stress script only (`python bench/stress_peers.py watch ENDPOINT OUT SECONDS`); the server
loads the engines with `--engine-plugin stress_peers:register` (PYTHONPATH=bench).
"""

from __future__ import annotations

import json
import signal
import sys
import time
import uuid

import numpy as np
import zmq

from dreamtalk import engines
from dreamtalk.core.arkit import INDEX, NUM_BLENDSHAPES
from dreamtalk.core.curves import Curves
from dreamtalk.core.protocol import (
    CONTROL_PREFIX,
    DELIMITER,
    PROTOCOL_VERSION,
    Message,
    decode,
    encode,
    split_envelope,
)
from dreamtalk.core.request import GenerateRequest

PING_EVERY = 0.1  # seconds between a watcher's pings
WATCHERS = 3  # pinging clients


# ---------------------------------------------------------------- engines (in the server process)

def stress_echo(request: GenerateRequest, progress: engines.Progress) -> list[Curves]:
    """Curves that name their request: jawOpen = seed / 1e6, smile = mean |audio|; 5 ms of work."""
    time.sleep(0.005)
    frames = max(1, int(round(request.duration * request.fps)))
    values = np.zeros((frames, NUM_BLENDSHAPES), np.float32)
    values[:, INDEX["jawOpen"]] = request.seed / 1e6
    values[:, INDEX["mouthSmileLeft"]] = float(np.abs(request.audio).mean())
    progress("echo", 1.0)
    return [Curves(request.fps, values)]


def stress_hold(request: GenerateRequest, progress: engines.Progress) -> list[Curves]:
    """Runs (progress every 50 ms) until cancelled or `steps` seconds pass: a job in flight to watch."""
    deadline = time.monotonic() + (request.steps or 60)
    while time.monotonic() < deadline:
        progress("hold", 0.5)
        time.sleep(0.05)
    return stress_echo(request, progress)


def register() -> None:
    engines.register("stress_echo", stress_echo)
    engines.register("stress_hold", stress_hold)


# ---------------------------------------------------------------- raw messages

def generate_frames(extra: list[tuple[dict, object]], audio: np.ndarray, rate: int = 16000,
                    seed: int = 0) -> tuple[str, list]:
    """(msg_id, frames) of a `generate` for stress_echo whose audio and extra buffers go uncopied
    (memoryviews); `extra` is [(buffer spec, frame)] appended after the audio."""
    message = Message("generate", {"options": {"engine": "stress_echo", "seed": seed}, "sample_rate": rate,
                                   "curves": {}})
    audio_spec = {"name": "audio", "dtype": "int16" if audio.dtype == np.int16 else "float32",
                  "shape": [int(audio.shape[0])]}
    header = {"msg_id": message.msg_id, "type": "generate", "version": PROTOCOL_VERSION,
              "session": uuid.uuid4().hex, "buffers": [audio_spec, *(spec for spec, _ in extra)]}
    jsons = [json.dumps(part).encode() for part in (header, {}, message.content)]
    return message.msg_id, [DELIMITER, *jsons, memoryview(audio), *(frame for _, frame in extra)]


def send_frames(sock: zmq.Socket, frames: list) -> None:
    """Send without copying (the same buffer may appear in several frames)."""
    for frame in frames[:-1]:
        sock.send(frame, zmq.SNDMORE, copy=False)
    sock.send(frames[-1], copy=False)


def receive_answer(sock: zmq.Socket, msg_id: str, timeout: float) -> Message | None:
    """The first `result` / `error` answering `msg_id` within `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while (left := deadline - time.monotonic()) > 0:
        if not sock.poll(int(left * 1000)):
            return None
        message = decode(split_envelope(sock.recv_multipart())[1])
        if message.parent_id == msg_id and message.type in ("result", "error"):
            return message
    return None


# ---------------------------------------------------------------- watcher process

def watch(endpoint: str, out: str, seconds: float) -> None:
    """Pingers and one job in flight, measured until `seconds` pass: JSON lines
    {"t", "sent", "kind": "ping", "rtt"} (rtt null: never answered) and {"t", "kind": "beat"} (a
    server heartbeat about the watched job)."""
    context = zmq.Context()
    pingers = [_dealer(context, endpoint) for _ in range(WATCHERS)]
    job_sock, control = _dealer(context, endpoint), _dealer(context, endpoint, CONTROL_PREFIX + uuid.uuid4().bytes)
    session = uuid.uuid4().hex
    job = Message("generate", {"options": {"engine": "stress_hold", "steps": int(seconds) + 5},
                               "sample_rate": 16000, "curves": {}},
                  {"audio": np.full(1600, 0.1, np.float32)}, session=session)
    job_sock.send_multipart(encode(job))
    pending: dict[int, tuple[str, float]] = {}
    next_ping, next_keepalive, end = 0.0, 0.0, time.time() + seconds
    stop: list[int] = []
    signal.signal(signal.SIGTERM, lambda *_: stop.append(1))
    with open(out, "w", buffering=1) as log:
        while time.time() < end and not stop:
            now = time.time()
            if now >= next_keepalive:  # the job's client heartbeat (else the server cancels it)
                control.send_multipart(encode(Message("heartbeat", {"job_id": job.msg_id}, session=session)))
                next_keepalive = now + 0.5
            if now >= next_ping:
                next_ping = now + PING_EVERY
                for index, sock in enumerate(pingers):
                    if index not in pending:
                        ping = Message("heartbeat", session=session)
                        sock.send_multipart(encode(ping))
                        pending[index] = (ping.msg_id, time.time())
            _collect(pingers, pending, job_sock, job.msg_id, log)
        for _, sent in pending.values():  # never answered within the watch
            log.write(json.dumps({"t": time.time(), "sent": sent, "kind": "ping", "rtt": None}) + "\n")
    control.send_multipart(encode(Message("cancel", {"job_id": job.msg_id}, session=session)))
    time.sleep(0.1)
    for sock in (*pingers, job_sock, control):
        sock.close(0)
    context.term()


def _collect(pingers: list, pending: dict, job_sock: zmq.Socket, job_id: str, log) -> None:
    poller = zmq.Poller()
    for sock in (*pingers, job_sock):
        poller.register(sock, zmq.POLLIN)
    for sock, _ in poller.poll(20):
        message = decode(split_envelope(sock.recv_multipart())[1])
        now = time.time()
        if sock is job_sock:
            if message.type == "heartbeat" and message.parent_id == job_id:
                log.write(json.dumps({"t": now, "kind": "beat"}) + "\n")
            continue
        index = pingers.index(sock)
        if index in pending and message.parent_id == pending[index][0]:
            sent = pending.pop(index)[1]
            log.write(json.dumps({"t": now, "sent": sent, "kind": "ping", "rtt": now - sent}) + "\n")


def _dealer(context: zmq.Context, endpoint: str, routing_id: bytes | None = None) -> zmq.Socket:
    sock = context.socket(zmq.DEALER)
    sock.linger = 0
    if routing_id is not None:
        sock.setsockopt(zmq.ROUTING_ID, routing_id)
    sock.connect(endpoint)
    return sock


if __name__ == "__main__":
    if len(sys.argv) != 5 or sys.argv[1] != "watch":
        sys.exit("usage: stress_peers.py watch ENDPOINT OUT SECONDS")
    watch(sys.argv[2], sys.argv[3], float(sys.argv[4]))
