"""`LipModel`: the refiner network + normalisation statistics + audio front end, with
self-describing checkpoints (config, statistics, ARKit order and the refined group, front-end tag,
format version; tensors and plain data only, so `weights_only=True` loads them;
`learning.checkpoint_io.Checkpointed` reads and writes them)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from ...core.arkit import MOUTH, indices
from ...core.errors import InputError
from ...learning.checkpoint_io import Checkpointed, network_from_payload, network_payload
from ...learning.devices import OnDevice
from ..pose import normalize
from .config import FORMAT_VERSION, LipRefinerConfig
from .network import LipRefiner

MOUTH_INDEX = np.array(indices(MOUTH))  # columns of x (52 ARKit + 3 pose) the refiner owns


@dataclass
class LipModel(OnDevice, Checkpointed):
    """Everything needed to refine: the network and the statistics of the data it was trained on."""

    KIND: ClassVar[str] = "lip-refiner"
    WHAT: ClassVar[str] = "lip refiner checkpoint"
    FORMAT_VERSION: ClassVar[int] = FORMAT_VERSION

    net: LipRefiner
    mean: np.ndarray  # (P,) per-channel mean of x (52 ARKit + 3 head pose)
    std: np.ndarray  # (P,) per-channel std of x (floored)
    front_end: str  # audio front-end tag (dreamtalk.features)

    @property
    def cfg(self) -> LipRefinerConfig:
        return self.net.cfg

    def normalize(self, x: np.ndarray) -> np.ndarray:
        return normalize(x, self.mean, self.std)

    def to_dict(self) -> dict[str, Any]:
        return {**self.checkpoint_header(), **network_payload(self.net, self.mean, self.std, self.front_end),
                "refined_names": list(MOUTH)}

    @classmethod
    def check_payload(cls, data: dict[str, Any]) -> None:
        super().check_payload(data)
        if tuple(data.get("refined_names", ())) != MOUTH:
            raise InputError(f"{cls.WHAT} uses a different mouth group")

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> LipModel:
        cls.check_payload(data)
        return cls(*network_from_payload(data, LipRefiner, LipRefinerConfig))
