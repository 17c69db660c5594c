"""`LipModel`: the refiner network + normalisation statistics + audio front end, with
self-describing checkpoints (config, statistics, ARKit order and the refined group, front-end tag,
format version; tensors and plain data only, so `weights_only=True` loads them;
`learning.checkpoint_io.NetworkCheckpointed` reads and writes them)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from ...core.arkit import MOUTH, indices
from ...learning.checkpoint_io import NetworkCheckpointed
from ...learning.devices import OnDevice
from ..pose import normalize
from .config import FORMAT_VERSION, LipRefinerConfig
from .network import LipRefiner

MOUTH_INDEX = np.array(indices(MOUTH))  # columns of x (52 ARKit + 3 pose) the refiner owns


@dataclass
class LipModel(OnDevice, NetworkCheckpointed):
    """Everything needed to refine: the network and the statistics of the data it was trained on."""

    KIND: ClassVar[str] = "lip-refiner"
    WHAT: ClassVar[str] = "lip refiner checkpoint"
    FORMAT_VERSION: ClassVar[int] = FORMAT_VERSION
    NETWORK_CLASS: ClassVar[type] = LipRefiner
    CONFIG_CLASS: ClassVar[type] = LipRefinerConfig
    NAMES_KEY: ClassVar[str] = "refined_names"
    NAMES: ClassVar[tuple[str, ...]] = MOUTH
    NAMES_WHAT: ClassVar[str] = "mouth group"

    net: LipRefiner
    mean: np.ndarray  # (P,) per-channel mean of x (52 ARKit + 3 head pose)
    std: np.ndarray  # (P,) per-channel std of x (floored)
    front_end: str  # audio front-end tag (dreamtalk.features)
    labels: dict | None = None  # the label settings it learned from (`corpus.labels.LabelConfig.header()`;
    # None: not recorded, a folder of clips or a file from before they were)

    def to_dict(self) -> dict:
        return super().to_dict() | ({"labels": dict(self.labels)} if self.labels is not None else {})

    @classmethod
    def from_dict(cls, data: dict) -> LipModel:
        model = super().from_dict(data)
        model.labels = dict(data["labels"]) if isinstance(data.get("labels"), dict) else None
        return model

    def normalize(self, x: np.ndarray) -> np.ndarray:
        return normalize(x, self.mean, self.std)
