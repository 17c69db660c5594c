"""Real portraits available offline, both public domain: for the demo, tests and benchmarks.

- scikit-image's `astronaut()`: NASA portrait of Eileen Collins (512x512).
- matplotlib's sample `grace_hopper.jpg`: US Navy photo of Grace Hopper (512x600).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np


def astronaut() -> np.ndarray:
    from skimage import data

    return np.ascontiguousarray(data.astronaut())


def grace_hopper_path() -> Path:
    import matplotlib

    return Path(matplotlib.get_data_path()) / "sample_data" / "grace_hopper.jpg"


def grace_hopper() -> np.ndarray:
    from .analysis import load_image

    return load_image(grace_hopper_path())


def offline_portraits() -> dict[str, np.ndarray]:
    return {"astronaut": astronaut(), "grace_hopper": grace_hopper()}
