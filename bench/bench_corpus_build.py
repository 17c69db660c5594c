"""Benchmark: `dreamtalk corpus build` of H hours (default 2) into a temporary folder, timed end to end.

Reports wall time for the synthesized part and for the real-speech part (forced alignment of the
asterisk-core-sounds-en prompts) separately, and the corpus size. Prints a markdown table row.
Usage: .venv/bin/python bench/bench_corpus_build.py [--hours 2] [--workers 2] [--no-real]
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import tempfile
import time
from dataclasses import replace
from pathlib import Path

from dreamtalk.corpus.build import BuildConfig, build


def folder_size(root: Path) -> int:
    return sum(p.stat().st_size for p in root.rglob("*") if p.is_file())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hours", type=float, default=2.0)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--no-real", action="store_true")
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="bench-corpus-"))
    try:
        cfg = BuildConfig(args.hours, seed=0, workers=args.workers, real=False)
        start = time.perf_counter()
        summary = build(root / "c", cfg)
        synth = time.perf_counter() - start
        real = 0.0
        if not args.no_real:
            start = time.perf_counter()
            summary = build(root / "c", replace(cfg, real=True))  # synthesized shards are reused
            real = time.perf_counter() - start
        size = folder_size(root / "c") / 2**20
    finally:
        shutil.rmtree(root, ignore_errors=True)
    print("| benchmark | machine | synthesized | real speech | total | utterances | size |")
    print("|---|---|---|---|---|---|---|")
    print(f"| corpus build {args.hours:g} h, {args.workers} workers | {platform.processor() or platform.machine()}, "
          f"{os.cpu_count()} cores | {synth:.0f} s | {real:.0f} s | {synth + real:.0f} s | "
          f"{summary['utterances']} | {size:.0f} MB |")


if __name__ == "__main__":
    main()
