"""`ArticulationModel`: the detector network + feature statistics + audio front end, with self-describing
checkpoints (config, statistics, phone set, front-end tag, format version; `learning.checkpoint_io`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np
import torch

from ...core.errors import InputError
from ...learning.checkpoint_io import NetworkCheckpointed
from ...learning.devices import OnDevice
from .config import FORMAT_VERSION, ArticulationConfig
from .labels import BILABIAL_CLASSES, OPEN_CLASSES, PHONES
from .network import ArticulationNet


@dataclass
class ArticulationModel(OnDevice, NetworkCheckpointed):
    """Everything needed to detect: the network and the statistics of the features it was trained on."""

    KIND: ClassVar[str] = "articulation-detector"
    WHAT: ClassVar[str] = "articulation detector checkpoint"
    FORMAT_VERSION: ClassVar[int] = FORMAT_VERSION
    NETWORK_CLASS: ClassVar[type] = ArticulationNet
    CONFIG_CLASS: ClassVar[type] = ArticulationConfig
    NAMES_KEY: ClassVar[str] = "phones"
    NAMES: ClassVar[tuple[str, ...]] = PHONES
    NAMES_WHAT: ClassVar[str] = "phone set"

    net: ArticulationNet
    mean: np.ndarray  # (audio_dim,) per-channel mean of the training features
    std: np.ndarray  # (audio_dim,) per-channel std (floored)
    front_end: str  # audio front-end tag (dreamtalk.features)

    def probabilities(self, features: np.ndarray) -> np.ndarray:
        """`(T, len(PHONES))` phone probabilities of each frame of `(T, audio_dim)` features."""
        features = np.asarray(features, np.float32)
        if features.ndim != 2 or features.shape[1] != self.cfg.audio_dim:
            raise InputError(f"articulation detector expects (frames, {self.cfg.audio_dim}) features, "
                             f"got {features.shape}")
        z = torch.from_numpy((features - self.mean) / self.std).to(self.device)[None]
        self.net.eval()
        with torch.inference_mode():
            return self.net(z)[0].softmax(-1).float().cpu().numpy()


def bilabial(probabilities: np.ndarray) -> np.ndarray:
    """`(T,)` p(p/b/m) from `(T, len(PHONES))` probabilities."""
    return probabilities[:, BILABIAL_CLASSES].sum(-1)


def open_vowel(probabilities: np.ndarray) -> np.ndarray:
    """`(T,)` p(open vowel: AA AE AH AO AW AY) from `(T, len(PHONES))` probabilities."""
    return probabilities[:, OPEN_CLASSES].sum(-1)
