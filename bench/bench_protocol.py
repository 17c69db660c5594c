"""Loopback round-trip overhead of the backend service for 60 s of curves (25 fps, 1500 frames).

Compares, in one run on this machine:
  in-process   engines.generate() with a replay engine (returns precomputed curves, ~no work)
  codec        encode + decode of the request and the result (no network)
  zmq echo     request and result bytes each echoed (both ways) by a bare DEALER -> ROUTER on loopback TCP
  service      Client.generate() through `Service` on loopback TCP (the real path)
overhead = median(service) - median(in-process); the last column repeats `service` with CurveZMQ on.
Prints a markdown table; run:
    .venv/bin/python bench/bench_protocol.py [--repeats 50]
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import tempfile
import threading
import time
from pathlib import Path

import numpy as np
import zmq

from dreamtalk import engines
from dreamtalk.core.client import Client, CurveKeys
from dreamtalk.core.curves import Curves
from dreamtalk.core.protocol import (
    decode,
    encode,
    request_from_message,
    request_to_message,
    result_message,
    takes_from_result,
)
from dreamtalk.core.request import GenerateRequest
from dreamtalk.server import ServerConfig, Service
from dreamtalk.server.security import generate_keys

SECONDS, FPS, RATE = 60.0, 25.0, 16000
CURVES = Curves(FPS, np.random.default_rng(0).uniform(0, 1, (int(SECONDS * FPS), 52)),
                np.random.default_rng(1).normal(0, 0.1, (int(SECONDS * FPS), 3)))


def replay(request: GenerateRequest, progress: engines.Progress) -> list[Curves]:
    """A zero-work engine: the precomputed 60 s of curves."""
    progress("replay", 0.5)
    return [CURVES]


def _median_ms(run, repeats: int) -> float:
    run()  # warm up
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1000


def _echo_server(context: zmq.Context, stop: threading.Event) -> str:
    router = context.socket(zmq.ROUTER)
    port = router.bind_to_random_port("tcp://127.0.0.1")

    def loop() -> None:
        while not stop.is_set():
            if router.poll(20):
                router.send_multipart(router.recv_multipart(copy=False), copy=False)
        router.close(0)

    threading.Thread(target=loop, daemon=True).start()
    return f"tcp://127.0.0.1:{port}"


def _curve_setup(folder: Path) -> tuple[dict, CurveKeys]:
    """Server + client keys in `folder`: (ServerConfig curve fields, client keys)."""
    _, client_secret = generate_keys(folder / "clients", "bench")
    server_public, server_secret = generate_keys(folder, "server")
    config = {"curve_secret": str(server_secret), "curve_allow": str(folder / "clients")}
    return config, CurveKeys.load(client_secret, server_public)


def measure_curve(audio_seconds: float, repeats: int) -> float:
    """Median Client.generate() through a CurveZMQ service (encryption + authentication on)."""
    request = GenerateRequest(np.zeros(int(audio_seconds * RATE), np.float32), RATE, engine="replay", fps=FPS)
    with tempfile.TemporaryDirectory() as folder:
        curve_config, keys = _curve_setup(Path(folder))
        service = Service(ServerConfig(bind="tcp://127.0.0.1:0", device="cpu", **curve_config)).start()
        try:
            with Client(service.endpoint, timeout=10, curve=keys) as client:
                return _median_ms(lambda: client.generate(request), repeats)
        finally:
            service.stop()


def measure(audio_seconds: float, repeats: int) -> dict[str, float]:
    request = GenerateRequest(np.zeros(int(audio_seconds * RATE), np.float32), RATE, engine="replay", fps=FPS)
    request_frames = encode(request_to_message(request))
    result_frames = encode(result_message({"msg_id": "job"}, [CURVES]))

    def codec() -> None:
        request_from_message(decode(request_frames))
        takes_from_result(decode(result_frames))

    context, stop = zmq.Context(), threading.Event()
    dealer = context.socket(zmq.DEALER)
    dealer.connect(_echo_server(context, stop))

    def echo() -> None:
        dealer.send_multipart(request_frames, copy=False)
        dealer.recv_multipart()
        dealer.send_multipart(result_frames, copy=False)
        dealer.recv_multipart()

    service = Service(ServerConfig(bind="tcp://127.0.0.1:0", device="cpu")).start()
    try:
        with Client(service.endpoint, timeout=10) as client:
            figures = {
                "in-process": _median_ms(lambda: engines.generate(request), repeats),
                "codec": _median_ms(codec, repeats),
                "zmq echo": _median_ms(echo, repeats),
                "service": _median_ms(lambda: client.generate(request), repeats),
            }
    finally:
        service.stop()
        stop.set()
        dealer.close(0)
        time.sleep(0.05)
        context.term()
    figures["overhead"] = figures["service"] - figures["in-process"]
    figures["curve"] = measure_curve(audio_seconds, repeats)
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=50)
    args = parser.parse_args()
    engines.register("replay", replay)
    machine = f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, libzmq {zmq.zmq_version()}"
    print(f"Loopback round trip, {SECONDS:g} s of curves at {FPS:g} fps ({CURVES.num_frames} frames); {machine}")
    print(f"median of {args.repeats}; overhead = service - in-process; target < 20 ms\n")
    print("| payload | in-process ms | codec ms | zmq echo ms | service ms | overhead ms | target | with --curve ms |")
    print("|---|---|---|---|---|---|---|---|")
    for label, audio_seconds in (("60 s curves + 60 s 16 kHz float32 audio", SECONDS), ("60 s curves, 1 s audio", 1.0)):
        f = measure(audio_seconds, args.repeats)
        verdict = "met" if f["overhead"] < 20 else "MISSED"
        print(f"| {label} | {f['in-process']:.2f} | {f['codec']:.2f} | {f['zmq echo']:.2f} | "
              f"{f['service']:.2f} | {f['overhead']:.2f} | < 20 ms: {verdict} | {f['curve']:.2f} |")


if __name__ == "__main__":
    main()
