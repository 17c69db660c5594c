"""Benchmark: 60 s of audio -> EmoDiff curves at default settings (features + sampling), and the same
model with the 1000-step ancestral DDPM sampler measured in the same run as the baseline.

Usage: .venv/bin/python bench/bench_emodiff.py [--checkpoint PATH] [--seconds 60] [--device cpu|cuda]
Without --checkpoint, the installed model (shipped weights or $DREAMTALK_EMODIFF_CHECKPOINT), else a
freshly initialised model of the default architecture (speed does not depend on the weights). Prints a markdown table.
"""

from __future__ import annotations

import argparse
import os
import platform
import time

import torch

from dreamtalk.corpus.synthetic import buzz_utterance
from dreamtalk.engines.installed import emodiff_checkpoint
from dreamtalk.features import FALLBACK, by_tag, get_frontend
from dreamtalk.models.emodiff.config import DenoiserConfig, DiffusionConfig, SamplerConfig
from dreamtalk.models.emodiff.denoiser import Denoiser
from dreamtalk.models.emodiff.generate import generate
from dreamtalk.models.emodiff.model import EmoDiff


def model_for(checkpoint: str | None) -> EmoDiff:
    import numpy as np

    if checkpoint:
        return EmoDiff.load(checkpoint)
    if emodiff_checkpoint().is_file():  # the shipped (or $DREAMTALK_EMODIFF_CHECKPOINT) model
        return EmoDiff.load(emodiff_checkpoint())
    fe = get_frontend(FALLBACK)
    cfg = DenoiserConfig(audio_dim=fe.dim)
    return EmoDiff(Denoiser(cfg).eval(), DiffusionConfig(), np.zeros(55, np.float32), np.ones(55, np.float32), fe.tag)


def timed(fn) -> tuple[float, object]:
    start = time.perf_counter()
    out = fn()
    if torch.cuda.is_available():
        torch.cuda.synchronize()
    return time.perf_counter() - start, out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--checkpoint")
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--threads", type=int, default=2, help="CPU threads (the target is 2 cores)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    model = model_for(args.checkpoint)
    model.denoiser.to(args.device)
    words = int(args.seconds * 3.2) + 4  # buzz speech runs at about 2.8 words per second; trimmed below
    audio, rate, _ = buzz_utterance(words, seed=1)
    audio = audio[: int(args.seconds * rate)]
    frames = int(round(len(audio) / rate * model.cfg.fps))
    fe = by_tag(model.front_end)
    default = SamplerConfig()
    generate(model, fe(audio[:rate * 2], rate, model.cfg.fps, 50), default)  # warm-up
    t_feat, feats = timed(lambda: fe(audio, rate, model.cfg.fps, frames))
    t_fast, _ = timed(lambda: generate(model, feats, default))
    t_takes, _ = timed(lambda: generate(model, feats, default, takes=4))
    t_ddpm, _ = timed(lambda: generate(model, feats, SamplerConfig(sampler="ddpm")))
    machine = f"{platform.processor() or platform.machine()}, {args.threads} threads, {args.device}"
    if args.device.startswith("cuda"):
        machine += f" ({torch.cuda.get_device_name()})"
    print(f"# EmoDiff speed: {len(audio) / rate:.1f} s of audio ({frames} frames), {machine}, "
          f"torch {torch.__version__}, {os.cpu_count()} visible CPUs")
    print("| setting | seconds | x real time |")
    print("|---|---|---|")
    rows = [
        (f"features ({model.front_end})", t_feat),
        (f"default: DDIM {default.steps} steps, guidance {default.guidance}, stitched windows", t_feat + t_fast),
        ("default, 4 takes in one batch", t_feat + t_takes),
        (f"baseline: DDPM {model.diffusion.train_steps} steps, same model", t_feat + t_ddpm),
    ]
    for name, seconds in rows:
        print(f"| {name} | {seconds:.2f} | {len(audio) / rate / seconds:.1f} |")


if __name__ == "__main__":
    main()
