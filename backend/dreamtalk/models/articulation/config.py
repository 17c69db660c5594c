"""One config dataclass per stage of the articulation detector: the network with its enforcement, and training."""

from __future__ import annotations

from dataclasses import dataclass

FORMAT_VERSION = 1  # articulation checkpoint format; bump on any incompatible change


@dataclass
class ArticulationConfig:
    """`forward(features) -> phone logits` per frame, and how its probabilities move the lips."""

    audio_dim: int = 512  # size of one frame of audio features (set from the front end)
    fps: float = 25.0  # frame rate of the features and the curves
    width: int = 192  # channels of the temporal convolutions
    layers: int = 4  # residual convolution blocks (every second one dilated x2)
    kernel: int = 5  # temporal kernel size
    dropout: float = 0.1  # dropout inside the blocks (training only)
    close_on: float = 0.3  # p(p/b/m) at which the lips are closed half-way
    close_width: float = 0.2  # probability span over which closing goes from none to full
    open_on: float = 0.5  # p(open vowel) at which the jaw is opened half-way to its floor
    open_width: float = 0.2  # probability span over which opening goes from none to full
    open_fraction: float = 0.3  # jaw floor on an open vowel: this x the take's 90th-percentile jawOpen
    open_gain: float = 0.2  # jaw added on open vowels: this x p(open vowel) x that percentile (peaks mid-vowel)
    veto_on: float = 0.15  # no opening where p(p/b/m) reaches this (ramp of veto_width)
    veto_width: float = 0.1
    doubt_below: float = 0.5  # precise mode on Whisper's transcript: a word heard with a lower probability ...
    doubt_pad: float = 0.08  # ... and this many seconds either side (its timing is rough) get the detector's lips
    stray_margin: int = 1  # precise mode with a transcript: lips shut further than this many frames from a p/b/m
    stray_reach: int = 2  # ... and on no silence are reopened, bridged from the span's rims up to this far out


@dataclass
class ArticulationTrainConfig:
    """Training loop (cross-entropy on frame phone classes from forced-aligned phones)."""

    steps: int = 1500  # optimizer steps
    batch: int = 64  # windows per step
    window: int = 64  # frames per window
    lr: float = 1e-3  # AdamW learning rate
    weight_decay: float = 1e-2
    feature_noise: float = 0.3  # Gaussian noise on the normalised features
    bilabial_weight: float = 2.0  # weight of p/b/m frames in the cross-entropy (others 1): fewer missed closures
    val_every: int = 250  # steps between validation figures (and best-checkpoint choices)
    seed: int = 0
