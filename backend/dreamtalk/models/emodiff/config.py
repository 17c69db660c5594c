"""One config dataclass per stage: denoiser, diffusion, sampler, training (plain data, JSON-able)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from typing import Any, Literal

from ..pose import POSE_DIM

FORMAT_VERSION = 1  # checkpoint format; bump on any incompatible change


@dataclass
class DenoiserConfig:
    """The transformer denoiser `forward(x_t, t, cond) -> prediction`."""

    window: int = 32  # frames per window N (25 fps -> 1.28 s)
    fps: float = 25.0  # frame rate of x and of the audio features
    pose_dim: int = POSE_DIM  # size of one frame of x (52 ARKit + 3 head pose)
    audio_dim: int = 30  # size of one frame of audio features (set from the front end)
    style_frames: int = 16  # middle frames of the condition track that carry the style clip
    width: int = 128  # transformer model width
    layers: int = 4  # decoder layers (self-attention over time + cross-attention to conditions)
    heads: int = 4  # attention heads
    ff_mult: int = 4  # feed-forward width multiplier
    dropout: float = 0.1  # dropout inside the transformer
    condition_in_input: bool = True  # also add the merged condition frame-wise to the x tokens


@dataclass
class DiffusionConfig:
    """DDPM training schedule and what the denoiser predicts."""

    train_steps: int = 1000  # DDPM steps T
    beta_schedule: Literal["linear", "cosine"] = "cosine"  # noise schedule
    beta_start: float = 1e-4  # linear schedule: first beta
    beta_end: float = 0.02  # linear schedule: last beta
    prediction: Literal["eps", "x0"] = "x0"  # denoiser target: noise or clean sample
    p_drop_audio: float = 0.1  # training: probability to replace the audio by its null embedding
    p_drop_style: float = 0.1  # training: probability to replace the style clip by its null embedding
    p_drop_initial: float = 0.3  # training: probability to hide the initial state (valid bit 0)
    velocity_weight: float = 1.0  # weight of the x0 velocity loss (temporal smoothness, EDGE)


@dataclass
class SamplerConfig:
    """Inference: sampler, guidance and long-sequence composition."""

    sampler: Literal["ddim", "ddpm"] = "ddim"  # fast deterministic DDIM or ancestral DDPM (all steps)
    steps: int = 10  # sampling steps (DDIM); DDPM always uses all training steps
    eta: float = 0.0  # DDIM stochasticity (0 = deterministic given the initial noise)
    guidance: float = 1.5  # classifier-free guidance scale on style (1 = plain conditional model)
    audio_guidance: float = 2.0  # separate guidance scale on audio (1 = off; 2 sharpens lip closures)
    long_mode: Literal["stitch", "autoregressive"] = "stitch"  # overlapping windows or continuation
    overlap: int = 8  # frames shared by consecutive windows
    transition: float = 0.5  # seconds of cross-fade between emotion keys
    lock_ease: int = 8  # free frames eased onto each locked range's edge (0 = raw inpainting)
    max_batch: int = 256  # windows per forward pass (memory bound)
    blinks: Literal["model", "events"] = "model"  # blinks as the model draws them, or sampled events over
    # its eyelids (models trained on blink-free labels; engines/blinks.py)


@dataclass
class TrainConfig:
    """Training loop."""

    steps: int = 20000  # optimizer steps
    batch: int = 64  # windows per step (per process under DDP)
    lr: float = 2e-4  # Adam learning rate
    weight_decay: float = 0.0  # Adam weight decay
    grad_clip: float = 1.0  # gradient norm clip
    log_every: int = 50  # steps between loss log lines
    save_every: int = 1000  # steps between checkpoints (resumable); the validation loss is computed there
    val_batches: int = 8  # held-out batches averaged for the validation loss (when a validation split is given)
    seed: int = 0  # random seed
    workers: int = 0  # DataLoader worker processes
    device_data: bool | None = None  # corpus in device tensors, batches drawn there (None: on CUDA only)
    bf16: bool = False  # bf16 autocast of the forward pass and loss (CUDA only)


def config_from_dict(cls: type, data: dict[str, Any]):
    """Rebuild a config dataclass from a plain dict, ignoring unknown keys (forward compatible)."""
    names = {f.name for f in fields(cls)}
    return cls(**{k: v for k, v in data.items() if k in names})


def config_to_dict(cfg: Any) -> dict[str, Any]:
    return asdict(cfg)
