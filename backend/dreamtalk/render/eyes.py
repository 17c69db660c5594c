"""The eyes: the eyeball stays with the skull, the lids open and close over it, the iris looks around.

Warping the face mesh alone would squash the iris when a lid comes down. Instead the skin warp moves
the lids (their skin stretched over the eye by the mesh) and this layer repaints the opening between
them: the portrait's own eye, carried rigidly with the head, clipped by the driven lid polygon, so a
blink covers the iris with lid skin instead of smearing it. For gaze (eyeLook*) the iris is lifted
off the eye once per portrait: its disk (MediaPipe's iris landmarks), with the part hidden under the
lids filled in from the visible iris, over a sclera whose iris hole is filled from the white around
it; each frame shifts the disk by the rig's eyeball rotation, projected into the portrait.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..rig import head as rig_head
from ..rig.shapes import build_model
from .background import push_pull_fill
from .layers import Box, box_around, coverage, fit_affine, pixel_grid, polygon_area, sample
from .mesh import opening
from .motion import FrameGeometry, PortraitMotion

EYES = ("eye_left", "eye_right")  # the subject's left (+X in the rig, image right) first
IRIS_POINTS = {"eye_left": range(473, 478), "eye_right": range(468, 473)}  # centre, then 4 ring points
STILL_GAZE = 0.05  # pixels: a gaze offset below this paints the portrait's own eye untouched


@dataclass
class EyeTextures:
    """One eye of the portrait, lifted apart once."""

    box: Box  # where the textures sit in the portrait
    eye: np.ndarray  # (h, w, 3) float32 the portrait's eye, extended beyond the opening
    sclera: np.ndarray  # (h, w, 3) float32 the eye with the iris filled in from the white
    iris: np.ndarray  # (h, w, 3) float32 the iris with its hidden part filled in
    iris_centre: np.ndarray  # (2,) pixels, portrait
    iris_radius: float  # pixels
    area: float  # opening area in the portrait, square pixels


def _disk(shape: tuple[int, int], centre: np.ndarray, radius: float) -> np.ndarray:
    ys, xs = np.mgrid[0:shape[0], 0:shape[1]].astype(np.float32)
    return np.clip(radius + 0.5 - np.hypot(xs - centre[0], ys - centre[1]), 0.0, 1.0)


def lift_eye(image: np.ndarray, landmarks: np.ndarray, name: str) -> EyeTextures:
    """Cut one eye into extended eye, sclera and iris textures."""
    polygon = landmarks[opening(name), :2]
    width = float(np.ptp(polygon[:, 0]))
    box = box_around(polygon, 0.5 * width, image.shape)
    x0, y0, x1, y1 = box
    patch = image[y0:y1, x0:x1].astype(np.float32)
    inside = coverage(polygon, box)
    core = (inside > 0.99).astype(np.float32)
    iris = landmarks[list(IRIS_POINTS[name])][:, :2]
    centre = iris[0]
    radius = float(np.linalg.norm(iris[1:] - centre, axis=1).mean())
    disk = _disk(core.shape, centre - (x0, y0), radius)
    eye = np.where(inside[..., None] > 0, patch, push_pull_fill(patch, core, 5))
    sclera = push_pull_fill(patch, core * (_disk(core.shape, centre - (x0, y0), radius * 1.25) < 0.01), 5)
    iris_texture = push_pull_fill(patch, core * (disk > 0.99), 4)
    return EyeTextures(box, eye, sclera, iris_texture, centre, radius, polygon_area(polygon))


class EyeLayer:
    """Per portrait; `paint(frame, geometry)` repaints both eye openings of a float32 frame in place."""

    def __init__(self, image: np.ndarray, motion: PortraitMotion) -> None:
        self.motion = motion
        self.textures = {name: lift_eye(image, motion.source_full, name) for name in EYES}
        model = build_model()
        pupil = np.unique(model.head.faces[model.head.material == rig_head.PUPIL])
        sides = {"eye_left": pupil[model.head.vertices[pupil, 0] > 0], "eye_right": pupil[model.head.vertices[pupil, 0] < 0]}
        self.pupil = {name: (model.head.vertices[idx].mean(0), model.deltas[:, idx].mean(1)) for name, idx in sides.items()}
        self.local = {name: self._local_map(name) for name in EYES}

    def _local_map(self, name: str) -> tuple[float, np.ndarray, np.ndarray]:
        """(scale, rig eye centre, portrait eye centre) in the rig frame: the rig's eyeball in the portrait's eye."""
        loop = opening(name)
        rig, own = self.motion.rig_neutral[loop], self.motion.shape[loop]
        scale = float(np.ptp(own[:, 0]) / np.ptp(rig[:, 0]))
        return scale, rig.mean(0), own.mean(0)

    def gaze_offset(self, name: str, geometry: FrameGeometry) -> np.ndarray:
        """(2,) pixels the iris moves in the frame: the rig's pupil rotation, in the portrait's eye."""
        neutral, deltas = self.pupil[name]
        scale, rig_centre, own_centre = self.local[name]
        moved = neutral + geometry.weights @ deltas
        points = own_centre + scale * (np.stack([moved, neutral]) - rig_centre)
        camera = self.motion.rig_to_camera(points, geometry.rotation)
        return camera[0, :2] - camera[1, :2]

    def paint(self, frame: np.ndarray, geometry: FrameGeometry) -> None:
        for name in EYES:
            self._paint_eye(frame, geometry, name)

    def _paint_eye(self, frame: np.ndarray, geometry: FrameGeometry, name: str) -> None:
        loop = opening(name)
        polygon = geometry.landmarks[loop, :2]
        area = polygon_area(polygon)
        if area < 0.5:
            return  # closed: the lid skin from the warp covers it
        tex = self.textures[name]
        box = box_around(polygon, 2, frame.shape)
        if box[2] <= box[0] or box[3] <= box[1]:
            return
        moved = self.motion.rig_to_camera(self.motion.shape[loop], geometry.rotation)[:, :2]
        backward = fit_affine(moved, self.motion.source[loop, :2])  # output -> portrait, rigid with the head
        grid = pixel_grid(box)
        origin = np.array(tex.box[:2], np.float32)
        at = grid @ backward[:, :2].T + backward[:, 2] - origin
        gaze = self.gaze_offset(name, geometry)
        if np.hypot(*gaze) < STILL_GAZE:
            content = sample(tex.eye, at)
        else:
            shifted = (grid - gaze.astype(np.float32)) @ backward[:, :2].T + backward[:, 2] - origin
            disk = np.clip(tex.iris_radius + 0.5 - np.hypot(*(shifted + origin - tex.iris_centre).transpose(2, 0, 1)), 0, 1)
            content = sample(tex.sclera, at) + disk[..., None] * (sample(tex.iris, shifted) - sample(tex.sclera, at))
        alpha = coverage(polygon, box)
        closing = float(np.clip(1.0 - area / max(tex.area, 1e-6), 0.0, 1.0))
        if closing > 0:
            content *= self._lid_shadow(alpha, closing, tex.iris_radius)[..., None]
        x0, y0, x1, y1 = box
        region = frame[y0:y1, x0:x1]
        region += alpha[..., None] * (content - region)

    @staticmethod
    def _lid_shadow(alpha: np.ndarray, closing: float, radius: float) -> np.ndarray:
        """A lid coming down shades the eyeball under it (more the more it closes)."""
        import cv2

        blurred = cv2.GaussianBlur(alpha, (0, 0), max(0.5 * radius, 0.5))
        occlusion = np.clip(0.4 + 0.9 * blurred, 0.4, 1.0)
        return (1.0 - closing * (1.0 - occlusion)).astype(np.float32)
