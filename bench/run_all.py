"""Run every `bench/bench_*.py` in turn and print their markdown rows (copy them into BENCHMARKS.md)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path


def main() -> int:
    failures = 0
    for script in sorted(Path(__file__).resolve().parent.glob("bench_*.py")):
        print(f"\n## {script.name}", flush=True)
        result = subprocess.run([sys.executable, str(script)], check=False)
        failures += result.returncode != 0
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
