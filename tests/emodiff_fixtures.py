"""Tiny synthetic EmoDiff data and models for the EmoDiff tests (fast on 2 CPU cores)."""

import numpy as np

from dreamtalk.models.emodiff.config import DenoiserConfig, DiffusionConfig
from dreamtalk.models.emodiff.data import Clip, emotion_presets
from dreamtalk.models.emodiff.denoiser import Denoiser
from dreamtalk.models.emodiff.model import EmoDiff
from dreamtalk.models.pose import statistics

EMOS = ("neutral", "happy", "sad")
TINY_FRONT_END = "logmel-1"  # the tag tiny models record (their features are synthetic, 6-d)


def tiny_clips(count: int = 6, frames: int = 80, feat_dim: int = 6, seed: int = 0) -> list[Clip]:
    """Clips whose x is a smooth function of their features plus an emotion-specific offset."""
    rng = np.random.default_rng(seed)
    mixing = rng.normal(size=(feat_dim, 55)).astype(np.float32) * 0.1
    clips = []
    for i in range(count):
        t = np.arange(frames)[:, None]
        feats = np.sin(t * rng.uniform(0.1, 0.4, feat_dim) + rng.uniform(0, 6, feat_dim)).astype(np.float32)
        offset = (i % len(EMOS)) * 0.1
        x = np.clip(0.3 + feats @ mixing + offset, 0, 1).astype(np.float32)
        x[:, 52:] = (x[:, 52:] - 0.5) * 0.2
        clips.append(Clip(feats, x, EMOS[i % len(EMOS)]))
    return clips


def tiny_config(**kw) -> DenoiserConfig:
    base = dict(window=16, style_frames=8, width=32, layers=1, heads=2, audio_dim=6, dropout=0.0)
    base.update(kw)
    return DenoiserConfig(**base)


def tiny_model(seed: int = 0, prediction: str = "x0", **kw) -> EmoDiff:
    import torch

    torch.manual_seed(seed)
    clips = tiny_clips()
    cfg = tiny_config(**kw)
    mean, std = statistics([c.x for c in clips])
    model = EmoDiff(Denoiser(cfg), DiffusionConfig(train_steps=100, prediction=prediction), mean, std,
                    TINY_FRONT_END, emotion_presets(clips, cfg.style_frames))
    model.denoiser.eval()
    return model
