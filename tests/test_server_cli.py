"""`python -m dreamtalk.server serve|worker|keys`: options, graceful SIGTERM, clear startup errors."""

from __future__ import annotations

import argparse
import json
import signal
import socket

import pytest
from dreamtalk.core.client import Client
from dreamtalk.server.cli import add_subcommands, config_from_args, next_port
from server_helpers import echo_request, hang_guard, spawn, wait_until  # noqa: F401


def _parse(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    add_subcommands(parser.add_subparsers(dest="command", required=True))
    return parser.parse_args(argv)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_options_map_onto_the_config(tmp_path):
    args = _parse("serve", "--bind", "tcp://127.0.0.1:6000", "--workers", "3", "--max-queue", "7",
                  "--max-audio-seconds", "30", "--max-message-mb", "2", "--curve", "--keys", str(tmp_path))
    config = config_from_args(args)
    assert (config.bind, config.workers, config.max_queue, config.max_audio_seconds) == (
        "tcp://127.0.0.1:6000", 3, 7, 30.0)
    assert config.max_message_bytes == 2 << 20 and config.mode == "server"
    assert config.curve_secret == str(tmp_path / "server.key_secret")
    worker = config_from_args(_parse("worker", "--connect", "tcp://gpu-box:5556"))
    assert (worker.mode, worker.control) == ("worker", "tcp://gpu-box:5557")
    assert callable(args.func) and callable(_parse("keys", "generate").func)


def test_next_port_needs_a_tcp_port():
    assert next_port("tcp://10.1.2.3:7000") == "tcp://10.1.2.3:7001"
    with pytest.raises(Exception, match="--control"):
        next_port("ipc:///tmp/broker")


def test_serve_answers_then_stops_gracefully_on_sigterm(tmp_path):
    endpoint = f"tcp://127.0.0.1:{_free_port()}"
    log = tmp_path / "serve.log"
    process = spawn("serve", "--bind", endpoint, "--device", "cpu", stderr_path=log)
    try:
        wait_until(lambda: "service_started" in log.read_text(), timeout=60, what="server start")
        with Client(endpoint, timeout=10) as client:
            assert "echo" in client.hello()["engines"]
            assert client.generate(echo_request(9))[0].num_frames == 10
        process.send_signal(signal.SIGTERM)
        assert process.wait(20) == 0
    finally:
        if process.poll() is None:
            process.kill()
    events = [json.loads(line)["event"] for line in log.read_text().splitlines() if line.startswith("{")]
    assert events[0] == "service_started" and events[-1] == "service_stopped" and "job_finished" in events


def test_startup_errors_are_one_line_and_exit_2(tmp_path):
    log = tmp_path / "serve.log"
    process = spawn("serve", "--bind", "tcp://0.0.0.0:0", "--device", "cpu", stderr_path=log)
    assert process.wait(60) == 2
    assert "--curve" in log.read_text()
