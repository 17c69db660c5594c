"""EmoDiff training, checkpoints, DDP (gloo, 2 CPU processes), engine adapter and CLI."""

import json
import os
import socket

import numpy as np
import pytest
import torch
import torch.multiprocessing as mp

from dreamtalk.core.arkit import ARKIT_NAMES
from dreamtalk.core.errors import InputError
from dreamtalk.models.emodiff.model import EmoDiff
from dreamtalk.models.emodiff.config import FORMAT_VERSION, DiffusionConfig, TrainConfig
from dreamtalk.models.emodiff.data import WindowSampler
from dreamtalk.models.emodiff.denoiser import Conditions
from dreamtalk.models.emodiff.scheduler import Scheduler
from dreamtalk.models.emodiff.train import diffusion_loss, train
from emodiff_fixtures import TINY_FRONT_END, tiny_clips, tiny_config, tiny_model


def _eval_loss(model, seed=123):
    """Loss on a fixed batch, noise and timesteps (no dropout randomness across calls)."""
    sampler = WindowSampler(tiny_clips(), model.cfg, model.mean, model.std)
    batch = sampler.batch(np.random.default_rng(seed), 64)
    with torch.no_grad():
        return float(diffusion_loss(model.denoiser.eval(), Scheduler(model.diffusion), batch,
                                    torch.Generator().manual_seed(seed), torch.device("cpu")))


@pytest.mark.parametrize("prediction", ["x0", "eps"])
def test_tiny_training_lowers_the_loss(tmp_path, prediction):
    torch.manual_seed(0)
    clips = tiny_clips()
    out = tmp_path / "m.pt"
    tcfg = TrainConfig(steps=0, batch=16, lr=2e-3, log_every=10, save_every=100)
    untrained = train(clips, out, tiny_config(), DiffusionConfig(train_steps=100, prediction=prediction), tcfg,
                      fe_name=TINY_FRONT_END)
    before = _eval_loss(untrained)
    tcfg.steps = 80
    trained = train(clips, out, tiny_config(), DiffusionConfig(train_steps=100, prediction=prediction), tcfg,
                    fe_name=TINY_FRONT_END, resume=False)
    after = _eval_loss(trained)
    assert after < 0.7 * before, (before, after)
    log = [json.loads(line) for line in (tmp_path / "m.pt.log.jsonl").read_text().splitlines()]
    assert [r["step"] for r in log][-1] == 80 and all(np.isfinite(r["loss"]) for r in log)


def test_checkpoint_round_trip_and_resume(tmp_path):
    out = tmp_path / "m.pt"
    tcfg = TrainConfig(steps=4, batch=4, save_every=2)
    model = train(tiny_clips(), out, tiny_config(), DiffusionConfig(train_steps=100), tcfg, fe_name=TINY_FRONT_END)
    payload = torch.load(out, map_location="cpu", weights_only=True)
    assert payload["format_version"] == FORMAT_VERSION and tuple(payload["arkit_names"]) == ARKIT_NAMES
    assert payload["audio_front_end"] == "logmel-1" and payload["step"] == 4
    loaded = EmoDiff.load(out)
    assert loaded.cfg == model.cfg and loaded.diffusion == model.diffusion
    assert np.array_equal(loaded.mean, model.mean) and np.array_equal(loaded.std, model.std)
    assert {"neutral", "happy", "sad", "angry"} <= set(loaded.presets)  # corpus + repository presets
    assert all(np.array_equal(loaded.presets[k], model.presets[k]) for k in model.presets)
    x, t = torch.randn(2, 16, 55), torch.tensor([3, 70])
    cond = Conditions(torch.randn(2, 16, 6), torch.randn(2, 16, 56), torch.ones(2, dtype=torch.bool),
                      torch.ones(2, dtype=torch.bool))
    with torch.no_grad():
        assert torch.equal(loaded.denoiser(x, t, cond), model.denoiser.eval()(x, t, cond))
    tcfg.steps = 7
    train(tiny_clips(), out, tiny_config(), DiffusionConfig(train_steps=100), tcfg, fe_name=TINY_FRONT_END)
    resumed = torch.load(out, map_location="cpu", weights_only=True)
    assert resumed["step"] == 7 and len(resumed["losses"]) == 7
    assert resumed["losses"][:4] == payload["losses"]


def test_bad_checkpoints_are_clear_errors(tmp_path):
    with pytest.raises(InputError, match="not found"):
        EmoDiff.load(tmp_path / "missing.pt")
    (tmp_path / "junk.pt").write_bytes(b"not a checkpoint")
    with pytest.raises(InputError, match="not a readable"):
        EmoDiff.load(tmp_path / "junk.pt")
    payload = tiny_model().to_dict()
    payload["format_version"] = 999
    torch.save(payload, tmp_path / "future.pt")
    with pytest.raises(InputError, match="format 999"):
        EmoDiff.load(tmp_path / "future.pt")


def _ddp_worker(rank: int, world: int, port: int, folder: str) -> None:
    os.environ.update(RANK=str(rank), WORLD_SIZE=str(world), MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
    torch.set_num_threads(1)
    out = os.path.join(folder, "ddp.pt")
    model = train(tiny_clips(), out, tiny_config(), DiffusionConfig(train_steps=100),
                  TrainConfig(steps=3, batch=4, save_every=3), fe_name=TINY_FRONT_END)
    flat = torch.cat([p.detach().flatten() for p in model.denoiser.parameters()])
    torch.save(flat, os.path.join(folder, f"params{rank}.pt"))
    torch.distributed.barrier()  # both ranks done with the group before either tears it down
    torch.distributed.destroy_process_group()


def test_ddp_gloo_two_processes_keep_replicas_identical(tmp_path):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    mp.spawn(_ddp_worker, args=(2, port, str(tmp_path)), nprocs=2, join=True)
    p0, p1 = torch.load(tmp_path / "params0.pt"), torch.load(tmp_path / "params1.pt")
    assert torch.equal(p0, p1)
    assert torch.load(tmp_path / "ddp.pt", weights_only=True)["step"] == 3
