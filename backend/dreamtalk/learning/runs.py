"""The files of a training run, shared by every trainer (EmoDiff, lip refiner, neural renderer).

For a run whose resumable checkpoint is `out` (e.g. `emodiff.pt`), all in `out`'s folder: `out` itself,
`out` with `.best` before its suffix (`emodiff.best.pt`, the lowest validation loss so far), and
`out` + `.log.jsonl` (one JSON line per logged step). A save killed half-way leaves an `atomic_write`
temp file (`.NAME.XXXX.part`): a run removes those of its own files before it starts, and a resumed run
cuts its log back to the checkpoint's step, so no step is logged twice.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from ..core.formats import atomic_write


@dataclass(frozen=True)
class RunFiles:
    """The files of the run whose resumable checkpoint is `out`."""

    out: Path

    @property
    def best(self) -> Path:
        return self.out.with_name(f"{self.out.stem}.best{self.out.suffix}")

    @property
    def log(self) -> Path:
        return self.out.with_name(self.out.name + ".log.jsonl")

    def remove_stale_parts(self) -> list[Path]:
        """Delete the temp files an interrupted atomic write of this run's files left behind."""
        stale = [path for target in (self.out, self.best, self.log)
                 for path in target.parent.glob(f".{target.name}.*.part")]
        for path in stale:
            path.unlink(missing_ok=True)
        return stale

    def restart_log(self, step: int) -> None:
        """Keep only the log records up to `step` (the checkpoint a run resumes from; 0: a fresh run)."""
        if not self.log.is_file():
            return
        kept = [line for line in self.log.read_text(encoding="utf-8").splitlines() if _step_of(line) <= step]
        atomic_write(self.log, lambda handle: handle.write("".join(f"{line}\n" for line in kept).encode()))

    def append(self, record: dict) -> None:
        with open(self.log, "a", encoding="utf-8") as handle:
            handle.write(json.dumps(record) + "\n")


def _step_of(line: str) -> float:
    try:
        return float(json.loads(line)["step"])
    except (ValueError, KeyError, TypeError):
        return float("inf")  # an unreadable line (a write cut short) is dropped
