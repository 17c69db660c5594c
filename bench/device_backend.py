"""Benchmark (issue 16, GPU acceptance): the backend on a CUDA device, in one short run.

1. A served 60 s request end to end (Whisper features, EmoDiff, lip refiner, blink events): through a real
   `dreamtalk serve --device cuda` when pyzmq is importable, else the same pipeline in-process
   (`engines.generate` under a CUDA placement; the row says which). Target <= 0.2 s.
2. Throughput with 1, 8 and 32 concurrent clients sending 5 s lines (server worker threads with batched
   sampling, or the same threads in-process): minutes of audio per minute of wall time. Target >= 500.
3. A training step's data preparation (`bench_train_data.measure` on synthetic clips of the corpus'
   shapes: the CPU sampler and the device sampler). Target < 20 % of the step.
4. CPU and CUDA outputs for the same request and seed: largest absolute difference. Target <= 1e-4.

Carry (what the device machine lacks): the speech (`--speech`, a .npy of 16 kHz float32, written here by
`--write-speech PATH`), the Whisper encoder's weights alone (`$DREAMTALK_WHISPER_ENCODER`, 41 MB,
`dreamtalk.features.whisper.export_encoder`), optionally pyzmq wheels to install first.

Usage: python bench/device_backend.py --speech SPEECH.npy [--device cuda] [--clients 1,8,32] [--quick]
       python bench/device_backend.py --write-speech .cache/device/speech.npy     (here, with espeak-ng)
Prints a markdown table and one JSON line.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import threading
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(ROOT / "backend"))

RATE = 16000


def line(speech: np.ndarray, seconds: float, rng: np.random.Generator) -> np.ndarray:
    """`seconds` of the speech from a random place, with fresh dither (no feature cache is hit)."""
    count = int(seconds * RATE)
    start = int(rng.integers(0, max(1, len(speech) - count)))
    part = np.resize(speech[start:start + count], count)
    return (part + rng.normal(0, 1e-4, count)).astype(np.float32)


class InProcess:
    """The serving pipeline without sockets: worker threads with their placements, as `serve` runs them."""

    name = "in-process"

    def __init__(self, device: str, workers: int) -> None:
        from dreamtalk.engines.placement import Placement

        self.placement = Placement(device=device, batch_requests=workers)

    def generate(self, audio: np.ndarray, seed: int = 0) -> float:
        from dreamtalk import engines
        from dreamtalk.core.request import GenerateRequest

        start = time.perf_counter()
        engines.generate(GenerateRequest(audio, RATE, seed=seed), placement=self.placement)
        return time.perf_counter() - start

    def close(self) -> None:
        pass


class Served:
    """A real `dreamtalk serve --device DEVICE` on loopback (`bench_backend.Server`)."""

    name = "served"

    def __init__(self, device: str, workers: int) -> None:
        from bench_backend import Server

        self.server = Server(dict(os.environ, PYTHONPATH=str(ROOT / "backend")), workers=workers, device=device)
        self.generate = self.server.generate

    def close(self) -> None:
        self.server.close()


def backend(device: str, workers: int):
    try:
        import zmq  # noqa: F401
    except ImportError:
        return InProcess(device, workers)
    return Served(device, workers)


def served_60s(speech, device: str, repeats: int) -> dict:
    rng = np.random.default_rng(0)
    server = backend(device, 1)
    try:
        server.generate(line(speech, 60.0, rng))  # warm: models loaded, kernels chosen
        times = [server.generate(line(speech, 60.0, rng)) for _ in range(repeats)]
    finally:
        server.close()
    return {"how": server.name, "best_s": min(times), "median_s": float(np.median(times))}


def run_clients(generate, audios: list[list[np.ndarray]]) -> tuple[float, list[float]]:
    """Wall seconds for one thread per client sending its lines one after another (`generate(audio, seed)`
    returns a request's seconds), and every request's latency."""
    latencies, lock = [], threading.Lock()

    def client(index: int) -> None:
        for k, audio in enumerate(audios[index]):
            took = generate(audio, seed=index * 100 + k)
            with lock:
                latencies.append(took)

    threads = [threading.Thread(target=client, args=(i,)) for i in range(len(audios))]
    start = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return time.perf_counter() - start, latencies


def throughput(speech, device: str, clients: int, per_client: int, seconds: float = 5.0) -> dict:
    rng = np.random.default_rng(clients)
    server = backend(device, max(clients, 1))
    audios = [[line(speech, seconds, rng) for _ in range(per_client)] for _ in range(clients)]
    try:
        server.generate(line(speech, seconds, rng))
        wall, latencies = run_clients(server.generate, audios)
    finally:
        server.close()
    audio_minutes = len(latencies) * seconds / 60
    return {"how": server.name, "clients": clients, "requests": len(latencies), "wall_s": wall,
            "audio_min_per_min": audio_minutes / (wall / 60), "latency_mean_s": float(np.mean(latencies)),
            "latency_p95_s": float(np.percentile(latencies, 95))}


def agreement(speech, device: str) -> dict:
    from dreamtalk import engines
    from dreamtalk.core.request import GenerateRequest
    from dreamtalk.engines.placement import Placement

    audio = line(speech, 10.0, np.random.default_rng(7))
    outs = {}
    for where in ("cpu", device):
        takes = engines.generate(GenerateRequest(audio, RATE, seed=3, takes=2), placement=Placement(device=where))
        outs[where] = np.stack([np.concatenate([t.values, t.head_pose], 1) for t in takes])
    diff = np.abs(outs["cpu"] - outs[device])
    return {"max_abs": float(diff.max()), "mean_abs": float(diff.mean())}


def data_share(device: str, batches: list[int], count: int = 2000) -> list[dict]:
    import torch
    from bench_train_data import measure

    from dreamtalk.models.emodiff.config import DenoiserConfig, DiffusionConfig
    from dreamtalk.models.emodiff.data import Clip
    from dreamtalk.models.emodiff.train import new_model

    rng = np.random.default_rng(0)  # corpus-like shapes: 2000 utterances of 2-8 s, Whisper-base features
    emotions = ["neutral", "happy", "sad", "angry"]
    clips = [Clip(rng.normal(size=(n, 512)).astype(np.float32), rng.uniform(0, 1, (n, 55)).astype(np.float32),
                  emotions[i % 4]) for i, n in enumerate(rng.integers(50, 200, count))]
    torch.manual_seed(0)
    rows = []
    for batch in batches:
        for kind in ("cpu", "device"):
            model = new_model(clips, DenoiserConfig(), DiffusionConfig(), "whisper-base-2", use_builtin_presets=False)
            rows.append(measure(kind, clips, model, torch.device(device), batch, 20, bf16=device.startswith("cuda")))
    return rows


def write_speech(path: str) -> None:
    from bench_frontend import speech

    Path(path).parent.mkdir(parents=True, exist_ok=True)
    np.save(path, speech(90.0))
    print(f"wrote {path}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--speech", help=".npy of 16 kHz float32 speech (at least 60 s)")
    parser.add_argument("--write-speech", help="write 90 s of espeak-ng speech to this .npy and stop")
    parser.add_argument("--device", default="cuda")
    parser.add_argument("--clients", default="1,8,32")
    parser.add_argument("--batches", default="64,512,2048")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--quick", action="store_true", help="small sizes (a dry run on the CPU)")
    args = parser.parse_args()
    if args.write_speech:
        write_speech(args.write_speech)
        return
    speech = np.load(args.speech).astype(np.float32)
    import torch

    name = torch.cuda.get_device_name(0) if args.device.startswith("cuda") else f"{os.cpu_count()} CPU cores"
    clients = [int(c) for c in args.clients.split(",")]
    result = {"device": name, "served_60s": served_60s(speech, args.device, 1 if args.quick else args.repeats)}
    result["agreement"] = agreement(speech, args.device)
    result["throughput"] = [throughput(speech, args.device, c, 1 if args.quick else max(2, 64 // c)) for c in clients]
    result["data"] = data_share(args.device, [int(b) for b in args.batches.split(",")], 200 if args.quick else 2000)
    print(f"Machine: {name}, torch {torch.__version__}\n")
    s = result["served_60s"]
    print(f"| figure | target | measured |\n|---|---|---|\n| 60 s request end to end ({s['how']}), best / median | "
          f"<= 0.2 s | {s['best_s']:.3f} / {s['median_s']:.3f} s |")
    for t in result["throughput"]:
        print(f"| {t['clients']} clients x 5 s lines ({t['how']}): audio min / wall min; latency mean / p95 | >= 500 | "
              f"{t['audio_min_per_min']:.0f}; {t['latency_mean_s']:.3f} / {t['latency_p95_s']:.3f} s |")
    for d in result["data"]:
        print(f"| training data share, {d['sampler']} sampler, batch {d['batch']} (data / step ms) | < 20 % | "
              f"{100 * d['data_share']:.1f} % ({d['data_ms']:.1f} / {d['step_ms']:.1f}) |")
    a = result["agreement"]
    print(f"| CPU vs {args.device}, same request and seed: max / mean abs difference | <= 1e-4 | "
          f"{a['max_abs']:.2e} / {a['mean_abs']:.2e} |")
    print(json.dumps(result))


if __name__ == "__main__":
    main()
