"""Lip refiner training: mouth L1 + lip-gap L1 (what closure and AUC measure) + a closure term (gap
left open where the label's lips are closed) + an emotion term
that keeps the slow mouth offsets of the label (smile, frown, press, stretch, dimple window means),
so refinement sharpens articulation without flattening the emotion; with a closure head, + the
detector's cross-entropy against the labels' p/b/m closure frames. Adam, logged losses (JSON
lines), a validation loss on a held-out split with the best checkpoint kept, resumable
self-describing checkpoints (`models.training`)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import partial
from pathlib import Path

import numpy as np
import torch

from ...core.arkit import MOUTH
from ..emodiff.data import Clip
from ..pose import statistics
from ..training import start_run, train_loop
from .config import EMOTION_MOUTH, LipRefinerConfig, LipTrainConfig
from .data import LipWindowSampler
from .model import MOUTH_INDEX, LipModel
from .network import LipRefiner

GAP_SCALE = 0.1  # raw lip-gap units per loss unit
_M = {name: i for i, name in enumerate(MOUTH)}
EMOTION_INDEX = [_M[n] for n in EMOTION_MOUTH]


def torch_lip_gap(mouth: torch.Tensor) -> torch.Tensor:
    """`(..., T)` lip gap (as `evaluation.lipsync.lip_gap`) from raw `(..., T, M)` MOUTH-group values."""
    lower = 0.5 * (mouth[..., _M["mouthLowerDownLeft"]] + mouth[..., _M["mouthLowerDownRight"]])
    upper = 0.5 * (mouth[..., _M["mouthUpperUpLeft"]] + mouth[..., _M["mouthUpperUpRight"]])
    jaw = torch.relu(mouth[..., _M["jawOpen"]] - mouth[..., _M["mouthClose"]])
    return jaw + 0.3 * (lower + upper) + 0.2 * mouth[..., _M["mouthFunnel"]]


def detector_loss(logits: torch.Tensor, closure: torch.Tensor, tcfg: LipTrainConfig) -> torch.Tensor:
    """Cross-entropy of the closure head against the labels' closure frames (approach frames count half;
    frames of clips without phones are left out)."""
    known = ~torch.isnan(closure)
    if not known.any():
        return logits.sum() * 0.0
    weight = torch.tensor(tcfg.detector_pos_weight)
    return torch.nn.functional.binary_cross_entropy_with_logits(logits[known], closure[known], pos_weight=weight)


def lip_loss(model: LipModel, batch: dict[str, torch.Tensor], tcfg: LipTrainConfig) -> torch.Tensor:
    """Loss of one batch (normalised inputs, see `LipWindowSampler.batch`)."""
    refined, logits = model.net.refine(batch["audio"], batch["mouth"], batch["style"])
    target = batch["target"]
    mouth_loss = (refined - target).abs().mean()
    m_mean = torch.from_numpy(model.mean[MOUTH_INDEX])
    m_std = torch.from_numpy(model.std[MOUTH_INDEX])
    gap, target_gap = torch_lip_gap(refined * m_std + m_mean), torch_lip_gap(target * m_std + m_mean)
    gap_loss = (gap - target_gap).abs().mean()
    closed = (target_gap <= tcfg.closed_gap).float()
    closure_loss = (torch.relu(gap - target_gap) * closed).sum() / closed.sum().clamp(min=1.0)
    emo = (refined[..., EMOTION_INDEX].mean(1) - target[..., EMOTION_INDEX].mean(1)).abs().mean()
    loss = (mouth_loss + (tcfg.gap_weight * gap_loss + tcfg.closure_weight * closure_loss) / GAP_SCALE
            + tcfg.emotion_weight * emo)
    if logits is not None and "closure" in batch:
        loss = loss + tcfg.detector_weight * detector_loss(logits, batch["closure"], tcfg)
    return loss


def new_model(clips: Sequence[Clip], cfg: LipRefinerConfig, fe_name: str) -> LipModel:
    mean, std = statistics([c.x for c in clips])
    cfg.audio_dim = int(clips[0].features.shape[1])
    return LipModel(LipRefiner(cfg), mean, std, fe_name)


def validation_loss(model: LipModel, sampler: LipWindowSampler, tcfg: LipTrainConfig) -> float:
    """Mean loss over `tcfg.val_batches` batches of held-out windows (the same windows and perturbations
    at every call, so the values are comparable from step to step)."""
    model.net.eval()
    with torch.no_grad():
        losses = [float(lip_loss(model, sampler.batch(np.random.default_rng([tcfg.seed, 1, i]), tcfg.batch), tcfg))
                  for i in range(tcfg.val_batches)]
    model.net.train()
    return float(np.mean(losses))


def train(
    clips: Sequence[Clip],
    out: str | Path,
    fe_name: str,
    cfg: LipRefinerConfig | None = None,
    tcfg: LipTrainConfig | None = None,
    generated: Sequence[np.ndarray | None] | None = None,
    resume: bool = True,
    report: Callable[[int, int, float], None] | None = None,
    val_clips: Sequence[Clip] | None = None,
    labels: dict | None = None,
) -> LipModel:
    """Train (or resume from `out`) until `tcfg.steps`; files beside `out` as `models.training` says.
    `val_clips`: a held-out split for the validation loss (perturbed-label windows) and the best checkpoint.
    `labels`: the label settings of the clips (`LabelConfig.header()`), recorded in a new model's checkpoints."""
    tcfg, out = tcfg or LipTrainConfig(), Path(out)
    torch.manual_seed(tcfg.seed)
    payload = LipModel.read_payload(out) if resume and out.is_file() else None
    model = LipModel.from_dict(payload) if payload else new_model(clips, cfg or LipRefinerConfig(), fe_name)
    if payload is None:
        model.labels = labels
    model.net.train()
    optimizer = torch.optim.Adam(model.net.parameters(), lr=tcfg.lr)
    if payload is not None:
        optimizer.load_state_dict(payload["optimizer"])
    files, state = start_run(out, payload, LipModel)
    sampler = LipWindowSampler(clips, model.cfg, tcfg, model.mean, model.std, generated)
    rng = np.random.default_rng([tcfg.seed, state.step])

    def train_step() -> float:
        loss = lip_loss(model, sampler.batch(rng, tcfg.batch), tcfg)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.net.parameters(), tcfg.grad_clip)
        optimizer.step()
        return float(loss.detach())

    validate = None
    if val_clips:
        held_out = LipWindowSampler(val_clips, model.cfg, tcfg, model.mean, model.std)
        validate = partial(validation_loss, model, held_out, tcfg)
    train_loop(model, files, state, tcfg, train_step, optimizer, validate, report)
    model.net.eval()
    return model
