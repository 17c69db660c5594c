"""The geometric renderer: one analysed portrait + ARKit curves -> frames.

Per portrait (once): motion transfer fit, warp state, clean plate, mouth and eye layers. Per frame:
driven landmarks -> backward map -> warped person over the still background -> eyes -> mouth.
Deterministic: the same curves give the same pixels, and all-zero curves give the portrait back.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import numpy as np

from ..core.curves import Curves
from .analysis import Portrait
from .background import clean_plate, composite
from .config import DEFAULT_CONFIG, RenderConfig
from .eyes import EyeLayer
from .motion import FrameGeometry, PortraitMotion
from .mouth import MouthLayer
from .warp import WarpField, remap

MASK_FLOOR = 0.05  # person-mask values below this count as background (and above 1 - this as person)


class GeometricRenderer:
    """Relative motion transfer onto one portrait, on the CPU, with no learned weights."""

    name = "geometric"

    def __init__(self, portrait: Portrait, config: RenderConfig = DEFAULT_CONFIG) -> None:
        self.portrait, self.config = portrait, config
        self.motion = PortraitMotion(portrait.landmarks)
        self.field = WarpField(self.motion, portrait.mask, config)
        self.image = portrait.image.astype(np.float32)
        self.mask = np.clip((portrait.mask.astype(np.float32) - MASK_FLOOR) / (1 - 2 * MASK_FLOOR), 0.0, 1.0)
        x0, y0, x1, y1 = self.field.box
        plate = clean_plate(portrait.image, self.mask, portrait.face_height, config.plate_levels)
        self.region = (slice(y0, y1), slice(x0, x1))
        self.plate = np.ascontiguousarray(plate[self.region])
        self.eyes = EyeLayer(portrait.image, self.motion)
        self.mouth = MouthLayer(portrait.image, self.motion, config)

    def geometry(self, weights: np.ndarray, pose: np.ndarray) -> FrameGeometry:
        return self.motion.frame(weights, pose, self.config.seal_gain)

    def render_geometry(self, geometry: FrameGeometry) -> np.ndarray:
        """(H, W, 3) uint8 frame for already computed geometry."""
        backward = self.field.backward_map(geometry)
        warped = remap(self.portrait.image, backward, self.config.interpolation).astype(np.float32)
        warped_mask = remap(self.mask, backward, "linear")
        frame = self.image.copy()
        frame[self.region] = composite(self.image[self.region], self.plate, self.mask[self.region], warped, warped_mask)
        self.eyes.paint(frame, geometry)
        self.mouth.paint(frame, geometry)
        return np.clip(frame + 0.5, 0, 255).astype(np.uint8)

    def person_mask(self, geometry: FrameGeometry) -> np.ndarray:
        """(H, W) float32 where the frame shows the person (the portrait's mask, warped)."""
        mask = self.mask.copy()
        mask[self.region] = remap(self.mask, self.field.backward_map(geometry), "linear")
        return mask

    def render_frame(self, weights: np.ndarray, pose: np.ndarray) -> np.ndarray:
        """(H, W, 3) uint8 frame for ARKit weights (52,) and head pose (3,) yaw, pitch, roll."""
        return self.render_geometry(self.geometry(weights, pose))

    def frames(self, curves: Curves, progress: Callable[[str, float], None] | None = None) -> Iterator[np.ndarray]:
        """Every frame of `curves`, in order."""
        total = curves.num_frames
        for index in range(total):
            if progress is not None:
                progress("render", index / max(total, 1))
            yield self.render_frame(curves.values[index], curves.head_pose[index])
