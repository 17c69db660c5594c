"""Training windows drawn on the training device (issue 16 item 4).

`WindowSampler` builds each batch in Python on the CPU, one window at a time: on a GPU that costs more
than the step itself. `DeviceWindowSampler` keeps the whole corpus on the device (every clip's
normalised x and audio features concatenated into two tensors, with each clip's offset) and draws a
batch with a handful of tensor operations: clips chosen by their number of windows, a random start in
each, a style clip of the same style group with its own random start, all gathered by index arithmetic.
The draws follow the same distribution as `WindowSampler` (not the same numbers: its random stream is
a torch generator on the device); the batch has the same keys, shapes and condition-track layout.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch

from ...core.errors import InputError
from .config import DenoiserConfig
from .data import Clip
from .denoiser import style_slice


class DeviceWindowSampler:
    """Random normalised training windows, drawn and gathered on `device`."""

    def __init__(self, clips: Sequence[Clip], cfg: DenoiserConfig, mean: np.ndarray, std: np.ndarray,
                 device: torch.device | str) -> None:
        clips = [c for c in clips if len(c.x) >= cfg.window]
        if not clips:
            raise InputError(f"no clip is at least {cfg.window} frames long")
        self.cfg, self.device = cfg, torch.device(device)
        lengths = np.array([len(c.x) for c in clips], np.int64)
        self.offsets = self._tensor(np.concatenate([[0], np.cumsum(lengths)[:-1]]))
        self.lengths = self._tensor(lengths)
        self.x = self._tensor(np.concatenate([(c.x - mean) / std for c in clips]).astype(np.float32))
        self.features = self._tensor(np.concatenate([c.features for c in clips]).astype(np.float32))
        self.weights = self._tensor((lengths - cfg.window + 1).astype(np.float64))
        self.group_of, self.members, self.group_sizes = self._groups(clips)

    def _tensor(self, array: np.ndarray) -> torch.Tensor:
        return torch.from_numpy(np.ascontiguousarray(array)).to(self.device)

    def _groups(self, clips: Sequence[Clip]) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Each clip's style group, and per group its member clips (rows padded with the first member)."""
        names = sorted({c.style_group for c in clips})
        index = {name: i for i, name in enumerate(names)}
        members = [[i for i, c in enumerate(clips) if c.style_group == name] for name in names]
        width = max(len(m) for m in members)
        padded = np.array([m + [m[0]] * (width - len(m)) for m in members], np.int64)
        return (self._tensor(np.array([index[c.style_group] for c in clips], np.int64)), self._tensor(padded),
                self._tensor(np.array([len(m) for m in members], np.int64)))

    def draw(self, gen: torch.Generator, size: int) -> dict[str, torch.Tensor]:
        """The random choices of one batch: `clip`, `start`, `style_clip`, `style_start` (each `(B,)`)."""
        clip = torch.multinomial(self.weights, size, replacement=True, generator=gen)
        start = self._starts(gen, clip, self.cfg.window)
        group = self.group_of[clip]
        pick = (torch.rand(size, generator=gen, device=self.device) * self.group_sizes[group]).long()
        style_clip = self.members[group, torch.minimum(pick, self.group_sizes[group] - 1)]
        return {"clip": clip, "start": start, "style_clip": style_clip,
                "style_start": self._starts(gen, style_clip, self.cfg.style_frames)}

    def _starts(self, gen: torch.Generator, clip: torch.Tensor, frames: int) -> torch.Tensor:
        room = self.lengths[clip] - frames + 1
        return torch.minimum((torch.rand(len(clip), generator=gen, device=self.device) * room).long(), room - 1)

    def _gather(self, source: torch.Tensor, clip: torch.Tensor, start: torch.Tensor, frames: int) -> torch.Tensor:
        rows = (self.offsets[clip] + start)[:, None] + torch.arange(frames, device=self.device)
        return source[rows]

    def batch(self, gen: torch.Generator, size: int) -> dict[str, torch.Tensor]:
        """`x (B, N, P)`, `audio (B, N, F)`, `track (B, N, P + 1)`, all on the device (as `WindowSampler`)."""
        return self.assemble(self.draw(gen, size))

    def assemble(self, choice: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        """The batch for given random choices (see `draw`)."""
        n, k = self.cfg.window, self.cfg.style_frames
        x = self._gather(self.x, choice["clip"], choice["start"], n)
        style = self._gather(self.x, choice["style_clip"], choice["style_start"], k)
        track = torch.zeros(len(x), n, x.shape[-1] + 1, device=self.device)
        part = style_slice(self.cfg)
        track[:, part, :-1] = style[:, : part.stop - part.start]
        track[:, part, -1] = 1.0
        track[:, 0, :-1] = x[:, 0]
        track[:, 0, -1] = 1.0
        return {"x": x, "audio": self._gather(self.features, choice["clip"], choice["start"], n), "track": track}
