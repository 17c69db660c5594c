"""`linear(x, weight, bias, gelu)`: `F.linear` (then exact GELU) for inference, faster on the CPU.

On the CPU, PyTorch runs float32 linear layers through MKL's sgemm, which on the AMD EPYC machines this
project is measured on reaches 70-210 GFLOP/s on two cores; oneDNN, given the weight once in its own
blocked layout, reaches 160-500 GFLOP/s on the same products (bench/bench_backend.py; the shapes of the
EmoDiff denoiser and the Whisper encoder), with the same float32 arithmetic (differences at float32
rounding, about 1e-6 relative) and the GELU fused. So on the CPU, outside autograd, the weight is packed
once (`torch.ops.mkldnn._reorder_linear_weight`, what torch.compile's CPU backend uses) and kept for as
long as the weight lives and is unchanged (its version counter is checked on every call, so an optimizer
step in between re-packs it). Anywhere else (CUDA, gradients, other dtypes, a torch without these
operators, or $DREAMTALK_ONEDNN=0) it is exactly `F.linear` (+ `F.gelu`).
"""

from __future__ import annotations

import os
import threading
import weakref

import torch
from torch.nn import functional as F

_PACKED: dict[int, tuple[weakref.ref, int, torch.Tensor]] = {}  # id(weight) -> (weight ref, version, packed)
_LOCK = threading.Lock()


def _onednn_ops() -> bool:
    ops = getattr(torch.ops, "mkldnn", None)
    try:
        return (torch.backends.mkldnn.is_available() and ops is not None
                and hasattr(ops, "_linear_pointwise") and hasattr(ops, "_reorder_linear_weight"))
    except (AttributeError, RuntimeError):
        return False


ENABLED = os.environ.get("DREAMTALK_ONEDNN", "1") != "0" and _onednn_ops()


def usable(x: torch.Tensor, weight: torch.Tensor) -> bool:
    """True when `linear` takes the packed oneDNN path for these operands."""
    return (ENABLED and x.device.type == "cpu" and x.dtype == torch.float32 and weight.dtype == torch.float32
            and not (torch.is_grad_enabled() and (x.requires_grad or weight.requires_grad)))


def packed(weight: torch.Tensor) -> torch.Tensor:
    """oneDNN's blocked copy of `weight (out, in)`, made once per weight and version."""
    key, version = id(weight), weight._version
    entry = _PACKED.get(key)
    if entry is not None and entry[0]() is weight and entry[1] == version:
        return entry[2]
    with torch.inference_mode():
        blocked = torch.ops.mkldnn._reorder_linear_weight(weight.detach(), None)
    with _LOCK:
        _PACKED[key] = (weakref.ref(weight, lambda _, key=key: _PACKED.pop(key, None)), version, blocked)
    return blocked


def linear(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None = None, gelu: bool = False) -> torch.Tensor:
    """`F.linear(x, weight, bias)`, followed by exact GELU when `gelu`; `x (..., in)` -> `(..., out)`."""
    if not usable(x, weight):
        y = F.linear(x, weight, bias)
        return F.gelu(y) if gelu else y
    flat = x.reshape(-1, x.shape[-1])
    y = torch.ops.mkldnn._linear_pointwise(flat, packed(weight), None if bias is None else bias.detach(),
                                           "gelu" if gelu else "none", [], "none" if gelu else "")
    return y.reshape(*x.shape[:-1], weight.shape[0])
