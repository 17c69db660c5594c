"""Training of the neural renderer on prepared data (`dreamtalk train renderer`).

Pairs (source, driving) from one clip; the generator refines part 1's frame towards the driving frame.
Losses (no downloaded network): pyramid L1, multi-scale SSIM, mouth-box L1, least-squares GAN with a
multi-scale patch discriminator from scratch plus feature matching (after a reconstruction warm-up),
equivariance under a random similarity of the driving side; VGG-19 perceptual only with a weights
file. Adam; bf16 autocast on CUDA; one process, or several through torchrun / DDP (NCCL on CUDA, gloo
on CPU). Checkpoints resume (`checkpoint.py`); the validation loss on held-out videos keeps the best
one (OUT with `.best` before its suffix); sample grids (source | part 1 | output | target) go to
OUT's folder, `<stem>.samples/`; losses to OUT + `.log.jsonl`.
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
import torch.distributed as dist
from torch.nn.parallel import DistributedDataParallel

from ...core.errors import InputError
from ...learning.distributed import Distributed, setup_distributed
from ...learning.runs import RunFiles
from . import checkpoint
from .conditioning import heatmaps, inputs_from_arrays, resize, to_images
from .config import NeuralRendererConfig, RendererTrainConfig, config_to_dict
from .data import PairSampler, Prefetcher, to_tensors
from .discriminator import MultiScaleDiscriminator
from .losses import (
    VGG19Features,
    discriminator_loss,
    equivariance_loss,
    feature_matching_loss,
    generator_gan_loss,
    perceptual_loss,
    random_similarity,
    reconstruction,
    transform_driving,
)
from .networks import NeuralGenerator
from .store import RendererData

Report = Callable[[int, int, dict[str, float]], None]


@dataclass
class Models:
    """The networks, their DDP wrappers (the networks themselves in one process) and optimizers."""

    generator: NeuralGenerator
    discriminator: MultiScaleDiscriminator
    g_step: torch.nn.Module  # what the generator step calls (DDP wrapper or the generator)
    d_step: torch.nn.Module
    opt_g: torch.optim.Optimizer
    opt_d: torch.optim.Optimizer
    vgg: VGG19Features | None = None


@dataclass
class RunState:
    step: int = 0
    history: list[dict] = field(default_factory=list)  # one record per log interval
    best_val_loss: float | None = None
    best_step: int | None = None
    data_wait: float = 0.0  # seconds this process waited for batches
    step_time: float = 0.0  # seconds of whole steps (data wait included)


def _autocast(device: torch.device, tcfg: RendererTrainConfig):
    if device.type == "cuda" and tcfg.precision == "bf16":
        return torch.autocast("cuda", dtype=torch.bfloat16)
    return contextlib.nullcontext()


def generator_step(models: Models, batch: dict[str, torch.Tensor], cfg: NeuralRendererConfig,
                   tcfg: RendererTrainConfig, gan_on: bool, gen: torch.Generator) -> tuple[dict, torch.Tensor, torch.Tensor]:
    """One generator update; returns the weighted terms, the output (detached) and the driving heatmaps."""
    inputs = inputs_from_arrays(batch, cfg.size, cfg.output_size)
    target = to_images(batch["target"])
    size = len(target)
    forward = random_similarity(size, gen).to(target.device) if tcfg.equivariance_weight > 0 else None
    if forward is not None:  # one forward of 2B frames: DDP wants one forward per backward
        moved = transform_driving(inputs, forward)
        inputs = type(inputs)(*(torch.cat([getattr(inputs, k), getattr(moved, k)]) for k in inputs.__dataclass_fields__))
    with _autocast(target.device, tcfg):
        out = models.g_step(inputs)
    image, core = out["image"].float(), out["core"].float()
    points = inputs.driving_points[:size]
    terms = reconstruction(image[:size], resize(target, cfg.output_size), points, tcfg)
    if cfg.upsample:
        terms |= {f"core_{k}": v for k, v in reconstruction(core[:size], resize(target, cfg.size), points, tcfg).items()}
    if forward is not None:
        terms["equivariance"] = tcfg.equivariance_weight * equivariance_loss(image[size:], image[:size], forward)
    maps = heatmaps(points, cfg.grid_size, cfg.heatmap_sigma)
    full_target = resize(target, cfg.output_size)
    if gan_on:
        terms |= _adversarial_terms(models, image[:size], full_target, maps, tcfg)
    if models.vgg is not None:
        terms["perceptual"] = tcfg.perceptual_weight * perceptual_loss(models.vgg, image[:size], full_target)
    loss = sum(terms.values())
    models.opt_g.zero_grad(set_to_none=True)
    loss.backward()
    torch.nn.utils.clip_grad_norm_(models.generator.parameters(), tcfg.grad_clip)
    models.opt_g.step()
    return terms, image[:size].detach(), maps


def _adversarial_terms(models: Models, image: torch.Tensor, target: torch.Tensor, maps: torch.Tensor,
                       tcfg: RendererTrainConfig) -> dict[str, torch.Tensor]:
    """GAN and feature-matching terms; the bare discriminator (no DDP sync: its step comes next)."""
    with _autocast(image.device, tcfg):
        fake = models.discriminator(image, maps)
        with torch.no_grad():
            real = models.discriminator(target, maps)
    fake = [[f.float() for f in scale] for scale in fake]
    real = [[r.float() for r in scale] for scale in real]
    return {"gan": tcfg.gan_weight * generator_gan_loss(fake),
            "feature_matching": tcfg.feature_matching_weight * feature_matching_loss(real, fake)}


def discriminator_step(models: Models, image: torch.Tensor, target: torch.Tensor, maps: torch.Tensor,
                       tcfg: RendererTrainConfig) -> torch.Tensor:
    """One discriminator update on real and generated frames (one batched forward)."""
    size = len(image)
    with _autocast(image.device, tcfg):
        scores = models.d_step(torch.cat([target, image]), torch.cat([maps, maps]))
    real = [[f[:size].float() for f in scale] for scale in scores]
    fake = [[f[size:].float() for f in scale] for scale in scores]
    loss = discriminator_loss(real, fake)
    models.opt_d.zero_grad(set_to_none=True)
    loss.backward()
    models.opt_d.step()
    return loss.detach()


@torch.no_grad()
def validation_loss(generator: NeuralGenerator, sampler: PairSampler, rows: np.ndarray, tcfg: RendererTrainConfig,
                    device: torch.device) -> float:
    """Mean reconstruction loss (L1 + SSIM + mouth, as weighted in training) over fixed held-out pairs."""
    was_training = generator.training
    generator.eval()
    cfg, totals = generator.cfg, []
    for start in range(0, len(rows), tcfg.batch):
        batch = to_tensors(sampler.gather(rows[start:start + tcfg.batch]), device, pin=False)
        inputs = inputs_from_arrays(batch, cfg.size, cfg.output_size)
        with _autocast(device, tcfg):
            image = generator(inputs)["image"].float()
        target = resize(to_images(batch["target"]), cfg.output_size)
        terms = reconstruction(image, target, inputs.driving_points, tcfg)
        totals.append(float(sum(terms.values())) * len(image))
    generator.train(was_training)
    return sum(totals) / len(rows)


@torch.no_grad()
def write_samples(path: Path, generator: NeuralGenerator, sampler: PairSampler, rows: np.ndarray,
                  device: torch.device, tcfg: RendererTrainConfig) -> None:
    """A PNG grid, one pair per row: source | part 1 | output | target (at the output size)."""
    from PIL import Image

    from ...core.formats import atomic_write

    cfg = generator.cfg
    was_training = generator.training
    generator.eval()
    arrays = sampler.gather(rows)
    batch = to_tensors(arrays, device, pin=False)
    with _autocast(device, tcfg):
        image = generator(inputs_from_arrays(batch, cfg.size, cfg.output_size))["image"].float()
    generator.train(was_training)
    side = cfg.output_size
    columns = [resize(to_images(batch[k]), side) for k in ("source", "warped")]
    columns += [image, resize(to_images(batch["target"]), side)]
    grid = torch.cat([torch.cat(list(c), 1) for c in columns], 2)  # (3, rows * side, 4 * side)
    pixels = (grid.clamp(0, 1) * 255 + 0.5).byte().permute(1, 2, 0).cpu().numpy()
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(path, lambda handle: Image.fromarray(pixels).save(handle, format="PNG"))


def samples_folder(out: Path) -> Path:
    """Where a run writes its sample grids (beside `RunFiles(out)`'s checkpoint, best checkpoint and log)."""
    return out.with_name(f"{out.stem}.samples")


def _build(cfg: NeuralRendererConfig, tcfg: RendererTrainConfig, payload: dict | None, device: torch.device,
           ddp: Distributed, vgg_weights: str | None) -> Models:
    generator = NeuralGenerator(cfg).to(device).train()
    discriminator = MultiScaleDiscriminator(cfg).to(device).train()
    opt_g = torch.optim.Adam(generator.parameters(), lr=tcfg.lr, betas=tcfg.betas)
    opt_d = torch.optim.Adam(discriminator.parameters(), lr=tcfg.disc_lr, betas=tcfg.betas)
    if payload is not None:
        generator.load_state_dict(payload["generator"])
        discriminator.load_state_dict(payload["discriminator"])
        opt_g.load_state_dict(payload["optimizer_g"])
        opt_d.load_state_dict(payload["optimizer_d"])
    ids = [device.index] if device.type == "cuda" else None
    g_step = DistributedDataParallel(generator, device_ids=ids) if ddp.world > 1 else generator
    d_step = DistributedDataParallel(discriminator, device_ids=ids) if ddp.world > 1 else discriminator
    vgg = VGG19Features.from_file(vgg_weights).to(device) if vgg_weights else None
    return Models(generator, discriminator, g_step, d_step, opt_g, opt_d, vgg)


def _save(out: Path, models: Models, state: RunState, tcfg: RendererTrainConfig, val: float | None) -> None:
    extra = {"discriminator": {k: v.detach().cpu() for k, v in models.discriminator.state_dict().items()},
             "optimizer_g": models.opt_g.state_dict(), "optimizer_d": models.opt_d.state_dict(),
             "step": state.step, "history": state.history, "train_config": config_to_dict(tcfg),
             "best_val_loss": state.best_val_loss, "best_step": state.best_step}
    if val is not None and (state.best_val_loss is None or val < state.best_val_loss):
        state.best_val_loss, state.best_step = val, state.step
        extra |= {"best_val_loss": val, "best_step": state.step}
        checkpoint.save(RunFiles(out).best, models.generator, extra | {"val_loss": val})
    checkpoint.save(out, models.generator, extra)


def _resume(out: Path, resume: bool) -> tuple[dict | None, RunState]:
    if not (resume and out.is_file()):
        return None, RunState()
    payload = checkpoint.read(out)
    if "optimizer_g" not in payload:
        raise InputError(f"{out} holds no training state (an exported checkpoint); pass --fresh or another --out")
    state = RunState(int(payload["step"]), list(payload["history"]), payload.get("best_val_loss"), payload.get("best_step"))
    return payload, state


def _device(device: str) -> tuple[torch.device, Distributed]:
    dev = torch.device(device)
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise InputError("--device cuda asked for, but torch sees no CUDA GPU")
    if dev.type == "cuda":
        torch.backends.cudnn.benchmark = True  # fixed shapes: let cuDNN pick the fastest 3-D convolutions
    ddp = setup_distributed(dev)
    if ddp.world > 1 and dev.type == "cuda":
        dev = torch.device("cuda", int(os.environ.get("LOCAL_RANK", "0")))
        torch.cuda.set_device(dev)
    return dev, ddp


def _samplers(data: RendererData, seed: int, tcfg: RendererTrainConfig) -> tuple[PairSampler, PairSampler | None, np.ndarray]:
    train_clips = [arrays for _, arrays in data.split("train")]
    if not train_clips:
        raise InputError(f"{data.root} has no training clips")
    val_clips = [arrays for _, arrays in data.split("val")]
    sampler = PairSampler(train_clips)
    held_out = PairSampler(val_clips) if val_clips else None
    rows = (held_out or sampler).indices(np.random.default_rng([seed, 7]), tcfg.val_pairs)
    return sampler, held_out, rows


def _log(files: RunFiles, state: RunState, recent: list[dict], val: float | None) -> None:
    record = {"step": state.step, **{k: float(np.mean([r[k] for r in recent if k in r])) for k in recent[-1]}}
    if val is not None:
        record["val_loss"] = val
    state.history.append(record)
    files.append(record)


@dataclass
class Run:
    """Everything one training run's loop works with."""

    models: Models
    state: RunState
    cfg: NeuralRendererConfig
    tcfg: RendererTrainConfig
    device: torch.device
    ddp: Distributed
    out: Path
    sampler: PairSampler  # training pairs
    held_out: PairSampler | None  # validation pairs (None: the data hold out no video)
    val_rows: np.ndarray  # the fixed pairs of the validation loss and the sample grids
    report: Report | None = None


def train(data: str | Path | RendererData, out: str | Path, cfg: NeuralRendererConfig | None = None,
          tcfg: RendererTrainConfig | None = None, device: str = "cpu", resume: bool = True,
          vgg_weights: str | None = None, report: Report | None = None) -> tuple[NeuralGenerator, RunState]:
    """Train (or resume from `out`) until `tcfg.steps`; returns the generator and where the run stands.
    A resumed run keeps its checkpoint's network config (the `cfg` given is then ignored)."""
    tcfg, out = tcfg or RendererTrainConfig(), Path(out)
    data = data if isinstance(data, RendererData) else RendererData(data)
    dev, ddp = _device(device)
    payload, state = _resume(out, resume)
    if ddp.main:  # leftovers of a save that was killed, and log lines past the checkpoint, go
        RunFiles(out).remove_stale_parts()
        RunFiles(out).restart_log(state.step)
    cfg = checkpoint.config_of(payload) if payload is not None else cfg or NeuralRendererConfig()
    if data.size != cfg.output_size:
        raise InputError(f"the data's frames are {data.size} px but this renderer outputs {cfg.output_size} px; "
                         f"prepare the data with --size {cfg.output_size}")
    torch.manual_seed(tcfg.seed)  # identical initial weights on every rank
    models = _build(cfg, tcfg, payload, dev, ddp, vgg_weights)
    run = Run(models, state, cfg, tcfg, dev, ddp, out, *_samplers(data, tcfg.seed, tcfg), report)
    rng = np.random.default_rng([tcfg.seed, ddp.rank, state.step])
    gen = torch.Generator().manual_seed(tcfg.seed * 1_000_003 + ddp.rank * 7919 + state.step)
    loader = Prefetcher(lambda: run.sampler.batch(rng, tcfg.batch), dev, tcfg.prefetch)
    try:
        _loop(run, loader, gen)
    finally:
        loader.close()
    if ddp.world > 1:
        dist.barrier()  # no rank leaves (and tears down the group) before rank 0 has written the checkpoint
    return models.generator.eval(), state


def _loop(run: Run, loader: Prefetcher, gen: torch.Generator) -> None:
    """Steps until the run's last; the main process reports, validates, logs, draws samples and saves."""
    state, tcfg, cfg = run.state, run.tcfg, run.cfg
    recent: list[dict] = []
    while state.step < tcfg.steps:
        start = time.perf_counter()
        batch, waited = loader.next()
        gan_on = tcfg.gan_weight > 0 and state.step >= tcfg.gan_start
        terms, image, maps = generator_step(run.models, batch, cfg, tcfg, gan_on, gen)
        if gan_on:
            full = resize(to_images(batch["target"]), cfg.output_size)
            terms["disc"] = discriminator_step(run.models, image, full, maps, tcfg)
        names = list(terms)
        values = torch.stack([terms[k].detach().float() for k in names]).tolist()  # one device sync per step
        recent.append(dict(zip(names, values)) | {"total": sum(v for k, v in zip(names, values) if k != "disc")})
        state.step += 1
        state.data_wait += waited
        state.step_time += time.perf_counter() - start
        if run.ddp.main:
            if run.report is not None:
                run.report(state.step, tcfg.steps, recent[-1])
            if _bookkeeping(run, recent):
                recent = []


def _bookkeeping(run: Run, recent: list[dict]) -> bool:
    """Validation, log line, sample grid and checkpoints when their step comes; True when it logged."""
    state, tcfg, files = run.state, run.tcfg, RunFiles(run.out)
    checkpoint_now = state.step % tcfg.save_every == 0 or state.step == tcfg.steps
    val = None
    if checkpoint_now and run.held_out is not None:
        val = validation_loss(run.models.generator, run.held_out, run.val_rows, tcfg, run.device)
    logged = state.step % tcfg.log_every == 0 or checkpoint_now
    if logged:
        _log(files, state, recent, val)
    if state.step % tcfg.sample_every == 0 or state.step == tcfg.steps:
        write_samples(samples_folder(run.out) / f"step_{state.step:07d}.png", run.models.generator,
                      run.held_out or run.sampler, run.val_rows[:4], run.device, tcfg)
    if checkpoint_now:
        _save(run.out, run.models, state, tcfg, val)
    return logged
