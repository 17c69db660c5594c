"""The background behind the person and the per-frame composite that keeps it still.

The clean plate is the portrait with the person painted out by a push-pull fill (pyramid
down-sampling of the known background, then up-sampling into the hole; Gortler et al. 1996), so a
head that turns away uncovers plausible background instead of a smear of hair. Each frame lays the
warped person, with its warped mask, over the background:

    revealed = max(mask - warped_mask, 0) / mask   # the share of the person here that has moved away
    behind   = portrait + revealed * (plate - portrait)
    frame    = behind + warped_mask * (warped_portrait - behind)

A zero motion reproduces the portrait exactly; background pixels never move.
"""

from __future__ import annotations

import numpy as np


def push_pull_fill(image: np.ndarray, known: np.ndarray, levels: int) -> np.ndarray:
    """(H, W, C) float32 image with pixels where `known` (H, W) 0..1 is low filled from around them."""
    import cv2

    colours, weights = [image * known[..., None]], [known]
    for _ in range(levels):
        colours.append(cv2.pyrDown(colours[-1]))
        weights.append(cv2.pyrDown(weights[-1]))
    filled = colours[-1] / np.maximum(weights[-1], 1e-6)[..., None]
    for colour, weight in zip(colours[-2::-1], weights[-2::-1], strict=True):
        up = cv2.resize(filled, (weight.shape[1], weight.shape[0]), interpolation=cv2.INTER_LINEAR)
        alpha = np.clip(weight * 4.0, 0.0, 1.0)[..., None]
        own = colour / np.maximum(weight, 1e-6)[..., None]
        filled = alpha * own + (1 - alpha) * up
    return filled


def clean_plate(image: np.ndarray, mask: np.ndarray, face_height: float, levels: int) -> np.ndarray:
    """(H, W, 3) float32: the portrait with the person (mask grown by a little) filled from the background."""
    import cv2

    grow = max(1, int(round(0.03 * face_height)))
    person = cv2.dilate((mask > 0.02).astype(np.uint8), np.ones((2 * grow + 1, 2 * grow + 1), np.uint8))
    known = 1.0 - person.astype(np.float32)
    if known.sum() < 1:
        return image.astype(np.float32)  # the person fills the picture: nothing to fill from
    return push_pull_fill(image.astype(np.float32), known, levels)


def composite(portrait: np.ndarray, plate: np.ndarray, mask: np.ndarray, warped: np.ndarray,
              warped_mask: np.ndarray) -> np.ndarray:
    """(H, W, 3) float32 frame: the warped person over the still background (see the module docstring)."""
    revealed = (np.maximum(mask - warped_mask, 0.0) / np.maximum(mask, 1e-3))[..., None]
    behind = portrait + revealed * (plate - portrait)
    return behind + warped_mask[..., None] * (warped - behind)
