"""Benchmark (issue 16 acceptance on the CPU): the backend as an animator uses it, line by line.

* warm server: a 5 s and a 60 s line -> curves through a running `dreamtalk serve` (EmoDiff + lip refiner,
  every request with new audio so no feature cache helps), targets <= 0.3 s and <= 1.5 s;
* cold CLI: `dreamtalk generate` of a 5 s line in a new process, target <= 2.5 s;
* concurrent clients (1, 8, 32) sending 5 s lines to one server: serial (1 worker), worker threads without
  batching, worker threads whose sampling is batched (`engines/batching.py`).

"Before" is the code and shipped checkpoints of `--base` (default main) run from a `git archive` in the
same run; when those checkpoints use another front end than `whisper-base-2` (the padded 30 s window of
`whisper-base-ct2-1`), a second "before" row relabels them to `whisper-base-2` (timing only), so the gain
of the front end and of the rest of the code show apart. "Now" is this checkout. Variants take turns, so
other load on the shared machine hits them alike; the machine's load average is printed with each table.

Usage: .venv/bin/python bench/bench_backend.py [--base main] [--repeats 5] [--clients 1,8,32] [--no-cli]
       [--no-load] [--no-warm]
Speech: espeak-ng sentences (bench_frontend.speech), a little dither per request. Prints markdown tables.
"""

from __future__ import annotations

import argparse
import os
import platform
import socket
import subprocess
import sys
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_frontend import relabelled, speech  # noqa: E402
from device_backend import run_clients  # noqa: E402

from dreamtalk.core.client import Client  # noqa: E402
from dreamtalk.core.request import GenerateRequest  # noqa: E402

LOAD_SECONDS = 5.0  # the line every concurrent client sends


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def load_average() -> str:
    return f"{os.getloadavg()[0]:.1f}"


class Server:
    """A `dreamtalk serve` process (this checkout or another code tree) on a free loopback port."""

    def __init__(self, env: dict, workers: int = 1, batch: int | None = None, device: str | None = "cpu") -> None:
        self.endpoint = f"tcp://127.0.0.1:{free_port()}"
        command = [sys.executable, "-m", "dreamtalk.cli", "serve", "--bind", self.endpoint, "--workers", str(workers),
                   "--max-queue", "256", "--max-jobs-per-client", "16", "--log-level", "warning"]
        command += [] if device is None else ["--device", device]
        command += [] if batch is None else ["--batch-requests", str(batch)]
        self.process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        deadline = time.monotonic() + 60
        while True:
            try:
                with Client(self.endpoint, timeout=2.0) as client:
                    client.hello()
                break
            except Exception:  # noqa: BLE001 - not up yet
                if self.process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"server did not start: {self.process.stderr.read().decode()[-2000:]}") from None

    def generate(self, audio: np.ndarray, seed: int = 0) -> float:
        """Seconds from sending the request to holding the curves."""
        request = GenerateRequest(audio, 16000, seed=seed)
        with Client(self.endpoint, timeout=600) as client:
            start = time.perf_counter()
            client.generate(request)
            return time.perf_counter() - start

    def close(self) -> None:
        self.process.terminate()
        self.process.wait(30)

    def __enter__(self) -> Server:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


class Lines:
    """Speech of a given length, with fresh dither for every request (so no feature cache is hit)."""

    def __init__(self) -> None:
        self.cache: dict[float, np.ndarray] = {}
        self.rng = np.random.default_rng(0)

    def __call__(self, seconds: float) -> np.ndarray:
        if seconds not in self.cache:
            self.cache[seconds] = speech(seconds)
        return (self.cache[seconds] + self.rng.normal(0, 1e-4, len(self.cache[seconds]))).astype(np.float32)


def code_trees(base: str, tmp: Path, threads: int) -> list[tuple[str, dict]]:
    """(name, environment) of the variants: `base`'s code and checkpoints as they are (before), the same
    with its checkpoints relabelled to the exact-length front end when they name another (timing only),
    and this checkout (now)."""
    old = tmp / "old"
    old.mkdir()
    archive = subprocess.run(["git", "-C", str(ROOT), "archive", base, "backend"], capture_output=True, check=True)
    subprocess.run(["tar", "-x", "-C", str(old)], input=archive.stdout, check=True)
    env = dict(os.environ, OMP_NUM_THREADS=str(threads), DREAMTALK_WHISPER_THREADS=str(threads))
    before = dict(env, PYTHONPATH=str(old / "backend"))
    weights = old / "backend" / "dreamtalk" / "models"
    shipped = (weights / "emodiff" / "weights" / "emodiff.pt", weights / "lip" / "weights" / "lip.pt")
    variants = [(f"before (`{base}`)", before)]
    if front_end(shipped[0]) != "whisper-base-2":
        variants.append((f"before (`{base}`), relabelled to whisper-base-2", dict(before, **relabelled(tmp, *shipped))))
    return variants + [("now", env)]


def front_end(checkpoint: Path) -> str:
    import torch

    return torch.load(checkpoint, map_location="cpu", weights_only=True)["audio_front_end"]


def warm_rows(variants: list[tuple[str, dict]], repeats: int, lines: Lines) -> list[str]:
    """Best and median seconds of a 5 s and a 60 s line on a warm server per variant (servers take turns)."""
    times = {name: {5.0: [], 60.0: []} for name, _ in variants}
    with ExitStack() as stack:
        servers = [(name, stack.enter_context(Server(env, device=None if "before" in name else "cpu")))
                   for name, env in variants]
        for _, server in servers:  # warm: models loaded, first calls made
            server.generate(lines(5.0))
            server.generate(lines(60.0))
        for _ in range(repeats):
            for name, server in servers:
                for seconds in (5.0, 60.0):
                    times[name][seconds].append(server.generate(lines(seconds)))
    rows = ["| server | 5 s line: best / median | 60 s line: best / median |", "|---|---|---|"]
    for name, found in times.items():
        rows.append(f"| {name} | " + " | ".join(f"{min(found[s]):.3f} / {np.median(found[s]):.3f} s" for s in (5.0, 60.0))
                    + " |")
    return rows


def cli_rows(variants: list[tuple[str, dict]], repeats: int, lines: Lines, tmp: Path) -> list[str]:
    """Best and median seconds of a cold `dreamtalk generate` (new process) of a 5 s line per variant."""
    import soundfile

    wav = tmp / "line5.wav"
    soundfile.write(wav, lines(5.0), 16000)
    times = {name: [] for name, _ in variants}
    for _ in range(repeats):
        for name, env in variants:
            command = [sys.executable, "-m", "dreamtalk.cli", "generate", str(wav), "-o", str(tmp / "out.json")]
            start = time.perf_counter()
            subprocess.run(command, env=env, check=True, capture_output=True)
            times[name].append(time.perf_counter() - start)
    return ["| command | 5 s line: best / median |", "|---|---|",
            *[f"| {name} | {min(t):.2f} / {np.median(t):.2f} s |" for name, t in times.items()]]


def clients_run(server: Server, clients: int, per_client: int, lines: Lines) -> tuple[float, list[float]]:
    """Wall seconds for `clients` threads each sending `per_client` 5 s lines one after another; latencies."""
    audios = [[lines(LOAD_SECONDS) for _ in range(per_client)] for _ in range(clients)]
    return run_clients(server.generate, audios)


def load_rows(env: dict, clients_list: list[int], lines: Lines) -> list[str]:
    """Throughput and latency with concurrent clients: serial, threads without batching, threads batched."""
    most = max(clients_list)
    configs = [("1 worker (serial)", dict(workers=1)),
               (f"{most} workers, no batching", dict(workers=most, batch=1)),
               (f"{most} workers, batched sampling", dict(workers=most, batch=most))]
    rows = ["| clients | server | requests | wall | audio / wall (x real time) | latency mean / p95 |",
            "|---|---|---|---|---|---|"]
    for clients in clients_list:
        per_client = max(1, 8 // clients) if clients < 8 else 2
        for name, options in configs:
            with Server(env, **options) as server:
                server.generate(lines(LOAD_SECONDS))  # warm
                clients_run(server, min(clients, 2), 1, lines)  # warm the threads' first calls too
                wall, latencies = clients_run(server, clients, per_client, lines)
            audio = len(latencies) * LOAD_SECONDS
            rows.append(f"| {clients} | {name} | {len(latencies)} | {wall:.2f} s | {audio / wall:.1f}x | "
                        f"{np.mean(latencies):.2f} / {np.percentile(latencies, 95):.2f} s |")
    return rows


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--base", default="main", help="git revision whose code is 'before'")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--clients", default="1,8,32", help="concurrent clients for the load table")
    parser.add_argument("--no-warm", action="store_true")
    parser.add_argument("--no-cli", action="store_true")
    parser.add_argument("--no-load", action="store_true")
    args = parser.parse_args()
    import torch

    print(f"# Backend on the CPU: {platform.processor() or platform.machine()}, {os.cpu_count()} visible CPUs, "
          f"{args.threads} threads, torch {torch.__version__}, Python {platform.python_version()}; variants take "
          f"turns, {args.repeats} repeats")
    lines = Lines()
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        variants = code_trees(args.base, tmp, args.threads)
        sections = [("warm server", not args.no_warm, lambda: warm_rows(variants, args.repeats, lines)),
                    ("cold CLI", not args.no_cli, lambda: cli_rows(variants, args.repeats, lines, tmp)),
                    (f"concurrent clients, {LOAD_SECONDS:.0f} s lines, now, exact", not args.no_load,
                     lambda: load_rows(variants[-1][1], [int(c) for c in args.clients.split(",")], lines))]
        for title, wanted, make in sections:
            if not wanted:
                continue
            start = load_average()
            rows = make()
            print(f"\n## {title} (load average {start} -> {load_average()})\n")
            print("\n".join(rows))


if __name__ == "__main__":
    main()
