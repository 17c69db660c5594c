"""GPU benchmark of the neural renderer (issue 13), self-contained for the lent GPU machine.

Measures, with the project's own training and inference code:
- one training step at batch 8, 256x256, bf16 autocast (generator with the equivariance pass, GAN and
  feature matching, discriminator step), and the data-loading share of a step: the time the loop waits
  for the prefetching loader (what the GPU sees), and what gathering a batch synchronously would cost;
- inference throughput of the network (frames/s, source volume cached, batches of 8 frames as the
  renderer runs it; and one frame at a time) at 256x256 and at 512x512 with the x2 upsampler.

Needs only torch + numpy (+ scipy for part 1's rig fit module the loader imports); no kornia, PyAV,
MediaPipe, soundfile or pyzmq. The data are random frames and landmarks in the prepared-data layout
(`render/neural/store.py`), memory-mapped from a temporary folder as in real training: the timing
does not depend on what the pixels show. Part 1's CPU rendering is not part of these figures
(`bench/bench_neural.py` measures it on the CPU).

Usage, from the repository root:
    PYTHONPATH=backend python bench/device_neural.py                 # on the GPU machine (~2 min)
    PYTHONPATH=backend python bench/device_neural.py --device cpu --tiny   # dry run anywhere (~1 min)
Prints a markdown table and one JSON line (also written to --json when given).
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from dreamtalk.learning.distributed import Distributed
from dreamtalk.render.neural.conditioning import DrivingInputs, to_images
from dreamtalk.render.neural.config import NeuralRendererConfig, RendererTrainConfig
from dreamtalk.render.neural.data import PairSampler, Prefetcher, to_tensors
from dreamtalk.render.neural.networks import NeuralGenerator
from dreamtalk.render.neural.store import ClipArrays, ClipInfo, DatasetWriter, RendererData
from dreamtalk.render.neural.train import Models, _build, discriminator_step, generator_step

TINY = dict(size=32, base_channels=8, volume_channels=4, volume_depth=4, volume_blocks=1, motion_channels=8,
            motion_levels=1, decoder_blocks=1, disc_channels=8, disc_layers=2)


def random_data(folder: Path, size: int, clips: int, frames: int, pairs: int, seed: int = 0) -> RendererData:
    """Random frames and face-like landmarks (478 points in the middle of the crop) in the data layout."""
    rng = np.random.default_rng(seed)
    writer = DatasetWriter(folder, size, {"random": True})
    template = np.concatenate([rng.uniform(0.3 * size, 0.7 * size, (478, 2)), rng.uniform(-0.05, 0.05, (478, 1)) * size], 1)
    for index in range(clips):
        arrays = ClipArrays(
            frames=rng.integers(0, 256, (frames, size, size, 3), np.uint8),
            landmarks=(template + rng.normal(0, 0.01 * size, (frames, 478, 3))).astype(np.float32),
            pose=rng.normal(0, 0.1, (frames, 3)).astype(np.float32),
            sources=rng.integers(0, frames, (frames, pairs)).astype(np.int32),
            warped=rng.integers(0, 256, (frames, pairs, size, size, 3), np.uint8),
        )
        writer.add_clip(ClipInfo(f"clip{index}", f"video{index}", frames, 25.0, (0.0, 0.0, float(size))), arrays)
    writer.finish([], {"video0"} if clips > 1 else set())
    return RendererData(folder)


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def bench_training(cfg: NeuralRendererConfig, tcfg: RendererTrainConfig, data: RendererData, device: torch.device,
                   steps: int, warmup: int) -> dict:
    """Full training steps through the project's loop pieces; the loader prefetches on its own thread."""
    torch.manual_seed(0)
    models: Models = _build(cfg, tcfg, None, device, Distributed(), None)
    sampler = PairSampler([arrays for _, arrays in data.split("train")])
    rng = np.random.default_rng(0)
    loader = Prefetcher(lambda: sampler.batch(rng, tcfg.batch), device, tcfg.prefetch)
    gen = torch.Generator().manual_seed(0)
    waits, times = [], []
    try:
        for step in range(warmup + steps):
            start = time.perf_counter()
            batch, waited = loader.next()
            terms, image, maps = generator_step(models, batch, cfg, tcfg, True, gen)
            target = to_images(batch["target"])
            terms["disc"] = discriminator_step(models, image, target, maps, tcfg)
            torch.stack([v.detach().float() for v in terms.values()]).tolist()  # the loop's one sync per step
            _sync(device)
            if step >= warmup:
                waits.append(waited)
                times.append(time.perf_counter() - start)
    finally:
        loader.close()
    gathers = []
    for _ in range(max(steps // 2, 3)):  # what a loader on the training thread would cost per batch
        start = time.perf_counter()
        to_tensors(sampler.batch(rng, tcfg.batch), device, pin=device.type == "cuda")
        _sync(device)
        gathers.append(time.perf_counter() - start)
    step_ms, wait_ms, gather_ms = (1000 * float(np.median(x)) for x in (times, waits, gathers))
    return {"step_ms": step_ms, "data_wait_ms": wait_ms, "data_wait_share": float(np.sum(waits) / np.sum(times)),
            "sync_gather_ms": gather_ms, "sync_gather_share": gather_ms / (step_ms + gather_ms),
            "pairs_per_s": tcfg.batch / (step_ms / 1000), "peak_memory_gb": _peak(device), "size": cfg.size,
            "batch": tcfg.batch, "precision": "bf16 autocast" if device.type == "cuda" else "fp32"}


def _peak(device: torch.device) -> float | None:
    return torch.cuda.max_memory_allocated(device) / 2 ** 30 if device.type == "cuda" else None


def random_inputs(cfg: NeuralRendererConfig, batch: int, device: torch.device) -> DrivingInputs:
    gen = torch.Generator().manual_seed(1)
    points = torch.rand(batch, 478, 3, generator=gen) * 0.8 - 0.4
    points[..., 2] *= 0.1
    s, o = cfg.size, cfg.output_size
    return DrivingInputs(torch.rand(batch, 3, s, s, generator=gen), torch.rand(batch, 3, s, s, generator=gen),
                         torch.rand(batch, 3, o, o, generator=gen), points, points + 0.01,
                         torch.eye(3).repeat(batch, 1, 1)).to(device)


@torch.inference_mode()
def bench_inference(cfg: NeuralRendererConfig, device: torch.device, batch: int, passes: int, warmup: int) -> dict:
    """Frames/s of the network with the portrait's volume cached, as the renderer runs it."""
    torch.manual_seed(0)
    generator = NeuralGenerator(cfg).to(device).eval()
    autocast = torch.autocast("cuda", dtype=torch.bfloat16) if device.type == "cuda" else torch.autocast("cpu", enabled=False)
    result = {}
    for frames in (batch, 1):
        inputs = random_inputs(cfg, frames, device)
        with autocast:
            volume = generator.encode(inputs.source[:1])
            for index in range(warmup + passes):
                if index == warmup:
                    _sync(device)
                    start = time.perf_counter()
                generator(inputs, volume)["image"].float()
            _sync(device)
        seconds = (time.perf_counter() - start) / passes
        result[f"batch{frames}_ms_per_frame"] = 1000 * seconds / frames
        result[f"batch{frames}_fps"] = frames / seconds
    result["peak_memory_gb"] = _peak(device)
    result["output_size"] = cfg.output_size
    return result


def table(report: dict) -> str:
    t, i256, i512 = report["training"], report["inference_256"], report["inference_512"]
    s, a, b = t["size"], i256["output_size"], i512["output_size"]
    rows = [
        (f"training step, batch {t['batch']} at {s}, {t['precision']} (G + equivariance + GAN/FM + D)",
         f"{t['step_ms']:.1f} ms ({t['pairs_per_s']:.0f} pairs/s)"),
        ("  loop waiting for data (prefetching loader)", f"{t['data_wait_ms']:.2f} ms = {100 * t['data_wait_share']:.1f}% of a step"),
        ("  gathering a batch synchronously instead", f"{t['sync_gather_ms']:.1f} ms = {100 * t['sync_gather_share']:.1f}% of a step"),
        ("  peak GPU memory", "-" if t["peak_memory_gb"] is None else f"{t['peak_memory_gb']:.1f} GiB"),
        (f"inference {a}x{a}, batches of 8 (network only)", f"{i256['batch8_fps']:.0f} frames/s ({i256['batch8_ms_per_frame']:.2f} ms/frame)"),
        (f"inference {a}x{a}, one frame at a time", f"{i256['batch1_fps']:.0f} frames/s"),
        (f"inference {b}x{b} with x2 upsampler, batches of 8", f"{i512['batch8_fps']:.0f} frames/s ({i512['batch8_ms_per_frame']:.2f} ms/frame)"),
        (f"inference {b}x{b} with x2 upsampler, one frame at a time", f"{i512['batch1_fps']:.0f} frames/s"),
    ]
    head = f"Device: {report['device_name']}; torch {report['torch']}; config {report['config']}\n\n"
    return head + "| measurement | value |\n|---|---|\n" + "\n".join(f"| {a} | {b} |" for a, b in rows)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cuda")
    parser.add_argument("--tiny", action="store_true", help="tiny network and data: a quick dry run on any machine")
    parser.add_argument("--steps", type=int, default=None, help="timed training steps (default 20; tiny 3)")
    parser.add_argument("--passes", type=int, default=None, help="timed inference passes (default 20; tiny 3)")
    parser.add_argument("--json", help="also write the JSON report here")
    args = parser.parse_args(argv)
    device = torch.device(args.device)
    if device.type == "cuda":
        if not torch.cuda.is_available():
            print("no CUDA GPU visible to torch; use --device cpu --tiny for a dry run", file=sys.stderr)
            return 2
        torch.backends.cudnn.benchmark = True
        torch.backends.cuda.matmul.allow_tf32 = torch.backends.cudnn.allow_tf32 = True
    steps, passes = args.steps or (3 if args.tiny else 20), args.passes or (3 if args.tiny else 20)
    base = NeuralRendererConfig(**TINY) if args.tiny else NeuralRendererConfig()
    tcfg = RendererTrainConfig(batch=8, precision="bf16", gan_start=0)
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="device-neural-") as folder:
        data = random_data(Path(folder) / "data", base.size, clips=3, frames=16 if args.tiny else 48, pairs=2)
        training = bench_training(base, tcfg, data, device, steps, warmup=2 if args.tiny else 5)
    if device.type == "cuda":
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats(device)
    inference_256 = bench_inference(base, device, 8, passes, warmup=2 if args.tiny else 5)
    up = NeuralRendererConfig(**{**base.__dict__, "upsample": True})
    inference_512 = bench_inference(up, device, 8, passes, warmup=2 if args.tiny else 5)
    report = {
        "device_name": torch.cuda.get_device_name(device) if device.type == "cuda" else f"CPU ({platform.processor() or platform.machine()}, {torch.get_num_threads()} threads)",
        "torch": torch.__version__, "config": "tiny" if args.tiny else "default",
        "parameters_m": sum(p.numel() for p in NeuralGenerator(up).parameters()) / 1e6,
        "training": training, "inference_256": inference_256, "inference_512": inference_512,
        "seconds": time.perf_counter() - started,
    }
    print(table(report))
    line = json.dumps(report)
    print(line)
    if args.json:
        Path(args.json).write_text(line + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
