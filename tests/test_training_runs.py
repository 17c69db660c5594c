"""What both trainers share (models.training): no stale temp files, a loss log without repeated steps
after a resume, a validation loss on held-out clips with the best checkpoint kept."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from dreamtalk.models.emodiff.config import DiffusionConfig, TrainConfig
from dreamtalk.models.emodiff.model import EmoDiff
from dreamtalk.models.emodiff.train import train as train_emodiff
from dreamtalk.models.lip.config import LipRefinerConfig, LipTrainConfig
from dreamtalk.models.lip.model import LipModel
from dreamtalk.models.lip.train import train as train_lip
from emodiff_fixtures import TINY_FRONT_END, tiny_clips, tiny_config


class Killed(BaseException):
    """Stands in for the process being killed (a KeyboardInterrupt-like exit, no clean-up code runs)."""


def _run(kind: str, out, steps: int, report=None, val_clips=None, save_every: int = 2):
    if kind == "emodiff":
        tcfg = TrainConfig(steps=steps, batch=4, log_every=1, save_every=save_every, val_batches=2)
        return train_emodiff(tiny_clips(), out, tiny_config(), DiffusionConfig(train_steps=100), tcfg,
                             fe_name=TINY_FRONT_END, report=report, val_clips=val_clips)
    cfg = LipRefinerConfig(audio_dim=6, hidden=8, lstm_layers=1, style_frames=8)
    tcfg = LipTrainConfig(steps=steps, batch=8, log_every=1, save_every=save_every, val_batches=2)
    return train_lip(tiny_clips(), out, TINY_FRONT_END, cfg, tcfg, report=report, val_clips=val_clips)


def _log(out) -> list[dict]:
    return [json.loads(line) for line in out.with_name(out.name + ".log.jsonl").read_text().splitlines()]


@pytest.mark.parametrize("kind", ["emodiff", "lip"])
def test_stale_part_files_of_a_killed_save_are_removed_when_a_run_starts(tmp_path, kind):
    out = tmp_path / "model.pt"
    stale = [tmp_path / ".model.pt.k3j2h1.part", tmp_path / ".model.best.pt.x9.part",
             tmp_path / ".model.pt.log.jsonl.q1.part"]  # what atomic_write leaves when killed mid-save
    other = tmp_path / ".other.pt.abc.part"  # not this run's: left alone
    for path in [*stale, other]:
        path.write_bytes(b"half a checkpoint")
    _run(kind, out, steps=1)
    assert [p.exists() for p in stale] == [False, False, False] and other.exists()


@pytest.mark.parametrize("kind", ["emodiff", "lip"])
def test_a_resumed_run_logs_every_step_exactly_once(tmp_path, kind):
    out = tmp_path / "model.pt"

    def kill_at_step_4(step, total, loss):  # steps 1-3 logged, checkpoint at step 2
        if step == 4:
            raise Killed

    with pytest.raises(Killed):
        _run(kind, out, steps=6, report=kill_at_step_4)
    assert [r["step"] for r in _log(out)] == [1, 2, 3]
    assert torch.load(out, weights_only=True)["step"] == 2
    _run(kind, out, steps=6)
    log = _log(out)
    assert [r["step"] for r in log] == [1, 2, 3, 4, 5, 6]
    assert [r["loss"] for r in log] == pytest.approx(torch.load(out, weights_only=True)["losses"])
    (tmp_path / "fresh.pt").write_bytes(out.read_bytes())
    (tmp_path / "fresh.pt.log.jsonl").write_text(out.with_name(out.name + ".log.jsonl").read_text())
    _run(kind, tmp_path / "fresh.pt", steps=6)  # already at step 6: nothing to add, nothing repeated
    assert [r["step"] for r in _log(tmp_path / "fresh.pt")] == [1, 2, 3, 4, 5, 6]


@pytest.mark.parametrize("kind", ["emodiff", "lip"])
def test_validation_loss_is_logged_and_the_best_checkpoint_kept(tmp_path, kind):
    out = tmp_path / "model.pt"
    held_out = tiny_clips(count=3, seed=5)
    _run(kind, out, steps=6, val_clips=held_out)
    val = {r["step"]: r["val_loss"] for r in _log(out) if "val_loss" in r}
    assert sorted(val) == [2, 4, 6] and all(np.isfinite(v) for v in val.values())
    best_step = min(val, key=val.get)
    best = torch.load(tmp_path / "model.best.pt", weights_only=True)
    assert best["step"] == best_step and best["val_loss"] == pytest.approx(val[best_step])
    model_class = EmoDiff if kind == "emodiff" else LipModel
    assert model_class.load(tmp_path / "model.best.pt").front_end == TINY_FRONT_END
    _run(kind, out, steps=8, val_clips=held_out)  # resumed: the best so far is read back, not forgotten
    val.update({r["step"]: r["val_loss"] for r in _log(out) if "val_loss" in r})
    best = torch.load(tmp_path / "model.best.pt", weights_only=True)
    assert sorted(val) == [2, 4, 6, 8] and best["step"] == min(val, key=val.get)


def test_without_held_out_clips_there_is_no_best_checkpoint(tmp_path):
    _run("emodiff", tmp_path / "model.pt", steps=2)
    assert not (tmp_path / "model.best.pt").exists()
    assert all("val_loss" not in r for r in _log(tmp_path / "model.pt"))
