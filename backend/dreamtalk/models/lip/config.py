"""One config dataclass per stage of the lip refiner: the network and its training (plain data)."""

from __future__ import annotations

from dataclasses import dataclass

from ...core.arkit import MOUTH
from ..pose import POSE_DIM

FORMAT_VERSION = 1  # lip checkpoint format; bump on any incompatible change
# Mouth channels whose slow offset from neutral carries the emotion (kept by the emotion term).
EMOTION_MOUTH = ("mouthSmileLeft", "mouthSmileRight", "mouthFrownLeft", "mouthFrownRight",
                 "mouthPressLeft", "mouthPressRight", "mouthStretchLeft", "mouthStretchRight",
                 "mouthDimpleLeft", "mouthDimpleRight")


@dataclass
class LipRefinerConfig:
    """The network `forward(audio, mouth, style) -> refined mouth`, applied on sliding windows."""

    window: int = 8  # frames refined per window
    overlap: int = 4  # frames shared by consecutive windows (blended with triangular weights)
    audio_context: int = 4  # extra audio frames the LSTM reads on each side of a window
    fps: float = 25.0  # frame rate of the curves and the audio features
    audio_dim: int = 30  # size of one frame of audio features (set from the front end)
    mouth_dim: int = len(MOUTH)  # refined channels: the ARKit MOUTH group (jaw, mouth, tongue)
    style_dim: int = POSE_DIM  # channels of a style clip frame
    style_frames: int = 16  # frames of the style clip the CNN reads
    hidden: int = 128  # LSTM / CNN / MLP width
    lstm_layers: int = 2  # stacked bidirectional LSTM layers
    closure_head: bool = False  # a frame-wise p/b/m closure detector on the audio states (older files: none)
    closure_on: float = 0.5  # detector probability at which the lips are closed half-way
    closure_width: float = 0.2  # probability span over which enforcement goes from 0 to fully closed
    enforce: bool = False  # close the lips by the head's probability after refinement (off: on development
    # voices it closed at most 0.008 more p/b/m and lowered the open/closed AUC by 0.02-0.12, docs/EVAL.md)


@dataclass
class LipTrainConfig:
    """Training loop and the input perturbations that teach the network to correct."""

    steps: int = 6000  # optimizer steps
    batch: int = 128  # windows per step
    lr: float = 1e-3  # Adam learning rate
    grad_clip: float = 1.0  # gradient norm clip
    gap_weight: float = 2.0  # weight of the lip-gap loss (the quantity closure and AUC are measured on)
    closure_weight: float = 2.0  # weight of the closure term (lip gap left open where the label is closed)
    closed_gap: float = 0.02  # a label frame with a lip gap at most this is closed (raw units)
    emotion_weight: float = 1.0  # weight of the emotion-offset term (EMOTION_MOUTH window means)
    detector_weight: float = 1.0  # weight of the closure detector's cross-entropy (with a closure head)
    detector_pos_weight: float = 3.0  # weight of closed frames in that cross-entropy (they are few)
    p_generated: float = 0.5  # probability to train on an EmoDiff output (when given) instead of a perturbed label
    p_clean: float = 0.25  # probability (of the label windows) that the input is the label plus noise only
    audio_noise: float = 0.5  # Gaussian noise on the audio features, in units of each channel's std
    blur_frames: float = 2.0  # perturbation: largest Gaussian blur sigma in frames (loosened closures)
    max_shift: int = 1  # perturbation: largest time shift in frames
    noise: float = 0.03  # perturbation: Gaussian noise std (raw units)
    log_every: int = 50  # steps between loss log lines
    save_every: int = 1000  # steps between checkpoints; the validation loss is computed there
    val_batches: int = 8  # held-out batches averaged for the validation loss (when a validation split is given)
    seed: int = 0  # random seed
