"""CPU figures of the neural renderer (BENCHMARKS.md, docs/render.md "Neural renderer").

Measured on the machine it runs on (the project's standard one: 2 cores), default network config,
untrained weights (speed does not depend on them):
- one 256x256 frame through the network (the portrait's appearance volume cached, as the renderer runs
  it), and one 512x512 frame with the x2 upsampler; the portrait's one-off encoding;
- the whole neural renderer per frame (part 1 + network + paste-back) on the astronaut portrait;
- baseline in the same run: part 1's geometric frame at the same sizes (what `dreamtalk render` costs
  without a checkpoint);
- `dreamtalk renderer prepare` throughput (face analysis + crops + 2 part-1 pair renders per frame) on
  a short part-1 video, so a user can size the preparation of their footage.

Usage: .venv/bin/python bench/bench_neural.py [--frames 4] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from dreamtalk.render.analysis import analyse
from dreamtalk.render.config import RenderConfig
from dreamtalk.render.neural import checkpoint
from dreamtalk.render.neural.conditioning import DrivingInputs
from dreamtalk.render.neural.config import NeuralRendererConfig, PrepareConfig
from dreamtalk.render.neural.inference import NeuralRenderer
from dreamtalk.render.neural.networks import NeuralGenerator
from dreamtalk.render.neural.prepare import prepare
from dreamtalk.render.portraits import astronaut
from dreamtalk.render.renderer import GeometricRenderer
from dreamtalk.render.video import write_video

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
from render_support import talking_curves  # noqa: E402


def _best_seconds(run, repeats: int) -> float:
    """Best of `repeats` after a warm-up (oneDNN picks its kernels per shape): the machine is shared, and
    the best run is the one least disturbed by other work."""
    run()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return float(np.min(times))


@torch.inference_mode()
def network_seconds(cfg: NeuralRendererConfig, repeats: int) -> tuple[float, float]:
    """(one frame, one portrait encoding) in seconds."""
    torch.manual_seed(0)
    generator = NeuralGenerator(cfg).eval()
    points = torch.rand(1, 478, 3) * 0.8 - 0.4
    s, o = cfg.size, cfg.output_size
    inputs = DrivingInputs(torch.rand(1, 3, s, s), torch.rand(1, 3, s, s), torch.rand(1, 3, o, o), points,
                           points + 0.01, torch.eye(3)[None])
    volume = generator.encode(inputs.source)
    frame = _best_seconds(lambda: generator(inputs, volume), repeats)
    encode = _best_seconds(lambda: generator.encode(inputs.source), repeats)
    return frame, encode


def renderer_seconds(size: int, upsample: bool, folder: Path, frames: int) -> tuple[float, float]:
    """(neural renderer, part 1 alone) seconds per frame on the astronaut, talking."""
    cfg = NeuralRendererConfig(upsample=upsample)
    path = folder / f"untrained_{size}.pt"
    torch.manual_seed(0)
    checkpoint.save(path, NeuralGenerator(cfg))
    config = RenderConfig(size=size, checkpoint=str(path), device="cpu")
    portrait = analyse(astronaut(), config)
    curves = talking_curves(frames)
    neural, geometric = NeuralRenderer(portrait, config), GeometricRenderer(portrait, config)

    def run_neural():
        for _ in neural.frames(curves):
            pass

    def run_geometric():
        for _ in geometric.frames(curves):
            pass

    return _best_seconds(run_neural, 2) / frames, _best_seconds(run_geometric, 3) / frames


def prepare_rate(folder: Path, frames: int) -> tuple[float, int]:
    """Frames per second of `renderer prepare` on a part-1 video of the astronaut (512x512 source), and
    how many frames it stored (all of them, when every frame shows the face)."""
    geometric = GeometricRenderer(analyse(astronaut()))
    curves = talking_curves(frames)
    videos = folder / "videos"
    videos.mkdir()
    write_video(videos / "talk.mp4", geometric.frames(curves), 25.0)
    start = time.perf_counter()
    content = prepare(videos, folder / "data", PrepareConfig(size=256, pairs_per_frame=2, sources_per_clip=4))
    return frames / (time.perf_counter() - start), sum(clip["frames"] for clip in content["clips"])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=4, help="frames of the whole-renderer timing")
    parser.add_argument("--json", help="also write the figures here")
    args = parser.parse_args(argv)
    figures = {"machine": f"{platform.machine()}, {os.cpu_count()} CPUs, torch {torch.__version__}, "
                          f"{torch.get_num_threads()} threads", "load_before": os.getloadavg()[0]}
    figures["network_256_s"], figures["encode_256_s"] = network_seconds(NeuralRendererConfig(), 3)
    figures["network_512_s"], figures["encode_512_s"] = network_seconds(NeuralRendererConfig(upsample=True), 3)
    with tempfile.TemporaryDirectory() as folder:
        folder = Path(folder)
        figures["renderer_256_s"], figures["part1_256_s"] = renderer_seconds(256, False, folder, args.frames)
        figures["renderer_512_s"], figures["part1_512_s"] = renderer_seconds(512, True, folder, args.frames)
        figures["prepare_fps"], figures["prepare_stored"] = prepare_rate(folder, 25)
    figures["load_after"] = os.getloadavg()[0]
    f = figures
    print(f"Machine: {f['machine']}; 1-min load average {f['load_before']:.1f} before, {f['load_after']:.1f} after "
          f"(a shared machine: best of 2-3 runs)\n")
    print("| work (per frame) | neural renderer | baseline: part 1 (geometric) alone | ratio |\n|---|---|---|---|")
    for size in (256, 512):
        n, g = f[f"renderer_{size}_s"], f[f"part1_{size}_s"]
        print(f"| whole renderer, {size}x{size} | {n:.2f} s | {1000 * g:.1f} ms | {n / g:.0f}x |")
    print(f"| network only, 256x256 (volume cached) | {f['network_256_s']:.2f} s | | |")
    print(f"| network only, 512x512 with the x2 upsampler | {f['network_512_s']:.2f} s | | |")
    print(f"| portrait encoding, once per render (256 core) | {f['encode_256_s']:.2f} s | | |")
    print(f"\nrenderer prepare: {f['prepare_fps']:.1f} frames/s (256 px, 2 pair renders per frame; "
          f"{f['prepare_stored']} of 25 frames stored)")
    line = json.dumps(figures)
    print(line)
    if args.json:
        Path(args.json).write_text(line + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
