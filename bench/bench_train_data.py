"""Benchmark (issue 16 item 4): how much of an EmoDiff training step is data preparation.

For the CPU sampler (`WindowSampler`: windows cut in Python, moved to the device) and the device sampler
(`DeviceWindowSampler`: the corpus in device tensors, batches gathered there), at each batch size:
the time to build one batch, the time of one whole training step with it (batch + forward + backward +
Adam), and the batch's share of the step. Target: < 20 % of the step on a GPU. Both samplers take turns
in the same run. On CUDA every timing ends with a synchronize.

Usage: .venv/bin/python bench/bench_train_data.py --corpus DIR [--frontend whisper-base-2] [--device cpu|cuda]
       [--batches 64,512] [--steps 20] [--limit 400] [--bf16]
A folder of `.npz` clips or a built corpus; prints a markdown table and one JSON line.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time

import numpy as np
import torch

from dreamtalk.models.emodiff.config import DenoiserConfig, DiffusionConfig, TrainConfig
from dreamtalk.models.emodiff.data import WindowSampler, load_corpus
from dreamtalk.models.emodiff.device_data import DeviceWindowSampler
from dreamtalk.models.emodiff.scheduler import Scheduler
from dreamtalk.models.emodiff.train import autocast, diffusion_loss, new_model


def timed(device: torch.device, fn) -> tuple[float, object]:
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    start = time.perf_counter()
    out = fn()
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    return time.perf_counter() - start, out


def measure(kind: str, clips, model, device: torch.device, batch: int, steps: int, bf16: bool) -> dict:
    net = model.denoiser.to(device).train()
    optimizer = torch.optim.Adam(net.parameters(), lr=1e-4)
    scheduler = Scheduler(model.diffusion)
    precision = autocast(TrainConfig(bf16=bf16), device)
    if kind == "device":
        sampler = DeviceWindowSampler(clips, model.cfg, model.mean, model.std, device)
        gen = torch.Generator(device=device).manual_seed(0)
        draw = lambda: sampler.batch(gen, batch)  # noqa: E731
    else:
        cpu = WindowSampler(clips, model.cfg, model.mean, model.std)
        rng, gen = np.random.default_rng(0), torch.Generator().manual_seed(0)
        draw = lambda: {k: v.to(device) for k, v in cpu.batch(rng, batch).items()}  # noqa: E731

    def step() -> None:
        data_s, data = timed(device, draw)
        with precision():
            loss = diffusion_loss(net, scheduler, data, gen, device)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        data_times.append(data_s)

    data_times: list[float] = []
    for _ in range(3):  # warm-up
        step()
    data_times.clear()
    step_times = [timed(device, step)[0] for _ in range(steps)]
    data, whole = float(np.median(data_times)), float(np.median(step_times))
    return {"sampler": kind, "batch": batch, "data_ms": 1000 * data, "step_ms": 1000 * whole,
            "data_share": data / whole}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--corpus", required=True)
    parser.add_argument("--frontend", default="whisper-base-2")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--batches", default="64,512")
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--limit", type=int, default=400, help="utterances (spread evenly)")
    parser.add_argument("--bf16", action="store_true")
    args = parser.parse_args()
    device = torch.device(args.device)
    clips = load_corpus(args.corpus, args.frontend, limit=args.limit)
    torch.manual_seed(0)
    rows = []
    for batch in (int(b) for b in args.batches.split(",")):
        for kind in ("cpu", "device"):
            model = new_model(clips, DenoiserConfig(), DiffusionConfig(), args.frontend)
            rows.append(measure(kind, clips, model, device, batch, args.steps, args.bf16))
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else f"{os.cpu_count()} CPU cores"
    print(f"Machine: {name}, {platform.processor() or platform.machine()}, load {os.getloadavg()[0]:.1f}; "
          f"{len(clips)} clips, bf16 {args.bf16}\n")
    print("| sampler | batch | data (ms) | whole step (ms) | data share |\n|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['sampler']} | {r['batch']} | {r['data_ms']:.1f} | {r['step_ms']:.1f} | {100 * r['data_share']:.1f} % |")
    print(json.dumps({"device": name, "bf16": args.bf16, "rows": rows}))


if __name__ == "__main__":
    main()
