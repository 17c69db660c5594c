"""Classifier-free guidance as a wrapper (Ho & Salimans 2022; MDM; k-diffusion's CFGDenoiser).

pred = c + (s - 1)(c - u_style) + (a - 1)(c - u_audio), where u_style / u_audio are passes with the
style / audio replaced by their learned null embeddings. All passes run in one batched forward;
with s = a = 1 the wrapper is the plain conditional model (a single pass).
"""

from __future__ import annotations

from collections.abc import Callable

import torch

from .denoiser import Conditions
from .inference import bind


def guided(
    model: Callable[[torch.Tensor, torch.Tensor, Conditions], torch.Tensor],
    cond: Conditions,
    scale: float = 1.0,
    audio_scale: float = 1.0,
) -> Callable[[torch.Tensor, torch.Tensor], torch.Tensor]:
    """`fn(x_t (B, N, P), t (B,)) -> prediction` with guidance scales on style and audio. The conditions
    are bound to the model once (`inference.bind`), so call this once per sampling call, not per step."""
    if scale == 1.0 and audio_scale == 1.0:
        return bind(model, cond)
    parts = [cond]
    if scale != 1.0:
        parts.append(Conditions(cond.audio, cond.track, torch.zeros_like(cond.style_keep), cond.audio_keep))
    if audio_scale != 1.0:
        parts.append(Conditions(cond.audio, cond.track, cond.style_keep, torch.zeros_like(cond.audio_keep)))
    count = len(parts)
    batched = bind(model, Conditions.cat(parts))

    def fn(x_t: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        out = batched(x_t.repeat(count, 1, 1), t.repeat(count)).chunk(count)
        pred, rest = out[0], list(out[1:])
        if scale != 1.0:
            pred = pred + (scale - 1.0) * (out[0] - rest.pop(0))
        if audio_scale != 1.0:
            pred = pred + (audio_scale - 1.0) * (out[0] - rest.pop(0))
        return pred

    return fn
