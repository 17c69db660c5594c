"""Stress of `dreamtalk serve` with the hostile-input probe's cases (issue 15). Loopback only, bounded
in count and time (every wait has a timeout; the whole run stops by itself after --deadline s):

  big frames    16 x 250 MB frames in one message (each under libzmq's per-frame limit)
  tiny frames   2 000 000 one-byte frames in one message
  long audio    2 h of int16 audio at 16 kHz (230 MB in one frame)
  many clients  200 concurrent clients x 3 requests, each retrying on `busy`

For the first three: the reply, the server's RSS growth (peak during the case - before it) against
2x the message limit, and, from a separate watcher process, other clients' ping round trips and the
longest gap between the server's heartbeats of another client's job in flight. For the last: lost
and crossed results, RSS growth, log growth. Prints a markdown table:

    .venv/bin/python bench/stress_service.py [--big-frame-mb 250] [--server-src DIR] [--cases big,tiny]

--server-src runs the server from another checkout (e.g. the code before the fix, for a baseline in
the same run). The big-frames case needs about frames x size of memory in the server (libzmq holds a
multipart message whole before delivering it): it is scaled down, and says so, when this machine
does not have that much available with a margin.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import zmq

from dreamtalk.core.arkit import INDEX
from dreamtalk.core.client import Client, RemoteError
from dreamtalk.core.request import GenerateRequest

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
sys.path.insert(0, str(BENCH))
from stress_peers import generate_frames, receive_answer, send_frames  # noqa: E402

MIB = 1 << 20
REPLY_TIMEOUT = 180.0  # seconds to wait for the answer to one attack message


class Server:
    """`python -m dreamtalk.server serve` on a free loopback port; RSS from /proc, log size."""

    def __init__(self, source: Path, message_mb: int, log: Path) -> None:
        port = _free_port()
        self.endpoint, self.log = f"tcp://127.0.0.1:{port}", log
        env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(source / "backend"), str(BENCH)]))
        args = ["serve", "--bind", self.endpoint, "--device", "cpu", "--workers", "2", "--max-queue", "16",
                "--max-message-mb", str(message_mb), "--heartbeat", "0.25", "--engine-plugin", "stress_peers:register"]
        with open(log, "wb") as err:
            self.process = subprocess.Popen([sys.executable, "-m", "dreamtalk.server", *args], cwd=source, env=env,
                                            stdout=subprocess.DEVNULL, stderr=err)
        _wait(lambda: "service_started" in log.read_text(errors="replace"), 90, "server start")
        self.rss_peak = 0
        self._lock = threading.Lock()  # mark() and the sampler both write rss_peak
        self._sampling = True
        threading.Thread(target=self._sample, daemon=True).start()

    def rss(self) -> int:
        try:
            status = Path(f"/proc/{self.process.pid}/status").read_text()
        except OSError:
            return 0
        return int(next(line.split()[1] for line in status.splitlines() if line.startswith("VmRSS"))) * 1024

    def _sample(self) -> None:
        while self._sampling and self.process.poll() is None:
            rss = self.rss()
            with self._lock:
                self.rss_peak = max(self.rss_peak, rss)
            time.sleep(0.01)

    def mark(self) -> int:
        """Start a case: the RSS now (its baseline); the peak is tracked from here."""
        with self._lock:
            self.rss_peak = self.rss()
            return self.rss_peak

    def stop(self) -> None:
        self._sampling = False
        self.process.terminate()
        try:
            self.process.wait(20)
        except subprocess.TimeoutExpired:
            self.process.kill()


class Watcher:
    """bench/stress_peers.py's watcher in its own process (so this process's sending does not skew it)."""

    def __init__(self, endpoint: str, folder: Path, name: str) -> None:
        self.out = folder / f"watch_{name}.jsonl"
        self.process = subprocess.Popen([sys.executable, str(BENCH / "stress_peers.py"), "watch", endpoint,
                                         str(self.out), str(REPLY_TIMEOUT + 60)], cwd=REPO)
        _wait(lambda: self._count("beat") >= 2 and self._count("ping") >= 5, 60, "watcher warm-up")

    def _events(self) -> list[dict]:
        if not self.out.exists():
            return []
        return [json.loads(line) for line in self.out.read_text().splitlines() if line.endswith("}")]

    def _count(self, kind: str) -> int:
        return sum(1 for event in self._events() if event["kind"] == kind)

    def stats(self, start: float, end: float) -> dict:
        """Worst ping round trip and heartbeat gap of other clients over [start, end]."""
        self.process.terminate()
        self.process.wait(30)
        events = self._events()
        pings = [e for e in events if e["kind"] == "ping" and e["t"] >= start and e["sent"] <= end + 0.5]
        late = [e for e in events if e["kind"] == "ping" and e["rtt"] is None and e["sent"] <= end]
        beats = [e["t"] for e in events if e["kind"] == "beat"]
        inside = [t for t in beats if start <= t <= end]
        edges = [max([t for t in beats if t < start], default=start), *inside,
                 min([t for t in beats if t > end], default=end)]
        worst = max([e["rtt"] for e in pings if e["rtt"]], default=None)
        return {"pings": len(pings), "ping_max_s": None if worst is None else round(worst, 3),
                "pings_unanswered": len(late), "beat_gap_max_s": round(float(max(np.diff(edges))), 3)}


def attack(server: Server, folder: Path, name: str, msg_id: str, frames: list) -> dict:
    """Send one hostile message; its reply, the server's RSS growth and the watchers' figures."""
    watcher = Watcher(server.endpoint, folder, name)
    context = zmq.Context()
    sock = context.socket(zmq.DEALER)
    sock.linger = 0
    sock.connect(server.endpoint)
    base, start = server.mark(), time.time()
    send_frames(sock, frames)
    reply = receive_answer(sock, msg_id, REPLY_TIMEOUT)
    end = time.time()
    time.sleep(0.5)
    row = {"case": name, "reply": None if reply is None else reply.get("code", reply.type),
           "reply_s": round(end - start, 2), "rss_growth_mib": round((server.rss_peak - base) / MIB, 1),
           **watcher.stats(start, end)}
    sock.close()
    context.term()
    return row


def big_frames(count: int, megabytes: int) -> tuple[str, list]:
    block = np.zeros(megabytes * 10**6, np.uint8)  # one buffer, sent `count` times without copying
    extra = [({"name": f"big{i}", "dtype": "uint8", "shape": [block.size]}, memoryview(block)) for i in range(count)]
    return generate_frames(extra, np.full(1600, 100, np.int16))


def tiny_frames(count: int) -> tuple[str, list]:
    msg_id, frames = generate_frames([], np.full(1600, 100, np.int16))
    return msg_id, frames + [b"x"] * count


def long_audio(seconds: float, rate: int) -> tuple[str, list]:
    return generate_frames([], np.zeros(int(seconds * rate), np.int16), rate)


def many_clients(server: Server, clients: int, requests: int, deadline: float) -> dict:
    """`clients` threads, each a Client running `requests` generates in turn, retrying on busy."""
    results, failures, retries = {}, [], [0]
    base, log_before, start = server.mark(), server.log.stat().st_size, time.monotonic()

    def run(index: int) -> None:
        with Client(server.endpoint, timeout=60) as client:
            for k in range(requests):
                audio = np.full(1600, (index * requests + k + 1) / (clients * requests + 1), np.float32)
                request = GenerateRequest(audio, 16000, engine="stress_echo", seed=index * 100 + k)
                while time.monotonic() < deadline:
                    try:
                        results[index, k] = (request, client.generate(request)[0])
                        break
                    except RemoteError as error:
                        if error.code != "busy":
                            failures.append(f"{error.code}: {error.remote_message}")
                            break
                        retries[0] += 1
                        time.sleep(random.uniform(0.05, 0.3))
                    except Exception as error:  # noqa: BLE001 - counted as lost and reported
                        failures.append(f"{type(error).__name__}: {error}")
                        break

    threads = [threading.Thread(target=run, args=(i,), daemon=True) for i in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(max(0.0, deadline - time.monotonic()))
    crossed = sum(1 for request, curves in results.values() if not _is_answer_to(request, curves))
    return {"case": f"{clients} clients x {requests}", "results": len(results),
            "lost": clients * requests - len(results), "crossed": crossed, "busy_retries": retries[0],
            "failures": failures[:3], "seconds": round(time.monotonic() - start, 1),
            "rss_growth_mib": round((server.rss_peak - base) / MIB, 1),
            "log_growth_kb": round((server.log.stat().st_size - log_before) / 1000, 1)}


def _is_answer_to(request: GenerateRequest, curves) -> bool:
    jaw, smile = curves.values[0, INDEX["jawOpen"]], curves.values[0, INDEX["mouthSmileLeft"]]
    return abs(jaw - request.seed / 1e6) < 1e-7 and abs(smile - float(np.abs(request.audio).mean())) < 1e-6


def _scaled_big(frames: int, megabytes: int) -> tuple[int, str]:
    """Frame size that fits this machine: the server holds about frames x size while receiving."""
    available = next(int(line.split()[1]) * 1024 for line in Path("/proc/meminfo").read_text().splitlines()
                     if line.startswith("MemAvailable"))
    fits = int((available - (8 << 30)) / 2 / frames / 10**6)  # leave 8 GiB and room for a copy
    if fits >= megabytes:
        return megabytes, ""
    return max(1, fits), f"scaled from {megabytes} MB: {available / 2**30:.1f} GiB available"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait(condition, timeout: float, what: str) -> None:
    end = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > end:
            raise SystemExit(f"stress: timed out waiting for {what}")
        time.sleep(0.05)


def run(args: argparse.Namespace, folder: Path) -> list[dict]:
    deadline = time.monotonic() + args.deadline
    server = Server(Path(args.server_src).resolve(), args.message_mb, folder / "server.log")
    rows = []
    try:
        if "big" in args.cases:
            size, note = _scaled_big(args.big_frames, args.big_frame_mb)
            rows.append(attack(server, folder, f"{args.big_frames} x {size} MB frames", *big_frames(args.big_frames, size))
                        | ({"note": note} if note else {}))
        if "tiny" in args.cases:
            rows.append(attack(server, folder, f"{args.tiny_frames} one-byte frames", *tiny_frames(args.tiny_frames)))
        if "audio" in args.cases:
            rows.append(attack(server, folder, f"{args.audio_seconds / 3600:g} h int16 audio",
                               *long_audio(args.audio_seconds, args.audio_rate)))
        if "clients" in args.cases and time.monotonic() < deadline:
            rows.append(many_clients(server, args.clients, args.requests, deadline))
        alive = server.process.poll() is None
    finally:
        server.stop()
    rows.append({"case": "server", "alive_at_end": alive, "log_total_kb": round(server.log.stat().st_size / 1000, 1)})
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--message-mb", type=int, default=256, help="the server's --max-message-mb")
    parser.add_argument("--big-frames", type=int, default=16)
    parser.add_argument("--big-frame-mb", type=int, default=250)
    parser.add_argument("--tiny-frames", type=int, default=2_000_000)
    parser.add_argument("--audio-seconds", type=float, default=7200.0)
    parser.add_argument("--audio-rate", type=int, default=16000)
    parser.add_argument("--clients", type=int, default=200)
    parser.add_argument("--requests", type=int, default=3)
    parser.add_argument("--cases", default="big,tiny,audio,clients")
    parser.add_argument("--server-src", default=str(REPO), help="checkout whose backend/ runs the server")
    parser.add_argument("--deadline", type=float, default=900.0, help="seconds; the whole run stops by then")
    parser.add_argument("--keep", help="folder for the server log and watcher files (default: a temp folder)")
    args = parser.parse_args()
    import tempfile

    with tempfile.TemporaryDirectory(prefix="dreamtalk-stress-") as temp:
        folder = Path(args.keep or temp)
        folder.mkdir(parents=True, exist_ok=True)
        rows = run(args, folder)
    print(f"# stress_service: {platform.node()} {platform.processor() or platform.machine()}, "
          f"{os.cpu_count()} CPUs, python {platform.python_version()}, libzmq {zmq.zmq_version()}, "
          f"server from {args.server_src}, message limit {args.message_mb} MiB (2x = {2 * args.message_mb} MiB)")
    for row in rows:
        print(json.dumps(row))


if __name__ == "__main__":
    main()
