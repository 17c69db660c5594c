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
    """`x (T, P)` raw curves -> a copy with the MOUTH group refined.

    `features (T, A)` audio features of the model's front end; `styles` raw style frames, one clip
    `(K, P)` or one per window `(W, K, P)` (see `window_centres`)."""
    cfg = model.cfg
    x = np.asarray(x, np.float32)
    frames = len(x)
    starts = window_starts(frames, cfg.window, cfg.overlap)
    z = model.normalize(x)
    audio = cut(np.asarray(features, np.float32), starts, cfg.window, cfg.audio_context)
    mouth = cut(z[:, MOUTH_INDEX], starts, cfg.window)
    style = model.normalize(fit_styles(styles, len(starts), cfg.style_frames))
    outs, logits = [], []
    model.net.eval()
    with torch.inference_mode():
        for lo in range(0, len(starts), MAX_BATCH):
            part = slice(lo, lo + MAX_BATCH)
            inputs = (torch.from_numpy(audio[part]), torch.from_numpy(mouth[part]), torch.from_numpy(style[part]))
            mouth_out, logit = model.net.refine(*inputs) if cfg.closure_head else (model.net(*inputs), None)
            outs.append(mouth_out.numpy())
            logits.append(None if logit is None else logit.numpy())
    refined = blend(np.concatenate(outs), starts, frames, cfg.overlap)
    out = x.copy()
    out[:, MOUTH_INDEX] = refined * model.std[MOUTH_INDEX] + model.mean[MOUTH_INDEX]
    out[:, MOUTH_INDEX] = np.clip(out[:, MOUTH_INDEX], 0.0, 1.0)
    if logits[0] is not None:
        probability = blend(1.0 / (1.0 + np.exp(-np.concatenate(logits)[..., None])), starts, frames, cfg.overlap)
        out[:, :52] = enforce_detected(out[:, :52], probability[:, 0], cfg)
    return out


def closure_strength(probability: np.ndarray, cfg) -> np.ndarray:
    """`(T,)` 0..1: how firmly to close the lips for a detector probability (a ramp of `closure_width`
    centred on `closure_on`)."""
    return np.clip((probability - cfg.closure_on) / cfg.closure_width + 0.5, 0.0, 1.0).astype(np.float32)


def enforce_detected(values: np.ndarray, probability: np.ndarray, cfg) -> np.ndarray:
    """`(T, 52)` values with the lips closed where the detector hears a p/b/m, as the procedural engine
    closes them on aligned phones (`procedural.coarticulation.enforce_closures`, by degrees)."""
    from ...procedural.coarticulation import enforce_closures

    return enforce_closures(values, closure_strength(probability, cfg))
