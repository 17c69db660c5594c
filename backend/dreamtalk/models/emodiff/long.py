"""Long-term dynamic sampling as compositions around `sampling.sample` (EDGE, MDM, DREAM-Talk).

* `stitch_sample`: every window of the whole sequence is denoised in one batched pass per step and
  the windows' clean estimates are blended on their overlaps (`windows.blend_weights`) into ONE global
  estimate before the scheduler update (EDGE-style stitching at every step, MultiDiffusion averaging);
  there is one global x_t, so there is no seam to hide.
* `autoregressive_sample`: DREAM-Talk's continuation: window after window, each one starting from
  the previous window's last `overlap` frames (imposed as locked frames) and its first frame given as
  the initial state of the condition track.
Both honour globally locked frames (inpainting) and run all takes as one batch.
"""

from __future__ import annotations

from collections.abc import Callable

import torch

from ..windows import blend_weights
from .denoiser import Conditions
from .sampling import Denoise, sample
from .scheduler import Scheduler


def stitch_sample(
    window_denoise: Denoise,
    scheduler: Scheduler,
    noise: torch.Tensor,
    starts: list[int],
    window: int,
    overlap: int,
    locked: torch.Tensor | None = None,
    locked_mask: torch.Tensor | None = None,
    generator: torch.Generator | None = None,
    callback: Callable[[int, int], None] | None = None,
) -> torch.Tensor:
    """`noise (K, T, P)` -> `(K, T, P)`; `window_denoise` gets rows ordered take-major (k * W + w)."""
    takes, length, dim = noise.shape
    index = torch.tensor(starts)[:, None] + torch.arange(window)[None, :]  # (W, N)
    flat = index.flatten().to(noise.device)
    weights = torch.from_numpy(blend_weights(window, overlap)).repeat(len(starts)).to(noise.device)  # (W * N,)
    norm = torch.zeros(length, device=noise.device).index_add_(0, flat, weights)[None, :, None]

    def denoise(x: torch.Tensor, t: int) -> torch.Tensor:
        windows = x[:, flat].reshape(takes * len(starts), window, dim)
        x0 = window_denoise(windows, t).reshape(takes, len(starts) * window, dim)
        total = torch.zeros_like(x).index_add_(1, flat, x0 * weights[None, :, None])
        return total / norm

    return sample(denoise, scheduler, noise, locked, locked_mask, generator, callback)


def autoregressive_sample(
    make_denoise: Callable[[Conditions], Denoise],
    scheduler: Scheduler,
    noise: torch.Tensor,
    starts: list[int],
    cond: Conditions,
    locked: torch.Tensor | None = None,
    locked_mask: torch.Tensor | None = None,
    generator: torch.Generator | None = None,
    callback: Callable[[int, int], None] | None = None,
) -> torch.Tensor:
    """Window after window; `cond` holds one row per window (shared by the K takes)."""
    takes, length, dim = noise.shape
    window = cond.track.shape[1]
    out = torch.zeros_like(noise)
    done = torch.zeros(takes, length, dtype=torch.bool, device=noise.device)
    user = torch.zeros_like(done) if locked_mask is None else locked_mask.to(noise.device)
    known = out if locked is None else locked.to(noise.device)
    steps = len(scheduler.timesteps)
    for w, start in enumerate(starts):
        seg = slice(start, start + window)
        rows = cond.index(torch.full((takes,), w, dtype=torch.long))
        if start > 0:  # initial state = the already generated first frame of this window
            rows.track = rows.track.clone()
            rows.track[:, 0, :dim] = out[:, start]
            rows.track[:, 0, dim] = 1.0
        values = torch.where(done[:, seg, None], out[:, seg], known[:, seg])
        step_cb = None if callback is None else (lambda i, n, w=w: callback(w * steps + i, len(starts) * steps))
        x = sample(make_denoise(rows), scheduler, noise[:, seg], values, done[:, seg] | user[:, seg],
                   generator, step_cb)
        out[:, seg] = x
        done[:, seg] = True
    return out
