"""The denoiser bound to fixed conditions for sampling: the same function as `Denoiser.forward`, with the
work that does not change from step to step done once.

Over the steps of one sampling call only x_t and t change. The merged condition track is
`audio + track + position` (step-independent; the audio MLP alone is 8 % of a step) plus the step
embedding, one `(d,)` vector per row; and every decoder layer's cross-attention projects that memory
linearly (`nn.TransformerDecoderLayer` normalises the queries, not the memory), so its keys and values are
`W (base + step) + b = W base + (W step + b)`: `W base` is computed once and each step adds one vector per
row. The rest of the layer runs as in `nn.TransformerDecoderLayer` (pre-norm, GELU, dropout off), its linear
layers through `learning.fast_linear` (oneDNN with packed weights on the CPU). Outputs agree with
`Denoiser.forward` to float32 rounding (tests/test_emodiff_sampling.py).
"""

from __future__ import annotations

import torch
from torch.nn import functional as F

from ...learning.fast_linear import linear
from .denoiser import Conditions, Denoiser, step_embedding


def _heads(x: torch.Tensor, heads: int) -> torch.Tensor:
    """`(B, N, d)` -> `(B, heads, N, d / heads)`."""
    b, n, d = x.shape
    return x.view(b, n, heads, d // heads).transpose(1, 2)


def _attend(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, heads: int) -> torch.Tensor:
    """Multi-head scaled dot-product attention of `(B, N, d)` projections -> `(B, N, d)` (before out_proj)."""
    out = F.scaled_dot_product_attention(_heads(q, heads), _heads(k, heads), _heads(v, heads))
    return out.transpose(1, 2).reshape(q.shape)


class BoundDenoiser:
    """`fn(x_t (B, N, P), t (B,)) -> prediction (B, N, P)` of `denoiser` under `cond` (B rows), eval mode."""

    def __init__(self, denoiser: Denoiser, cond: Conditions) -> None:
        self.net, self.d, self.heads = denoiser, denoiser.cfg.width, denoiser.cfg.heads
        with torch.inference_mode():
            self.base = self._condition_base(cond)  # (B, N, d) memory without the step embedding
            self.memory_kv = [linear(self.base, layer.multihead_attn.in_proj_weight[self.d:])
                              for layer in denoiser.decoder.layers]  # per layer (B, N, 2d): W_kv base

    def _condition_base(self, cond: Conditions) -> torch.Tensor:
        net = self.net
        first, second = net.audio_in[0], net.audio_in[2]
        audio = linear(linear(cond.audio, first.weight, first.bias, gelu=True), second.weight, second.bias)
        audio = torch.where(cond.audio_keep[:, None, None], audio, net.null_audio)
        track = linear(cond.track, net.track_in.weight, net.track_in.bias)
        drop_style = (~cond.style_keep)[:, None, None] & net.is_style[None, :, None]
        track = torch.where(drop_style, net.null_style, track)
        return audio + track + net.position[None]

    def __call__(self, x_t: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        net, d = self.net, self.d
        if x_t.shape[1] != net.cfg.window:
            raise ValueError(f"denoiser expects windows of {net.cfg.window} frames, got {x_t.shape[1]}")
        with torch.inference_mode():
            step = net.step_mlp(step_embedding(t, d))  # (B, d)
            h = linear(x_t, net.x_in.weight, net.x_in.bias) + net.position[None]
            if net.cfg.condition_in_input:
                h = h + self.base + step[:, None]
            for layer, memory_kv in zip(net.decoder.layers, self.memory_kv):
                h = self._layer(layer, h, memory_kv, step)
            norm, out = net.out[0], net.out[1]
            return linear(F.layer_norm(h, (d,), norm.weight, norm.bias, norm.eps), out.weight, out.bias)

    def _layer(self, layer, h: torch.Tensor, memory_kv: torch.Tensor, step: torch.Tensor) -> torch.Tensor:
        """One `nn.TransformerDecoderLayer` (norm_first, GELU) in eval mode."""
        d, heads = self.d, self.heads
        sa, ca = layer.self_attn, layer.multihead_attn
        y = F.layer_norm(h, (d,), layer.norm1.weight, layer.norm1.bias, layer.norm1.eps)
        q, k, v = linear(y, sa.in_proj_weight, sa.in_proj_bias).chunk(3, dim=-1)
        h = h + linear(_attend(q, k, v, heads), sa.out_proj.weight, sa.out_proj.bias)
        y = F.layer_norm(h, (d,), layer.norm2.weight, layer.norm2.bias, layer.norm2.eps)
        q = linear(y, ca.in_proj_weight[:d], ca.in_proj_bias[:d])
        k, v = (memory_kv + F.linear(step, ca.in_proj_weight[d:], ca.in_proj_bias[d:])[:, None]).chunk(2, dim=-1)
        h = h + linear(_attend(q, k, v, heads), ca.out_proj.weight, ca.out_proj.bias)
        y = F.layer_norm(h, (d,), layer.norm3.weight, layer.norm3.bias, layer.norm3.eps)
        hidden = linear(y, layer.linear1.weight, layer.linear1.bias, gelu=True)
        return h + linear(hidden, layer.linear2.weight, layer.linear2.bias)


def bind(model, cond: Conditions):
    """`fn(x_t, t) -> prediction` of `model` under `cond`: a `BoundDenoiser` for an eval-mode `Denoiser`
    whose layers it reproduces (GELU, pre-norm), else the plain call `model(x_t, t, cond)`."""
    if isinstance(model, Denoiser) and not model.training and _standard_layers(model):
        return BoundDenoiser(model, cond)
    return lambda x_t, t: model(x_t, t, cond)


def _standard_layers(model: Denoiser) -> bool:
    return all(layer.norm_first and layer.activation is F.gelu for layer in model.decoder.layers)
