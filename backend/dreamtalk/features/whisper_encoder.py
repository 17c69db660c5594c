"""Whisper's audio encoder in PyTorch (Radford et al. 2022, "Robust Speech Recognition via Large-Scale
Weak Supervision", section 2.2), loaded from the CTranslate2 `model.bin` the whisper front end joins.

Log-mel: 80 Slaney mel bands of a 25 ms periodic-Hann STFT every 10 ms (centred frames, reflect padding),
log10 clamped to 8 below the maximum, scaled (x + 4) / 4 - the same as faster-whisper's FeatureExtractor.
Encoder: two 1-D convolutions (kernel 3; the second with stride 2) with GELU, sinusoidal positions, pre-LN
transformer blocks (self-attention + a 4x GELU MLP), a final LayerNorm. Mel frame i is centred at i * 10 ms,
so encoder state j is centred at j * 20 ms (`state_times`).

Unlike CTranslate2's encoder, this one accepts any number of mel frames up to Whisper's 3000 (30 s):
`encode(..., pad_to_window=False)` encodes exactly the audio (rounded up to the 20 ms state stride),
`pad_to_window=True` zero-pads to the 30 s window as Whisper and CTranslate2 do.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from ..core.errors import InputError
from ..learning.fast_linear import linear
from .ct2_weights import read_ct2


@dataclass(frozen=True)
class WhisperEncoderConfig:
    """Shape of a Whisper encoder ("base" by default) and of its log-mel input."""

    mels: int = 80  # mel bands
    width: int = 512  # model width
    heads: int = 8  # attention heads
    layers: int = 6  # transformer blocks
    positions: int = 1500  # states in a full window (30 s at 50 Hz)
    rate: int = 16000  # Hz: input sample rate
    hop: int = 160  # samples between mel frames (10 ms)
    n_fft: int = 400  # STFT size (25 ms)

    @property
    def samples_per_state(self) -> int:
        return 2 * self.hop  # the second convolution has stride 2

    @property
    def window_samples(self) -> int:
        return self.positions * self.samples_per_state  # 30 s


def mel_filters(cfg: WhisperEncoderConfig) -> np.ndarray:
    """`(mels, n_fft // 2 + 1)` Slaney-scale triangular filters, area-normalised (librosa's `mel`,
    as in faster-whisper's FeatureExtractor)."""
    fft_freqs = np.fft.rfftfreq(n=cfg.n_fft, d=1.0 / cfg.rate)
    mels = np.linspace(0.0, 45.245640471924965, cfg.mels + 2)  # 0 .. mel(8 kHz)
    f_sp, min_log_hz, min_log_mel, log_step = 200.0 / 3, 1000.0, 15.0, np.log(6.4) / 27.0
    freqs = f_sp * mels
    log_region = mels >= min_log_mel
    freqs[log_region] = min_log_hz * np.exp(log_step * (mels[log_region] - min_log_mel))
    ramps = freqs[:, None] - fft_freqs[None, :]
    diffs = np.diff(freqs)
    lower, upper = -ramps[:-2] / diffs[:-1, None], ramps[2:] / diffs[1:, None]
    weights = np.maximum(0.0, np.minimum(lower, upper))
    return (weights * (2.0 / (freqs[2:] - freqs[:-2]))[:, None]).astype(np.float32)


def periodic_hann(size: int) -> np.ndarray:
    """`(size,)` periodic Hann window (numpy's symmetric one of size + 1 without its last sample)."""
    return np.hanning(size + 1)[:-1].astype(np.float32)


class Block(nn.Module):
    """Pre-LN transformer block: x + attention(LN(x)), then x + MLP(LN(x))."""

    def __init__(self, cfg: WhisperEncoderConfig) -> None:
        super().__init__()
        self.heads = cfg.heads
        self.attn_norm = nn.LayerNorm(cfg.width)
        self.qkv = nn.Linear(cfg.width, 3 * cfg.width)
        self.out = nn.Linear(cfg.width, cfg.width)
        self.mlp_norm = nn.LayerNorm(cfg.width)
        self.mlp_in = nn.Linear(cfg.width, 4 * cfg.width)
        self.mlp_out = nn.Linear(4 * cfg.width, cfg.width)

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (B, S, width)
        b, s, w = x.shape
        qkv = linear(self.attn_norm(x), self.qkv.weight, self.qkv.bias)
        q, k, v = qkv.view(b, s, 3, self.heads, w // self.heads).unbind(2)
        attended = F.scaled_dot_product_attention(q.transpose(1, 2), k.transpose(1, 2), v.transpose(1, 2))
        x = x + linear(attended.transpose(1, 2).reshape(b, s, w), self.out.weight, self.out.bias)
        hidden = linear(self.mlp_norm(x), self.mlp_in.weight, self.mlp_in.bias, gelu=True)
        return x + linear(hidden, self.mlp_out.weight, self.mlp_out.bias)


class WhisperEncoder(nn.Module):
    """Log-mel frames `(B, mels, 2S)` -> encoder states `(B, S, width)`, any S <= cfg.positions."""

    def __init__(self, cfg: WhisperEncoderConfig | None = None) -> None:
        super().__init__()
        self.cfg = cfg = cfg or WhisperEncoderConfig()
        self.conv1 = nn.Conv1d(cfg.mels, cfg.width, 3, padding=1)
        self.conv2 = nn.Conv1d(cfg.width, cfg.width, 3, stride=2, padding=1)
        self.register_buffer("positions", torch.zeros(cfg.positions, cfg.width))
        self.register_buffer("filters", torch.from_numpy(mel_filters(cfg)))
        self.register_buffer("window", torch.from_numpy(periodic_hann(cfg.n_fft)))
        self.blocks = nn.ModuleList(Block(cfg) for _ in range(cfg.layers))
        self.norm = nn.LayerNorm(cfg.width)

    def forward(self, mel: torch.Tensor) -> torch.Tensor:
        x = F.gelu(self.conv2(F.gelu(self.conv1(mel)))).transpose(1, 2)  # (B, S, width)
        x = x + self.positions[: x.shape[1]]
        for block in self.blocks:
            x = block(x)
        return self.norm(x)

    def log_mel(self, audio: torch.Tensor) -> torch.Tensor:
        """`(B, N)` 16 kHz audio -> `(B, mels, N // hop + 1)` log-mel frames (frame i centred at i * hop)."""
        spec = torch.stft(audio, self.cfg.n_fft, self.cfg.hop, window=self.window, center=True,
                          pad_mode="reflect", return_complex=True)
        power = spec[..., :-1].abs() ** 2
        log = torch.clamp(self.filters @ power, min=1e-10).log10()
        log = torch.maximum(log, log.amax(dim=(1, 2), keepdim=True) - 8.0)
        return (log + 4.0) / 4.0

    def encode(self, audio: np.ndarray, pad_to_window: bool = False) -> np.ndarray:
        """`(S, width)` states of one piece of 16 kHz audio of at most 30 s: exactly
        ceil(len / 320) states, or the full 1500 of a zero-padded 30 s window with `pad_to_window`."""
        return self.encode_pieces([audio], pad_to_window)[0]

    def encode_pieces(self, pieces: list[np.ndarray], pad_to_window: bool = False) -> list[np.ndarray]:
        """`encode` of every piece; pieces with the same number of states run as one batch."""
        cfg = self.cfg
        counts = [cfg.positions if pad_to_window else max(1, -(-len(p) // cfg.samples_per_state)) for p in pieces]
        out: list[np.ndarray | None] = [None] * len(pieces)
        for states in dict.fromkeys(counts):
            group = [i for i, c in enumerate(counts) if c == states]
            for i, encoded in zip(group, self._encode_batch([pieces[i] for i in group], states)):
                out[i] = encoded
        return out

    def _encode_batch(self, pieces: list[np.ndarray], states: int) -> np.ndarray:
        """`(B, states, width)` for pieces of at most `states` states each, zero-padded to that length."""
        cfg = self.cfg
        padded = np.zeros((len(pieces), states * cfg.samples_per_state + cfg.hop), np.float32)  # + hop as faster-whisper pads
        for row, audio in zip(padded, pieces):
            if len(audio) > cfg.window_samples:
                raise ValueError(f"at most {cfg.window_samples} samples per piece, got {len(audio)}")
            row[: len(audio)] = audio
        with torch.inference_mode():
            mel = self.log_mel(torch.from_numpy(padded).to(self.positions.device))[:, :, : 2 * states]
            return self(mel).float().cpu().numpy()


def state_times(count: int, cfg: WhisperEncoderConfig | None = None) -> np.ndarray:
    """`(count,)` seconds at the centre of each encoder state: state j covers mel frames 2j-1..2j+1."""
    cfg = cfg or WhisperEncoderConfig()
    return np.arange(count) * cfg.samples_per_state / cfg.rate


_CT2_NAMES = {"attn_norm.weight": "self_attention/layer_norm/gamma", "attn_norm.bias": "self_attention/layer_norm/beta",
              "qkv.weight": "self_attention/linear_0/weight", "qkv.bias": "self_attention/linear_0/bias",
              "out.weight": "self_attention/linear_1/weight", "out.bias": "self_attention/linear_1/bias",
              "mlp_norm.weight": "ffn/layer_norm/gamma", "mlp_norm.bias": "ffn/layer_norm/beta",
              "mlp_in.weight": "ffn/linear_0/weight", "mlp_in.bias": "ffn/linear_0/bias",
              "mlp_out.weight": "ffn/linear_1/weight", "mlp_out.bias": "ffn/linear_1/bias"}


def _names(cfg: WhisperEncoderConfig) -> dict[str, str]:
    """This module's learned tensor names -> CTranslate2 variable names (without `encoder/`)."""
    names = {"conv1.weight": "conv1/weight", "conv1.bias": "conv1/bias", "conv2.weight": "conv2/weight",
             "conv2.bias": "conv2/bias", "positions": "position_encodings/encodings", "norm.weight": "layer_norm/gamma",
             "norm.bias": "layer_norm/beta"}
    for i in range(cfg.layers):
        names |= {f"blocks.{i}.{ours}": f"layer_{i}/{theirs}" for ours, theirs in _CT2_NAMES.items()}
    return names


def ct2_state_dict(tensors: dict[str, np.ndarray], cfg: WhisperEncoderConfig) -> dict[str, torch.Tensor]:
    """This module's state dict from CTranslate2 `encoder/...` variables (converted to float32)."""
    return {ours: torch.from_numpy(np.asarray(tensors[f"encoder/{theirs}"], np.float32))
            for ours, theirs in _names(cfg).items()}


def _built(weights: dict[str, torch.Tensor], source: str, device: str | torch.device,
           cfg: WhisperEncoderConfig) -> WhisperEncoder:
    """A WhisperEncoder holding `weights` (its learned tensors) in float32 on `device`."""
    with torch.device("meta"):  # no random initialisation: every tensor comes from the file
        encoder = WhisperEncoder(cfg)
    extra = {"filters": torch.from_numpy(mel_filters(cfg)), "window": torch.from_numpy(periodic_hann(cfg.n_fft))}
    try:
        encoder.load_state_dict({k: v.float() for k, v in weights.items()} | extra, strict=True, assign=True)
    except (RuntimeError, KeyError) as exc:
        raise ValueError(f"{source}: encoder weights do not fit a {cfg}: {exc}") from None
    return encoder.to(device).eval()


def load_encoder(model_bin: str | Path, device: str | torch.device = "cpu",
                 cfg: WhisperEncoderConfig | None = None) -> WhisperEncoder:
    """A WhisperEncoder with the encoder weights of a CTranslate2 Whisper `model.bin`, on `device`."""
    cfg = cfg or WhisperEncoderConfig()
    try:
        weights = ct2_state_dict(read_ct2(model_bin, prefix="encoder/"), cfg)
    except KeyError as exc:
        raise ValueError(f"{model_bin}: encoder weights do not fit a {cfg}: missing {exc}") from None
    return _built(weights, str(model_bin), device, cfg)


def export_weights(model_bin: str | Path, path: str | Path, kind: str, source_sha256: str,
                   cfg: WhisperEncoderConfig | None = None) -> Path:
    """Write the encoder's learned tensors of `model_bin` in float16 (as CTranslate2 stores them) with
    `kind`, the source file's SHA-256 and the config: what `load_exported` reads. Atomic."""
    from ..core.formats import atomic_write

    cfg = cfg or WhisperEncoderConfig()
    tensors = read_ct2(model_bin, prefix="encoder/")
    weights = {k: torch.from_numpy(np.array(tensors[f"encoder/{v}"], np.float16)) for k, v in _names(cfg).items()}
    payload = {"kind": kind, "source_sha256": source_sha256, "config": vars(cfg).copy(), "state_dict": weights}
    atomic_write(path, lambda handle: torch.save(payload, handle))
    return Path(path)


def load_exported(path: str | Path, kind: str, source_sha256: str, device: str | torch.device = "cpu") -> WhisperEncoder:
    """The encoder from an `export_weights` file; a one-line InputError for a missing or foreign file."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"whisper encoder weights not found: {path}")
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # any unpickling failure: a bad file for the user
        raise InputError(f"{path} is not a readable whisper encoder weights file ({type(exc).__name__})") from None
    if not isinstance(payload, dict) or payload.get("kind") != kind or payload.get("source_sha256") != source_sha256:
        raise InputError(f"{path} does not hold the encoder weights of this build's Whisper model")
    return _built(payload["state_dict"], str(path), device, WhisperEncoderConfig(**payload["config"]))
