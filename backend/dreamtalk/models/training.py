"""What every training run shares: its files, resuming, the loss log, the validation loss on a held-out
split and the best checkpoint (nanoGPT's `estimate_loss` and best-val checkpoint).

Files of a run whose checkpoint is `out` (e.g. `emodiff.pt`), all in `out`'s folder:

* `out`: the resumable checkpoint (model + step, losses, optimizer state), written every `save_every`
  steps and at the end;
* `out` with `.best` before its suffix (`emodiff.best.pt`): the checkpoint with the lowest validation
  loss so far (with its `val_loss`), written when a validation loss improves;
* `out` + `.log.jsonl`: one JSON line per logged step, `{"step", "loss"}` and, at checkpoints,
  `"val_loss"`. A resumed run first cuts the log back to the checkpoint's step, so no step appears
  twice; a fresh run starts a new log.

A save killed half-way leaves an `atomic_write` temp file (`.NAME.XXXX.part`); a run removes those of
its own files before it starts.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..core.errors import InputError
from ..learning.checkpoint_io import Checkpointed
from ..learning.runs import RunFiles


@dataclass
class RunState:
    """Where a run stands: the step reached, every training loss, the best validation loss so far."""

    step: int = 0
    losses: list[float] = field(default_factory=list)
    best_val_loss: float | None = None  # the lowest validation loss so far (its checkpoint is RunFiles.best)
    best_step: int | None = None

    @classmethod
    def resumed(cls, payload: dict[str, Any] | None, files: RunFiles, model_class: type[Checkpointed]) -> RunState:
        """The state saved in `payload` (None: a fresh run); the best loss is read from the best file
        itself, so a run killed between writing the two checkpoints stays consistent."""
        if payload is None:
            return cls()
        state = cls(int(payload["step"]), [float(x) for x in payload["losses"]])
        if files.best.is_file():
            try:
                best = model_class.read_payload(files.best)
                state.best_val_loss, state.best_step = float(best["val_loss"]), int(best["step"])
            except (InputError, KeyError, TypeError, ValueError):
                pass  # an unreadable best file is replaced at the next validation
        return state

    def training_state(self, optimizer, train_config: Any) -> dict[str, Any]:
        """What a checkpoint stores beside the model to resume from it."""
        return {"step": self.step, "losses": self.losses, "optimizer": optimizer.state_dict(),
                "train_config": asdict(train_config)}


def start_run(out: str | Path, payload: dict[str, Any] | None, model_class: type[Checkpointed],
              main: bool = True) -> tuple[RunFiles, RunState]:
    """Files and state of a run resumed from `payload` (or fresh); the main process also removes
    stale temp files and cuts the log back to where the checkpoint stands."""
    files = RunFiles(Path(out))
    state = RunState.resumed(payload, files, model_class)
    if main:
        files.remove_stale_parts()
        files.restart_log(state.step)
    return files, state


def train_loop(
    model: Checkpointed,
    files: RunFiles,
    state: RunState,
    tcfg: Any,
    train_step: Callable[[], float],
    optimizer,
    validate: Callable[[], float] | None = None,
    report: Callable[[int, int, float], None] | None = None,
    main: bool = True,
) -> None:
    """Run `train_step` (one optimizer step, returns its loss) until `tcfg.steps`; log every
    `tcfg.log_every` steps; every `tcfg.save_every` steps and at the end compute the validation loss
    (when `validate` is given), keep the best checkpoint and save the resumable one (main process only)."""
    while state.step < tcfg.steps:
        loss = train_step()
        state.step += 1
        state.losses.append(loss)
        if not main:
            continue
        if report is not None:
            report(state.step, tcfg.steps, loss)
        record: dict[str, float] = {}
        if state.step % tcfg.log_every == 0:
            record["loss"] = float(np.mean(state.losses[-tcfg.log_every:]))
        checkpoint = state.step % tcfg.save_every == 0 or state.step == tcfg.steps
        if checkpoint and validate is not None:
            record["val_loss"] = float(validate())
        if record:
            files.append({"step": state.step, **record})
        if checkpoint:
            save_checkpoint(model, files, state, optimizer, tcfg, record.get("val_loss"))


def save_checkpoint(model: Checkpointed, files: RunFiles, state: RunState, optimizer, tcfg: Any,
                    val_loss: float | None) -> None:
    """The resumable checkpoint, and the best one when `val_loss` is the lowest so far."""
    extra = state.training_state(optimizer, tcfg)
    model.save(files.out, extra)
    if val_loss is not None and (state.best_val_loss is None or val_loss < state.best_val_loss):
        state.best_val_loss, state.best_step = val_loss, state.step
        model.save(files.best, {**extra, "val_loss": val_loss})
