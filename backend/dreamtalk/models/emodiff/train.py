"""EmoDiff training: the simple DDPM loss (Ho et al. 2020) on eps or x0, plus an x0 velocity loss
(EDGE), with classifier-free-guidance condition dropout (style and audio independently, learned
null embeddings) and initial-state dropout. Adam, logged losses (JSON lines), a validation loss on a
held-out split with the best checkpoint kept, resumable checkpoints (`models.training`), CPU or CUDA,
several processes through torchrun / DDP (NCCL on CUDA, gloo on CPU).
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable
from functools import partial
from pathlib import Path

import numpy as np
import torch
import torch.distributed as dist
from torch.nn.parallel import DistributedDataParallel

from ...features import default_tag
from ...learning.distributed import setup_distributed
from ..pose import statistics
from ..training import start_run, train_loop
from .config import DenoiserConfig, DiffusionConfig, SamplerConfig, TrainConfig
from .data import Clip, WindowSampler, builtin_presets, emotion_presets
from .denoiser import Conditions, Denoiser
from .device_data import DeviceWindowSampler
from .model import EmoDiff
from .scheduler import Scheduler


def drop_conditions(batch: dict[str, torch.Tensor], cfg: DiffusionConfig, gen: torch.Generator) -> Conditions:
    """Training-time dropout: style / audio -> null embeddings, initial state -> valid bit 0."""
    size = batch["x"].shape[0]
    track = batch["track"].clone()
    where = gen.device  # the generator's device: the CPU, or the training device when the data lives there
    hide = (torch.rand(size, generator=gen, device=where) < cfg.p_drop_initial).to(track.device)
    track[hide, 0, :] = 0.0
    return Conditions(
        audio=batch["audio"], track=track,
        style_keep=torch.rand(size, generator=gen, device=where) >= cfg.p_drop_style,
        audio_keep=torch.rand(size, generator=gen, device=where) >= cfg.p_drop_audio,
    )


def diffusion_loss(
    model: Callable, scheduler: Scheduler, batch: dict[str, torch.Tensor], gen: torch.Generator,
    device: torch.device,
) -> torch.Tensor:
    """MSE to the target (eps or x0) + velocity_weight * MSE of frame-to-frame x0 differences."""
    cfg = scheduler.cfg
    cond = drop_conditions(batch, cfg, gen).to(device)
    x0 = batch["x"].to(device)
    t = torch.randint(0, cfg.train_steps, (x0.shape[0],), generator=gen, device=gen.device).to(device)
    noise = torch.randn(x0.shape, generator=gen, device=gen.device).to(device)
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
    mean, std = statistics([c.x for c in clips])
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


def validation_loss(net: Callable, scheduler: Scheduler, sampler: WindowSampler, tcfg: TrainConfig,
                    device: torch.device) -> float:
    """Mean diffusion loss over `tcfg.val_batches` batches of held-out windows; the windows, noise and
    timesteps are the same at every call, so the values are comparable from step to step."""
    was_training = net.training
    net.eval()
    losses = []
    with torch.no_grad():
        for index in range(tcfg.val_batches):
            batch = sampler.batch(np.random.default_rng([tcfg.seed, 1, index]), tcfg.batch)
            gen = torch.Generator().manual_seed(tcfg.seed * 1_000_003 + 424_242 + index)
            losses.append(float(diffusion_loss(net, scheduler, batch, gen, device)))
    net.train(was_training)
    return float(np.mean(losses))


def batches(clips: list[Clip], model: EmoDiff, tcfg: TrainConfig, dev: torch.device, rank: int, step: int
            ) -> tuple[Callable[[], dict[str, torch.Tensor]], torch.Generator]:
    """The training batches and the generator of the loss' noise: drawn on the device from a corpus kept
    there (`DeviceWindowSampler`) when `tcfg.device_data` says so (default: on CUDA), else built on the
    CPU (`WindowSampler`, the reproducible reference)."""
    seed = tcfg.seed * 1_000_003 + rank * 7919 + step
    on_device = tcfg.device_data if tcfg.device_data is not None else dev.type == "cuda"
    if on_device:
        sampler = DeviceWindowSampler(clips, model.cfg, model.mean, model.std, dev)
        gen = torch.Generator(device=dev).manual_seed(seed)
        return (lambda: sampler.batch(gen, tcfg.batch)), gen
    cpu_sampler = WindowSampler(clips, model.cfg, model.mean, model.std)
    rng = np.random.default_rng([tcfg.seed, rank, step])
    return (lambda: cpu_sampler.batch(rng, tcfg.batch)), torch.Generator().manual_seed(seed)


def autocast(tcfg: TrainConfig, dev: torch.device) -> Callable[[], contextlib.AbstractContextManager]:
    """bf16 autocast for the forward pass and loss when `tcfg.bf16` and the device is CUDA."""
    enabled = bool(tcfg.bf16) and dev.type == "cuda"
    return lambda: torch.autocast(dev.type, dtype=torch.bfloat16) if enabled else contextlib.nullcontext()


def train(
    clips: list[Clip],
    out: str | Path,
    dcfg: DenoiserConfig | None = None,
    diff: DiffusionConfig | None = None,
    tcfg: TrainConfig | None = None,
    fe_name: str | None = None,
    device: str = "cpu",
    resume: bool = True,
    report: Callable[[int, int, float], None] | None = None,
    val_clips: list[Clip] | None = None,
    scfg: SamplerConfig | None = None,
) -> EmoDiff:
    """Train (or resume from `out`) until `tcfg.steps`; files beside `out` as `models.training` says.
    `fe_name` is the tag of the front end that made the clips' features (None: the default front end);
    `val_clips` a held-out split for the validation loss and the best checkpoint; `scfg` the sampler
    settings stored with a new model (a resumed one keeps its own)."""
    tcfg, out = tcfg or TrainConfig(), Path(out)
    fe_name = fe_name or default_tag()
    dev = torch.device(device)
    ddp = setup_distributed(dev)
    if ddp.world > 1 and dev.type == "cuda":
        dev = torch.device("cuda", int(os.environ.get("LOCAL_RANK", "0")))
    torch.manual_seed(tcfg.seed)  # identical initial weights on every rank
    payload = EmoDiff.read_payload(out) if resume and out.is_file() else None
    model = _start(payload, clips, dcfg or DenoiserConfig(), diff or DiffusionConfig(), fe_name)
    if payload is None and scfg is not None:
        model.sampler = scfg
    net = model.denoiser.to(dev).train()
    wrapped = DistributedDataParallel(net) if ddp.world > 1 else net
    optimizer = torch.optim.Adam(net.parameters(), lr=tcfg.lr, weight_decay=tcfg.weight_decay)
    if payload is not None:
        optimizer.load_state_dict(payload["optimizer"])
    files, state = start_run(out, payload, EmoDiff, ddp.main)
    scheduler = Scheduler(model.diffusion)
    next_batch, gen = batches(clips, model, tcfg, dev, ddp.rank, state.step)
    precision = autocast(tcfg, dev)

    def train_step() -> float:
        with precision():
            loss = diffusion_loss(wrapped, scheduler, next_batch(), gen, dev)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(net.parameters(), tcfg.grad_clip)
        optimizer.step()
        return float(loss.detach())

    validate = None
    if val_clips:
        held_out = WindowSampler(val_clips, model.cfg, model.mean, model.std)
        validate = partial(validation_loss, net, scheduler, held_out, tcfg, dev)
    train_loop(model, files, state, tcfg, train_step, optimizer, validate, report, ddp.main)
    if ddp.world > 1:
        dist.barrier()  # no rank leaves (and tears down gloo) before rank 0 has written the checkpoint
    net.eval()
    return model
