"""Benchmark: what precise mode costs (the default engine given the transcript: forced alignment, then the
articulation stage on the aligned phones instead of the detector's probabilities; or asked for precise mode
without one: Whisper transcribes the speech first).

Lines: one sentence (3 s) and twenty sentences (72 s) of espeak-ng speech with their text, a
little dither per call. For each, `engines.generate` in this process (models loaded and warm) without the
transcript, with it, and with `precise` and no transcript, taking turns in every repeat. Prints a markdown
table: best and median seconds, and the ratios of the best times to the first.

With `--base REV` the same measures are taken first on REV's code and shipped checkpoints (a `git archive` of
its backend, in a subprocess), then on this checkout, in the same run, and both tables are printed.

Usage: .venv/bin/python bench/bench_precise.py [--repeats 7] [--base REV]
"""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
import tempfile
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


def timed(audio: np.ndarray, options: dict, rng: np.random.Generator) -> float:
    from dreamtalk.core.request import GenerateRequest
    from dreamtalk.engines import generate

    dithered = (audio + rng.normal(0, 1e-4, len(audio))).astype(np.float32)  # no feature cache hit
    time.sleep(0.5)  # let the previous call's OpenMP threads (CTranslate2's, Whisper) stop spinning
    start = time.perf_counter()
    generate(GenerateRequest(dithered, 16000, seed=0, **options))
    return time.perf_counter() - start


def table(repeats: int) -> list[str]:
    """Markdown rows: the 3 s and 72 s lines without a transcript, with it, and with `precise` and none."""
    rng = np.random.default_rng(0)
    rows = ["| line | no transcript: best / median | transcript (precise): best / median | precise, Whisper's "
            "transcript: best / median | ratios of best |", "|---|---|---|---|---|"]
    for sentences in (1, 20):
        audio, text = line(sentences)
        variants = ({}, {"transcript": text}, {"precise": True})
        times = [[] for _ in variants]
        for options in variants:  # warm: models loaded, first alignment and transcription made
            timed(audio, options, rng)
        for _ in range(repeats):
            for found, options in zip(times, variants):
                found.append(timed(audio, options, rng))
        cells = " | ".join(f"{min(t):.3f} / {np.median(t):.3f} s" for t in times)
        ratios = " / ".join(f"{min(t) / min(times[0]):.2f}x" for t in times[1:])
        rows.append(f"| {len(audio) / 16000:.1f} s | {cells} | {ratios} |")
    return rows


def base_table(base: str, repeats: int) -> str:
    """`table` on `base`'s backend (code and checkpoints), measured in a subprocess."""
    root = Path(__file__).resolve().parent.parent
    with tempfile.TemporaryDirectory() as tmp:
        archive = subprocess.run(["git", "-C", str(root), "archive", base, "backend"], capture_output=True, check=True)
        subprocess.run(["tar", "-x", "-C", tmp], input=archive.stdout, check=True)
        env = dict(os.environ, PYTHONPATH=str(Path(tmp) / "backend"))
        done = subprocess.run([sys.executable, __file__, "--repeats", str(repeats)], env=env, capture_output=True,
                              text=True, check=True)
    return done.stdout.strip().split("\n\n", 1)[1]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--base", help="git revision whose code and checkpoints are measured first ('before')")
    args = parser.parse_args()
    before = base_table(args.base, args.repeats) if args.base else None
    rows = table(args.repeats)
    print(f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, load {os.getloadavg()[0]:.2f}; "
          f"{args.repeats} repeats\n")
    if before is not None:
        print(f"before (`{args.base}`):\n\n{before}\n\nnow:\n")
    print("\n".join(rows))


if __name__ == "__main__":
    main()
