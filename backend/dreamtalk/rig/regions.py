"""Anatomical regions of the 468 face landmarks and the region(s) each ARKit key may move.

Regions are landmark index sets cut from the neutral face by simple shapes in the rig frame (metres,
origin between the eye centres, X = subject's left, Z = up), each anchored on named landmarks:

* jaw: the lower face, everything below the nose base (subnasale - 4 mm), which the mandible carries;
* lips: an ellipse around the mouth from 15 mm beyond the corners, 25 mm above and below the mouth line;
* eyelids: an ellipse 26 x 16 mm around each eye opening;
* brows: the forehead above the upper lids (Z > 6 mm), to the temples;
* cheeks: an ellipse per cheek below the eye (including the lower lids);
* nose: an ellipse around the nose and alar creases, from the bridge to the upper lip.

The acceptance test asks that >= 90 % of each key's squared landmark displacement lies on its regions.
"""

from __future__ import annotations

import numpy as np

from ..core.arkit import ARKIT_NAMES
from . import landmarks as lm


def _ellipse(points: np.ndarray, centre: tuple[float, float], radii: tuple[float, float]) -> np.ndarray:
    """Mask of points inside an X-Z ellipse (|X| mirrored: both sides)."""
    dx = (np.abs(points[:, 0]) - centre[0]) / radii[0]
    dz = (points[:, 2] - centre[1]) / radii[1]
    return dx * dx + dz * dz <= 1.0


def region_table(face: np.ndarray) -> dict[str, np.ndarray]:
    """Region name -> sorted landmark indices, for a (468, 3) neutral face in the rig frame."""
    mouth_z = 0.5 * (face[13, 2] + face[14, 2])
    corner_x = abs(float(face[lm.MOUTH_CORNER_LEFT, 0]))
    eye_x = float(np.mean(face[list(lm.LEFT_EYE_UPPER + lm.LEFT_EYE_LOWER), 0]))
    nose_z = float(face[lm.SUBNASALE, 2])
    masks = {
        "jaw": face[:, 2] < nose_z - 0.004,
        "lips": _ellipse(face, (0.0, mouth_z), (corner_x + 0.015, 0.025)),
        "eyelids": _ellipse(face, (eye_x, 0.0), (0.026, 0.016)),
        "brows": face[:, 2] > 0.006,
        "cheeks": _ellipse(face, (eye_x + 0.008, -0.032), (0.03, 0.034)),
        "nose": _ellipse(face, (0.0, nose_z + 0.012), (0.024, 0.03)) | _ellipse(face, (0.0, 0.0), (0.008, 0.02)),
    }
    return {name: np.flatnonzero(mask) for name, mask in masks.items()}


def key_regions(name: str) -> tuple[str, ...]:
    """The regions an ARKit key is allowed to move."""
    if name.startswith(("jaw", "tongue")):
        return ("jaw",)
    if name.startswith(("mouthSmile", "mouthDimple", "mouthStretch", "mouthFrown")):
        return ("lips", "cheeks")
    if name.startswith("mouthShrugLower"):
        return ("lips", "jaw")
    if name.startswith("mouth"):
        return ("lips",)
    if name.startswith(("eyeSquint", "cheekSquint")):
        return ("eyelids", "cheeks")
    if name.startswith("eye"):
        return ("eyelids",)
    if name.startswith("brow"):
        return ("brows",)
    if name.startswith("cheek"):
        return ("cheeks",)
    if name.startswith("nose"):
        return ("nose", "lips")
    raise KeyError(name)


KEY_REGIONS: dict[str, tuple[str, ...]] = {name: key_regions(name) for name in ARKIT_NAMES}


def region_share(delta_face: np.ndarray, table: dict[str, np.ndarray], regions: tuple[str, ...]) -> float:
    """Fraction of the squared landmark displacement (468, 3) that falls on the union of `regions`."""
    energy = (delta_face ** 2).sum(-1)
    total = float(energy.sum())
    if total == 0.0:
        return 0.0
    inside = np.unique(np.concatenate([table[r] for r in regions]))
    return float(energy[inside].sum()) / total
