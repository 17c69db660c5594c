"""EmoDiff training: the simple DDPM loss (Ho et al. 2020) on eps or x0, plus an x0 velocity loss
(EDGE), with classifier-free-guidance condition dropout (style and audio independently, learned
null embeddings) and initial-state dropout. Adam, logged losses (JSON lines), resumable
checkpoints, CPU or CUDA, several processes through torchrun / DDP (NCCL on CUDA, gloo on CPU).
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
import torch.distributed as dist
from torch.nn.parallel import DistributedDataParallel

from ...learning.distributed import setup_distributed
from .config import DenoiserConfig, DiffusionConfig, TrainConfig, config_to_dict
from .data import Clip, WindowSampler, builtin_presets, emotion_presets, statistics
from .denoiser import Conditions, Denoiser
from .features import DEFAULT_FRONT_END
from .model import STD_FLOOR, EmoDiff, load_payload, save
from .scheduler import Scheduler


def drop_conditions(batch: dict[str, torch.Tensor], cfg: DiffusionConfig, gen: torch.Generator) -> Conditions:
    """Training-time dropout: style / audio -> null embeddings, initial state -> valid bit 0."""
    size = batch["x"].shape[0]
    track = batch["track"].clone()
    hide = torch.rand(size, generator=gen) < cfg.p_drop_initial
    track[hide, 0, :] = 0.0
    return Conditions(
        audio=batch["audio"], track=track,
        style_keep=torch.rand(size, generator=gen) >= cfg.p_drop_style,
        audio_keep=torch.rand(size, generator=gen) >= cfg.p_drop_audio,
    )


def diffusion_loss(
    model: Callable, scheduler: Scheduler, batch: dict[str, torch.Tensor], gen: torch.Generator,
    device: torch.device,
) -> torch.Tensor:
    """MSE to the target (eps or x0) + velocity_weight * MSE of frame-to-frame x0 differences."""
    cfg = scheduler.cfg
    cond = drop_conditions(batch, cfg, gen).to(device)
    x0 = batch["x"].to(device)
    t = torch.randint(0, cfg.train_steps, (x0.shape[0],), generator=gen).to(device)
    noise = torch.randn(x0.shape, generator=gen).to(device)
    x_t = scheduler.add_noise(x0, noise, t)
    pred = model(x_t, t, cond)
    loss = torch.mean((pred - scheduler.target(x0, noise)) ** 2)
    if cfg.velocity_weight > 0:
        x0_hat = scheduler.to_x0(pred, x_t, t)
        vel = torch.diff(x0_hat, dim=1) - torch.diff(x0, dim=1)
        loss = loss + cfg.velocity_weight * torch.mean(vel**2)
    return loss


def new_model(clips: list[Clip], dcfg: DenoiserConfig, diff: DiffusionConfig, fe_name: str,
              use_builtin_presets: bool = True) -> EmoDiff:
    """A freshly initialised model with the corpus' statistics and emotion presets."""
    dcfg.audio_dim = int(clips[0].features.shape[1])
    mean, std = statistics(clips, STD_FLOOR)
    presets = emotion_presets(clips, dcfg.style_frames)  # from the corpus, overridden by the repo's presets
    presets.update(builtin_presets(dcfg.style_frames) if use_builtin_presets else {})
    return EmoDiff(Denoiser(dcfg), diff, mean, std, fe_name, presets)


def _start(payload: dict | None, clips: list[Clip], dcfg: DenoiserConfig, diff: DiffusionConfig,
           fe_name: str) -> EmoDiff:
    """The model to train: the checkpoint's (resume; its config wins) or a new one."""
    if payload is None:
        return new_model(clips, dcfg, diff, fe_name)
    model = EmoDiff.from_dict(payload)
    model.denoiser.train()
    return model


def _log(log_path: Path | None, record: dict) -> None:
    if log_path is not None:
        with open(log_path, "a", encoding="utf-8") as handle:
            handle.write(json.dumps(record) + "\n")


def train(
    clips: list[Clip],
    out: str | Path,
    dcfg: DenoiserConfig | None = None,
    diff: DiffusionConfig | None = None,
    tcfg: TrainConfig | None = None,
    fe_name: str = DEFAULT_FRONT_END,
    device: str = "cpu",
    resume: bool = True,
    report: Callable[[int, int, float], None] | None = None,
) -> EmoDiff:
    """Train (or resume from `out`) until `tcfg.steps`; checkpoints to `out`, losses to `out`.log.jsonl."""
    tcfg, out = tcfg or TrainConfig(), Path(out)
    dev = torch.device(device)
    ddp = setup_distributed(dev)
    if ddp.world > 1 and dev.type == "cuda":
        dev = torch.device("cuda", int(os.environ.get("LOCAL_RANK", "0")))
    torch.manual_seed(tcfg.seed)  # identical initial weights on every rank
    payload = load_payload(out) if resume and out.is_file() else None
    model = _start(payload, clips, dcfg or DenoiserConfig(), diff or DiffusionConfig(), fe_name)
    net = model.denoiser.to(dev).train()
    wrapped = DistributedDataParallel(net) if ddp.world > 1 else net
    optimizer = torch.optim.Adam(net.parameters(), lr=tcfg.lr, weight_decay=tcfg.weight_decay)
    step, losses = 0, []
    if payload is not None:
        optimizer.load_state_dict(payload["optimizer"])
        step, losses = int(payload["step"]), list(payload["losses"])
    sampler = WindowSampler(clips, model.cfg, model.mean, model.std)
    scheduler = Scheduler(model.diffusion)
    rng = np.random.default_rng([tcfg.seed, ddp.rank, step])
    gen = torch.Generator().manual_seed(tcfg.seed * 1_000_003 + ddp.rank * 7919 + step)
    log_path = out.with_name(out.name + ".log.jsonl") if ddp.main else None
    while step < tcfg.steps:
        loss = diffusion_loss(wrapped, scheduler, sampler.batch(rng, tcfg.batch), gen, dev)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(net.parameters(), tcfg.grad_clip)
        optimizer.step()
        step += 1
        losses.append(float(loss.detach()))
        if report is not None and ddp.main:
            report(step, tcfg.steps, losses[-1])
        if step % tcfg.log_every == 0:
            _log(log_path, {"step": step, "loss": float(np.mean(losses[-tcfg.log_every:]))})
        if ddp.main and (step % tcfg.save_every == 0 or step == tcfg.steps):
            save(model, out, {"step": step, "losses": losses, "optimizer": optimizer.state_dict(),
                              "train_config": config_to_dict(tcfg)})
    if ddp.world > 1:
        dist.barrier()  # no rank leaves (and tears down gloo) before rank 0 has written the checkpoint
    net.eval()
    return model
