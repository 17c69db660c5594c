"""Shared helpers for the service tests: a hang guard, in-process services, raw sockets, requests."""

from __future__ import annotations

import faulthandler
import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import server_engines
import zmq
from dreamtalk.core.protocol import Message, decode, encode, split_envelope
from dreamtalk.core.request import GenerateRequest
from dreamtalk.server import ServerConfig, Service

TESTS = Path(__file__).parent
REPO = TESTS.parent
HANG_LIMIT = 120  # seconds; a test running longer than this is a hang: dump stacks and exit


@pytest.fixture(autouse=True)
def hang_guard():
    """Kill the test process (with tracebacks) if a test hangs, so CI never stalls."""
    faulthandler.dump_traceback_later(HANG_LIMIT, exit=True)
    yield
    faulthandler.cancel_dump_traceback_later()


def config(**overrides) -> ServerConfig:
    base = dict(bind="tcp://127.0.0.1:0", device="cpu", heartbeat_interval=0.1, client_timeout=5.0)
    base.update(overrides)
    return ServerConfig(**base)


def start_service(**overrides) -> Service:
    server_engines.register()
    return Service(config(**overrides)).start()


def audio(seed: int, seconds: float = 0.4, rate: int = 16000) -> np.ndarray:
    """Distinct, deterministic audio per seed (its level differs per seed)."""
    rng = np.random.default_rng(seed)
    return (rng.uniform(-1, 1, int(seconds * rate)) * (0.05 + (seed % 17) / 20)).astype(np.float32)


def echo_request(seed: int, **options) -> GenerateRequest:
    return GenerateRequest(audio(seed), 16000, engine="echo", seed=seed, **options)


def wait_until(condition: Callable[[], bool], timeout: float = 10.0, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.02)


class RawPeer:
    """A bare DEALER socket speaking frames directly (for malformed input and fake peers)."""

    def __init__(self, endpoint: str) -> None:
        self.context = zmq.Context()
        self.sock = self.context.socket(zmq.DEALER)
        self.sock.linger = 0
        self.sock.connect(endpoint)

    def send(self, frames: list[bytes]) -> None:
        self.sock.send_multipart(frames)

    def send_message(self, message: Message) -> None:
        self.send(encode(message))

    def receive(self, timeout: float = 5.0) -> Message | None:
        if not self.sock.poll(int(timeout * 1000)):
            return None
        return decode(split_envelope(self.sock.recv_multipart())[1])

    def close(self) -> None:
        self.sock.close()
        self.context.term()


def spawn(*args: str, stderr_path: Path) -> subprocess.Popen:
    """`python -m dreamtalk.server ARGS` with the test engines importable; stderr to a file."""
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(TESTS), os.environ.get("PYTHONPATH", "")]),
               DREAMTALK_ENGINE_PLUGINS="server_engines:register")
    with open(stderr_path, "wb") as err:
        return subprocess.Popen([sys.executable, "-m", "dreamtalk.server", *args], cwd=REPO, env=env,
                                stdout=subprocess.DEVNULL, stderr=err)
