"""Benchmark: what precise mode costs (the default engine given the transcript: forced alignment, then the
articulation stage on the aligned phones instead of the detector's probabilities).

Lines: one sentence (3 s) and twenty sentences (72 s) of espeak-ng speech with their text, a
little dither per call. For each, `engines.generate` in this process (models loaded and warm) with and
without the transcript, taking turns in every repeat. Prints a markdown table: best and
median seconds, and the ratio of the best times.

Usage: .venv/bin/python bench/bench_precise.py [--repeats 7]
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_frontend import SENTENCES  # noqa: E402


def line(sentences: int) -> tuple[np.ndarray, str]:
    """16 kHz speech of `sentences` sentences (cycling SENTENCES) and its text."""
    from dreamtalk.align.espeak import synthesize
    from dreamtalk.core.audio import resample

    texts = [SENTENCES[i % len(SENTENCES)] for i in range(sentences)]
    spoken = synthesize(" ".join(texts), "en-us+m3")
    return resample(spoken.audio, spoken.sample_rate, 16000).astype(np.float32), " ".join(texts)


def timed(audio: np.ndarray, text: str | None, rng: np.random.Generator) -> float:
    from dreamtalk.core.request import GenerateRequest
    from dreamtalk.engines import generate

    dithered = (audio + rng.normal(0, 1e-4, len(audio))).astype(np.float32)  # no feature cache hit
    start = time.perf_counter()
    generate(GenerateRequest(dithered, 16000, seed=0, transcript=text))
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    rows = ["| line | without transcript: best / median | with transcript (precise): best / median | ratio of best |",
            "|---|---|---|---|"]
    for sentences in (1, 20):
        audio, text = line(sentences)
        times = {None: [], text: []}
        for given in (None, text):  # warm: models loaded, first alignment made
            timed(audio, given, rng)
        for _ in range(args.repeats):
            for given in (None, text):
                times[given].append(timed(audio, given, rng))
        plain, precise = times[None], times[text]
        rows.append(f"| {len(audio) / 16000:.1f} s | {min(plain):.3f} / {np.median(plain):.3f} s | "
                    f"{min(precise):.3f} / {np.median(precise):.3f} s | {min(precise) / min(plain):.2f}x |")
    print(f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, load {os.getloadavg()[0]:.2f}; "
          f"{args.repeats} repeats\n")
    print("\n".join(rows))


if __name__ == "__main__":
    main()
