"""Training windows for the lip refiner.

A training item is one window of N frames: audio features with context, the label's style clip
(a K-frame clip of the same emotion and level from elsewhere in the corpus), the target mouth
(the label's MOUTH group) and an input mouth that needs correcting: EmoDiff's output for the same
utterance (when generated takes are given), the label plus noise only (`p_clean`: a right mouth is
left alone), or the label perturbed the way diffusion loosens the mouth (temporal blur that softens
closures, a time shift of a frame or two, amplitude scaling around the window mean, noise). The audio
features may get Gaussian noise (`audio_noise`) so the network does not lean on one voice's details.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from scipy.ndimage import gaussian_filter1d

from ...core.errors import InputError
from ..emodiff.data import Clip
from ..windows import cut
from .config import LipRefinerConfig, LipTrainConfig
from .model import MOUTH_INDEX


def perturb(mouth: np.ndarray, rng: np.random.Generator, tcfg: LipTrainConfig) -> np.ndarray:
    """A raw `(T, M)` mouth segment degraded like a diffusion sample (values stay in [0, 1])."""
    out = mouth.astype(np.float64)
    sigma = rng.uniform(0.0, tcfg.blur_frames)
    if sigma > 0.2:
        out = gaussian_filter1d(out, sigma, axis=0, mode="nearest")
    shift = int(rng.integers(-tcfg.max_shift, tcfg.max_shift + 1))
    out = np.roll(out, shift, axis=0)
    centre = out.mean(0, keepdims=True)
    out = centre + rng.uniform(0.6, 1.2) * (out - centre)
    out += rng.normal(0.0, tcfg.noise, out.shape)
    return np.clip(out, 0.0, 1.0).astype(np.float32)


class LipWindowSampler:
    """Random training windows (normalised) from clips, with optional generated takes per clip."""

    def __init__(self, clips: Sequence[Clip], cfg: LipRefinerConfig, tcfg: LipTrainConfig,
                 mean: np.ndarray, std: np.ndarray, generated: Sequence[np.ndarray | None] | None = None) -> None:
        keep = [i for i, c in enumerate(clips) if len(c.x) >= max(cfg.window, cfg.style_frames)]
        if not keep:
            raise InputError(f"no clip is at least {max(cfg.window, cfg.style_frames)} frames long")
        self.clips = [clips[i] for i in keep]
        self.generated = [generated[i] if generated else None for i in keep]
        self.cfg, self.tcfg, self.mean, self.std = cfg, tcfg, mean, std
        lengths = np.array([len(c.x) - cfg.window + 1 for c in self.clips], np.float64)
        self.weights = lengths / lengths.sum()
        self.by_group: dict[str, list[int]] = {}
        for i, c in enumerate(self.clips):
            self.by_group.setdefault(c.style_group, []).append(i)
        self.feature_std = np.concatenate([c.features for c in self.clips]).std(0).astype(np.float32)

    def _input_mouth(self, rng: np.random.Generator, index: int, start: int) -> np.ndarray:
        """Raw `(N, M)` input mouth: a generated take, the label plus noise, or a perturbed label."""
        n, gen = self.cfg.window, self.generated[index]
        if gen is not None and rng.random() < self.tcfg.p_generated:
            return gen[start: start + n][:, MOUTH_INDEX]
        if self.tcfg.p_clean > 0 and rng.random() < self.tcfg.p_clean:
            label = self.clips[index].x[start: start + n, MOUTH_INDEX]
            return np.clip(label + rng.normal(0.0, self.tcfg.noise, label.shape), 0.0, 1.0).astype(np.float32)
        margin = int(np.ceil(3 * self.tcfg.blur_frames)) + self.tcfg.max_shift
        x = self.clips[index].x[:, MOUTH_INDEX]
        segment = cut(x, [start], n, margin)[0]  # x[start - margin: start + n + margin], edge-padded
        return perturb(segment, rng, self.tcfg)[margin: margin + n]

    def _style(self, rng: np.random.Generator, index: int) -> np.ndarray:
        k = self.cfg.style_frames
        other = self.clips[int(rng.choice(self.by_group[self.clips[index].style_group]))]
        start = int(rng.integers(0, len(other.x) - k + 1))
        return other.x[start: start + k]

    def batch(self, rng: np.random.Generator, size: int) -> dict[str, torch.Tensor]:
        """`audio (B, N + 2c, A)`, `mouth (B, N, M)` input, `target (B, N, M)`, `style (B, K, P)`,
        `closure (B, N)` the labels' p/b/m closure frames (NaN for clips without phones)."""
        n, c = self.cfg.window, self.cfg.audio_context
        audio, mouth, target, style, closure = [], [], [], [], []
        for index in rng.choice(len(self.clips), size=size, p=self.weights):
            clip = self.clips[int(index)]
            start = int(rng.integers(0, len(clip.x) - n + 1))
            audio.append(cut(clip.features, [start], n, c)[0])
            mouth.append(self._input_mouth(rng, int(index), start))
            target.append(clip.x[start: start + n, MOUTH_INDEX])
            style.append(self._style(rng, int(index)))
            closure.append(np.full(n, np.nan, np.float32) if clip.closure is None else clip.closure[start: start + n])
        m_mean, m_std = self.mean[MOUTH_INDEX], self.std[MOUTH_INDEX]
        audio = np.stack(audio)
        if self.tcfg.audio_noise > 0:
            audio = audio + rng.normal(0.0, 1.0, audio.shape) * (self.tcfg.audio_noise * self.feature_std)
        return {
            "audio": torch.from_numpy(audio.astype(np.float32)),
            "mouth": torch.from_numpy(((np.stack(mouth) - m_mean) / m_std).astype(np.float32)),
            "target": torch.from_numpy(((np.stack(target) - m_mean) / m_std).astype(np.float32)),
            "style": torch.from_numpy(((np.stack(style) - self.mean) / self.std).astype(np.float32)),
            "closure": torch.from_numpy(np.stack(closure).astype(np.float32)),  # (B, N): NaN where unknown
        }
