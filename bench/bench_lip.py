"""Benchmark: what lip refinement adds to generation time (target: at most 20 %).

60 s of audio -> EmoDiff curves at default settings (features + sampling, the baseline measured in
the same run) and the lip refiner over the result. Uses the installed checkpoints (shipped weights
or $DREAMTALK_EMODIFF_CHECKPOINT / $DREAMTALK_LIP_CHECKPOINT); without them, freshly initialised
models of the default architectures (speed does not depend on the weights). Prints a markdown table.

Usage: .venv/bin/python bench/bench_lip.py [--seconds 60] [--threads 2]
"""

from __future__ import annotations

import argparse
import os
import platform
import time

import numpy as np
import torch

from dreamtalk.corpus.synthetic import buzz_utterance
from dreamtalk.engines.installed import emodiff_checkpoint, installed_refiner
from dreamtalk.features import FALLBACK, get_frontend
from dreamtalk.features import by_tag as front_end
from dreamtalk.models.emodiff.conditions import StyleKey
from dreamtalk.models.emodiff.config import DenoiserConfig, DiffusionConfig, SamplerConfig
from dreamtalk.models.emodiff.denoiser import Denoiser
from dreamtalk.models.emodiff.generate import generate, neutral_style
from dreamtalk.models.emodiff.model import EmoDiff
from dreamtalk.models.lip.config import LipRefinerConfig
from dreamtalk.models.lip.model import LipModel
from dreamtalk.models.lip.network import LipRefiner
from dreamtalk.models.lip.refine import refine

FALLBACK_FRONT_END = get_frontend(FALLBACK).tag  # untrained models: the fast front end


def models() -> tuple[EmoDiff, LipModel, str]:
    """The installed models, else fresh ones of the default architectures."""
    path = emodiff_checkpoint()
    lip = installed_refiner()
    if path.is_file() and lip is not None:
        return EmoDiff.load(path), lip, "installed checkpoints"
    dim = front_end(FALLBACK_FRONT_END).dim
    zeros, ones = np.zeros(55, np.float32), np.ones(55, np.float32)
    emodiff = EmoDiff(Denoiser(DenoiserConfig(audio_dim=dim)).eval(), DiffusionConfig(), zeros, ones,
                      FALLBACK_FRONT_END)
    return emodiff, LipModel(LipRefiner(LipRefinerConfig(audio_dim=dim)), zeros, ones,
                             FALLBACK_FRONT_END), "untrained default architectures"


def timed(fn) -> tuple[float, object]:
    start = time.perf_counter()
    out = fn()
    return time.perf_counter() - start, out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--threads", type=int, default=2, help="CPU threads (the target is 2 cores)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    emodiff, lip, source = models()
    audio, rate, _ = buzz_utterance(int(args.seconds * 3.2) + 4, seed=1)
    audio = audio[: int(args.seconds * rate)]
    frames = int(round(len(audio) / rate * emodiff.cfg.fps))
    fe = front_end(emodiff.front_end)
    style = emodiff.denormalize(neutral_style(emodiff))
    keys = [StyleKey(0.0, neutral_style(emodiff), 1.0)]
    warm = fe(audio[: rate * 2], rate, emodiff.cfg.fps, 50)
    refine(lip, warm, generate(emodiff, warm, SamplerConfig(), keys)[0], style)  # warm-up
    t_feat, feats = timed(lambda: fe(audio, rate, emodiff.cfg.fps, frames))
    t_sample, takes = timed(lambda: generate(emodiff, feats, SamplerConfig(), keys))
    t_refine, _ = timed(lambda: refine(lip, feats, takes[0], style))
    t_sample4, takes4 = timed(lambda: generate(emodiff, feats, SamplerConfig(), keys, takes=4))
    t_refine4, _ = timed(lambda: [refine(lip, feats, x, style) for x in takes4])
    machine = f"{platform.processor() or platform.machine()}, {args.threads} threads, cpu"
    print(f"# Lip refinement cost: {len(audio) / rate:.1f} s of audio ({frames} frames), {machine}, "
          f"{source} ({emodiff.front_end}), torch {torch.__version__}, {os.cpu_count()} visible CPUs")
    print("| setting | generation s (features + EmoDiff) | refinement s | refinement / generation |")
    print("|---|---|---|---|")
    for name, gen, ref in [("1 take", t_feat + t_sample, t_refine), ("4 takes", t_feat + t_sample4, t_refine4)]:
        print(f"| {name} | {gen:.2f} | {ref:.3f} | {100 * ref / gen:.1f} % |")


if __name__ == "__main__":
    main()
