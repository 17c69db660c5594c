"""Classifier-free guidance as a wrapper (Ho & Salimans 2022; MDM; k-diffusion's CFGDenoiser).

pred = c + (s - 1)(c - u_style) + (a - 1)(c - u_audio), where u_style / u_audio are passes with the
style / audio replaced by their learned null embeddings. All passes run in one batched forward;
with s = a = 1 the wrapper is the plain conditional model (a single pass, bit-identical).
"""

from __future__ import annotations

from collections.abc import Callable

import torch

from .denoiser import Conditions


def guided(
    model: Callable[[torch.Tensor, torch.Tensor, Conditions], torch.Tensor],
    cond: Conditions,
    scale: float = 1.0,
    audio_scale: float = 1.0,
) -> Callable[[torch.Tensor, torch.Tensor], torch.Tensor]:
    """`fn(x_t (B, N, P), t (B,)) -> prediction` with guidance scales on style and audio."""
    if scale == 1.0 and audio_scale == 1.0:
        return lambda x_t, t: model(x_t, t, cond)
    parts = [cond]
    if scale != 1.0:
        parts.append(Conditions(cond.audio, cond.track, torch.zeros_like(cond.style_keep), cond.audio_keep))
    if audio_scale != 1.0:
        parts.append(Conditions(cond.audio, cond.track, cond.style_keep, torch.zeros_like(cond.audio_keep)))
    batched = Conditions.cat(parts)
    count = len(parts)

    def fn(x_t: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        out = model(x_t.repeat(count, 1, 1), t.repeat(count), batched).chunk(count)
        pred, rest = out[0], list(out[1:])
        if scale != 1.0:
            pred = pred + (scale - 1.0) * (out[0] - rest.pop(0))
        if audio_scale != 1.0:
            pred = pred + (audio_scale - 1.0) * (out[0] - rest.pop(0))
        return pred

    return fn
