"""The dense backward warp: for every output pixel of the head region, where to read the portrait.

Inside the face outline the map is piecewise affine over the face-mesh triangles (each driven
triangle reads its source triangle), so every landmark lands exactly where motion transfer put it.
Outside it, hair, ears and the top of the neck follow the head rigidly: each pixel is lifted onto the
rig's skull ellipsoid (mapped into the portrait), turned with the head and projected back, so the
far side of the head moves less than the near side as a real turn does. The expression motion the
outline itself carries (the chin dropping with the jaw) spreads outwards and fades (Shepard
interpolation from the outline landmarks). Head motion fades below the jaw line and stops a little
outside the person. The background is not warped at all: the renderer lays the warped person (and
its warped mask) over a clean plate (`background.py`), so whatever the head uncovers shows
background, never hair.

Only the head region (a fixed box per portrait) is warped; the smooth outer map is computed on a
coarse grid and upsampled, the face exactly at full resolution.
"""

from __future__ import annotations

import numpy as np

from ..rig import landmarks as lm
from ..rig.head import HEAD_CENTRE, HEAD_RADII
from .config import RenderConfig
from .layers import Box
from .mesh import backward_affines, outline, rasterize, warp_triangles
from .motion import FrameGeometry, PortraitMotion

# The lower half of the face outline, ear to ear through the chin (MediaPipe indices).
JAW_LINE = (234, 93, 132, 58, 172, 136, 150, 149, 176, 148, 152, 377, 400, 378, 379, 365, 397, 288, 361, 323, 454)
HEAD_MARGIN = 0.15  # face heights beyond the person mask that head motion may still reach (hair moving out)


def _smooth_fall(x: np.ndarray) -> np.ndarray:
    """1 at x <= 0 down to 0 at x >= 1, smoothstep in between."""
    x = np.clip(x, 0.0, 1.0)
    return 1.0 - x * x * (3 - 2 * x)


class WarpField:
    """Per-portrait state of the warp; `backward_map(geometry)` gives the map over `box`."""

    def __init__(self, motion: PortraitMotion, mask: np.ndarray, config: RenderConfig) -> None:
        self.motion, self.config = motion, config
        self.source2d = motion.source[:, :2]
        self.face_height = float(np.linalg.norm(self.source2d[lm.FOREHEAD] - self.source2d[lm.CHIN]))
        self.outline = outline()
        head = self._head_weight(mask)  # (H, W)
        self.box = self._region(head, mask.shape)
        x0, y0, x1, y1 = self.box
        step = config.field_step
        gh, gw = -(-(y1 - y0) // step), -(-(x1 - x0) // step)
        gy, gx = np.mgrid[0:gh, 0:gw].astype(np.float64)
        self.grid = np.stack([x0 + (gx + 0.5) * step - 0.5, y0 + (gy + 0.5) * step - 0.5], -1)  # (gh, gw, 2)
        import cv2

        self.head = cv2.resize(head[y0:y1, x0:x1], (gw, gh), interpolation=cv2.INTER_AREA).astype(np.float64)
        ys, xs = np.mgrid[y0:y1, x0:x1].astype(np.float32)
        self.pixels = np.stack([xs, ys], -1)  # (h, w, 2) identity map of the box
        self.spread, self.fade = self._outline_weights()

    # ------------------------------------------------------------ per portrait

    def _head_weight(self, mask: np.ndarray) -> np.ndarray:
        """(H, W): 1 on the head, fading below the jaw line (below the ears beside the head) so the neck
        bends a little and shoulders and collar stay; 0 a little way outside the person."""
        import cv2

        h, w = mask.shape
        xs = np.arange(w, dtype=np.float64)
        jaw = self.source2d[list(JAW_LINE)]
        order = np.argsort(jaw[:, 0])
        jaw_y = np.interp(xs, jaw[order, 0], jaw[order, 1])  # held flat beyond the ears
        ys = np.arange(h, dtype=np.float64)[:, None]
        neck = _smooth_fall((ys - jaw_y[None, :]) / (self.config.neck_falloff * self.face_height))
        grow = max(1, int(round(HEAD_MARGIN * self.face_height)))
        near = cv2.dilate((mask > 0.05).astype(np.uint8), np.ones((2 * grow + 1, 2 * grow + 1), np.uint8))
        near = cv2.GaussianBlur(near.astype(np.float32), (0, 0), grow / 3.0)
        return neck * near

    def _region(self, head: np.ndarray, shape: tuple[int, int]) -> Box:
        """The box the warp touches: where head motion reaches, and the face with room to move."""
        ys, xs = np.nonzero(head > 1e-3)
        face_lo = self.source2d.min(0) - 0.3 * self.face_height
        face_hi = self.source2d.max(0) + 0.3 * self.face_height
        lo = np.floor(np.minimum([xs.min(), ys.min()], face_lo) if len(xs) else face_lo).astype(int)
        hi = np.ceil(np.maximum([xs.max(), ys.max()], face_hi) if len(xs) else face_hi).astype(int) + 1
        return (max(int(lo[0]), 0), max(int(lo[1]), 0), min(int(hi[0]), shape[1]), min(int(hi[1]), shape[0]))

    def _outline_weights(self) -> tuple[np.ndarray, np.ndarray]:
        """Shepard weights (gh, gw, 36) of the outline landmarks and the fade with distance from the outline.

        Taken at the portrait's outline: the driven outline stays within a few pixels of it.
        """
        d2 = ((self.grid[:, :, None, :] - self.source2d[self.outline]) ** 2).sum(-1) + 1e-6  # (gh, gw, 36)
        weights = 1.0 / d2
        weights /= weights.sum(2, keepdims=True)
        fade = np.exp(-d2.min(2) / (self.config.jaw_falloff * self.face_height) ** 2)
        return weights.reshape(-1, len(self.outline)), fade

    # ------------------------------------------------------------ per frame

    def rigid_backward(self, points: np.ndarray, rotation: np.ndarray) -> np.ndarray:
        """(..., 2) output pixels -> (..., 2) source pixels of a head turned by `rotation` (rig frame).

        Each output ray meets the turned skull ellipsoid at its front (or passes closest to it); that
        point, turned back, is projected into the portrait.
        """
        fit = self.motion.to_camera
        pivot, centre, radii = self.motion.pivot, np.asarray(HEAD_CENTRE), np.asarray(HEAD_RADII)
        camera = np.concatenate([points, np.zeros(points.shape[:-1] + (1,))], -1)
        a = fit.invert(camera)  # ray origin (z = 0) in the rig frame
        b = fit.rotation[2] / fit.scale  # ray direction (camera +z) in the rig frame
        a = (a - pivot) @ rotation + pivot  # undo the head turn: R^T (x - p) + p
        b = rotation.T @ b
        ra, rb = (a - centre) / radii, b / radii
        qa, qb = float(rb @ rb), 2.0 * (ra @ rb)
        qc = (ra * ra).sum(-1) - 1.0
        disc = qb * qb - 4 * qa * qc
        z = (-qb - np.sqrt(np.maximum(disc, 0.0))) / (2 * qa)
        return fit.apply(a + z[..., None] * b)[..., :2]

    def outer_map(self, geometry: FrameGeometry) -> np.ndarray:
        """(h, w, 2) float32 source positions over the box, away from the face (coarse motion, upsampled)."""
        import cv2

        rigid = self.rigid_backward(self.grid, geometry.rotation) - self.grid
        driven = geometry.landmarks[self.outline, :2]
        residual = self.source2d[self.outline] - self.rigid_backward(driven, geometry.rotation)  # (36, 2)
        spread = (self.spread @ residual).reshape(self.grid.shape) * self.fade[..., None]
        motion = (self.head[..., None] * rigid + spread).astype(np.float32)
        x0, y0, x1, y1 = self.box
        return cv2.resize(motion, (x1 - x0, y1 - y0), interpolation=cv2.INTER_LINEAR) + self.pixels

    def backward_map(self, geometry: FrameGeometry) -> np.ndarray:
        """(h, w, 2) float32 source position of every pixel of `box`."""
        full = self.outer_map(geometry)
        driven = geometry.landmarks[:, :2]
        x0, y0, x1, y1 = self.box
        triangles = warp_triangles()
        ids = rasterize(driven, triangles, self.box)
        inside = ids >= 0
        if inside.any():
            affines = backward_affines(driven, self.source2d, triangles)  # (T, 2, 3)
            ys, xs = np.nonzero(inside)
            chosen = affines[ids[ys, xs]]  # (P, 2, 3)
            px, py = (xs + x0).astype(np.float64), (ys + y0).astype(np.float64)
            full[ys, xs] = (chosen[:, :, 0] * px[:, None] + chosen[:, :, 1] * py[:, None] + chosen[:, :, 2])
        return full


def remap(image: np.ndarray, backward: np.ndarray, interpolation: str = "cubic") -> np.ndarray:
    """Read `image` at the (h, w, 2) backward map (edges replicated)."""
    import cv2

    flag = {"linear": cv2.INTER_LINEAR, "cubic": cv2.INTER_CUBIC, "lanczos": cv2.INTER_LANCZOS4}[interpolation]
    return cv2.remap(image, backward[..., 0], backward[..., 1], flag, borderMode=cv2.BORDER_REPLICATE)
