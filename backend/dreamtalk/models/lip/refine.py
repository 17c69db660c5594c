"""Refine a whole sequence: sliding windows through the network, blended back, mouth replaced."""

from __future__ import annotations

import numpy as np
import torch

from ..emodiff.conditions import fit_style
from ..windows import blend, cut, window_starts
from .model import MOUTH_INDEX, LipModel

MAX_BATCH = 1024  # windows per forward pass


def fit_styles(styles: np.ndarray, count: int, frames: int) -> np.ndarray:
    """`(count, frames, P)` from one `(K, P)` clip or `(count, K, P)` clips, each fitted as EmoDiff fits
    a style clip (`conditions.fit_style`: centred crop, or resampling when shorter)."""
    styles = np.asarray(styles, np.float32)
    if styles.ndim == 2:
        return np.repeat(fit_style(styles, frames)[None], count, axis=0)
    return np.stack([fit_style(clip, frames) for clip in styles])


def window_centres(model: LipModel, frames: int) -> np.ndarray:
    """Seconds at the centre of each refiner window (to pick a style per window)."""
    starts = window_starts(frames, model.cfg.window, model.cfg.overlap)
    return (np.asarray(starts) + model.cfg.window / 2) / model.cfg.fps


def refine(model: LipModel, features: np.ndarray, x: np.ndarray, styles: np.ndarray) -> np.ndarray:
    """`x (T, P)` raw curves, or K takes `(K, T, P)` of the same audio -> a copy with the MOUTH group refined.

    `features (T, A)` audio features of the model's front end; `styles` raw style frames, one clip
    `(K, P)` or one per window `(W, K, P)` (see `window_centres`). Every take's windows go through the
    network together, on the model's device."""
    cfg = model.cfg
    x = np.asarray(x, np.float32)
    takes = x if x.ndim == 3 else x[None]
    frames = takes.shape[1]
    starts = window_starts(frames, cfg.window, cfg.overlap)
    audio = cut(np.asarray(features, np.float32), starts, cfg.window, cfg.audio_context)
    style = model.normalize(fit_styles(styles, len(starts), cfg.style_frames))
    mouth = np.concatenate([cut(model.normalize(take)[:, MOUTH_INDEX], starts, cfg.window) for take in takes])
    count = len(takes)
    windows, logits = _run_windows(model, np.tile(audio, (count, 1, 1)), mouth, np.tile(style, (count, 1, 1)))
    out = takes.copy()
    for k in range(count):
        part = slice(k * len(starts), (k + 1) * len(starts))
        refined = blend(windows[part], starts, frames, cfg.overlap)
        out[k][:, MOUTH_INDEX] = np.clip(refined * model.std[MOUTH_INDEX] + model.mean[MOUTH_INDEX], 0.0, 1.0)
        if logits is not None:
            probability = blend(1.0 / (1.0 + np.exp(-logits[part][..., None])), starts, frames, cfg.overlap)
            out[k][:, :52] = enforce_detected(out[k][:, :52], probability[:, 0], cfg)
    return out if x.ndim == 3 else out[0]


def _run_windows(model: LipModel, audio: np.ndarray, mouth: np.ndarray, style: np.ndarray
                 ) -> tuple[np.ndarray, np.ndarray | None]:
    """The network over `(W, ...)` windows in chunks of MAX_BATCH, on the model's device: the refined
    mouth windows and, for a model with a closure head, its frame-wise closure logits (else None)."""
    device, outs, logits = model.device, [], []
    detect = model.cfg.closure_head and model.cfg.enforce
    model.net.eval()
    with torch.inference_mode():
        for lo in range(0, len(mouth), MAX_BATCH):
            part = slice(lo, lo + MAX_BATCH)
            inputs = tuple(torch.from_numpy(a[part]).to(device) for a in (audio, mouth, style))
            mouth_out, logit = model.net.refine(*inputs) if detect else (model.net(*inputs), None)
            outs.append(mouth_out.cpu().numpy())
            logits.append(None if logit is None else logit.cpu().numpy())
    return np.concatenate(outs), (None if logits[0] is None else np.concatenate(logits))


def closure_strength(probability: np.ndarray, cfg) -> np.ndarray:
    """`(T,)` 0..1: how firmly to close the lips for a detector probability (a ramp of `closure_width`
    centred on `closure_on`; the articulation detector's ramp)."""
    from ..articulation.enforce import ramp

    return ramp(probability, cfg.closure_on, cfg.closure_width)


def enforce_detected(values: np.ndarray, probability: np.ndarray, cfg) -> np.ndarray:
    """`(T, 52)` values with the lips closed where the detector hears a p/b/m, as the procedural engine
    closes them on aligned phones (`procedural.coarticulation.enforce_closures`, by degrees)."""
    from ...procedural.coarticulation import enforce_closures

    return enforce_closures(values, closure_strength(probability, cfg))
