"""The inside of the mouth: what shows between parted lips.

A geometric warp can only stretch lip pixels across a gap; this layer paints the gap instead. The
bundled rig's mouth parts (upper teeth fixed to the skull, lower teeth and tongue moved by the jaw
and tongue keys, the dark mouth bag) are placed in the portrait's mouth (scaled to its width),
turned with the head, projected and drawn far to near (painter's algorithm) with Lambert shading,
colours matched to the portrait's lips and skin, and darkened where lips shade the cavity. A
portrait photographed with parted lips keeps its own visible teeth: they follow the skull, and the
synthetic mouth fills only what the portrait never showed. Clipped by the driven inner-lip polygon
with anti-aliased edges; closed lips stay the portrait's own lips.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from ..core.arkit import INDEX
from ..rig import head as rig_head
from ..rig import landmarks as lm
from ..rig.shapes import build_model
from .config import RenderConfig
from .layers import Box, box_around, coverage, fit_affine, pixel_grid, polygon_area, sample
from .mesh import opening
from .motion import FrameGeometry, PortraitMotion

MOUTH_PARTS = (rig_head.UPPER_TEETH, rig_head.LOWER_TEETH, rig_head.TONGUE, rig_head.MOUTH)
SKULL_POINTS = (1, 2, 98, 327, 4, 5, 195, 197, 6, 168)  # nose: moves with the skull, not the jaw
CHEEK_POINTS = (50, 280, 205, 425)  # cheek centres, for the skin colour
MIN_OPEN_PIXELS = 4.0  # square pixels the mouth must open beyond the portrait's own opening to be painted
TONGUE_OUT_IN_FRONT = 0.3  # tongueOut beyond which the tongue is drawn in front of the lower teeth
SUPERSAMPLE = 3  # the synthetic mouth is drawn this many times finer, then averaged (anti-aliasing)


@dataclass(frozen=True)
class MouthParts:
    """The rig's teeth, tongue and mouth bag: neutral vertices, key displacements, triangles."""

    vertices: np.ndarray  # (V, 3) rig frame, metres
    deltas: np.ndarray  # (52, V, 3)
    triangles: np.ndarray  # (F, 3) into `vertices`
    material: np.ndarray  # (F,) rig material index (TEETH, TONGUE_MAT, CAVITY)
    part: np.ndarray  # (F,) rig part of the triangle (UPPER_TEETH, LOWER_TEETH, TONGUE, MOUTH)


@lru_cache(maxsize=1)
def mouth_parts() -> MouthParts:
    model = build_model()
    head = model.head
    chosen = np.flatnonzero(np.isin(head.part, MOUTH_PARTS))
    inside = np.isin(head.faces, chosen).all(1)
    remap = np.full(len(head.vertices), -1)
    remap[chosen] = np.arange(len(chosen))
    triangles = remap[head.faces[inside]]
    return MouthParts(head.vertices[chosen], model.deltas[:, chosen], triangles, head.material[inside],
                      head.part[chosen][triangles[:, 0]])


def _lip_pixels(image: np.ndarray, points: np.ndarray) -> np.ndarray:
    """(N, 3) portrait pixels inside the outer lip line but outside the opening."""
    import cv2

    outer = np.array(list(lm.UPPER_LIP_OUTER) + list(lm.LOWER_LIP_OUTER[-2:0:-1]))
    mask = np.zeros(image.shape[:2], np.uint8)
    cv2.fillPoly(mask, [np.round(points[outer, :2]).astype(np.int32)], 1)
    cv2.fillPoly(mask, [np.round(points[opening("mouth"), :2]).astype(np.int32)], 0)
    pixels = image[mask > 0].reshape(-1, 3)
    return pixels if len(pixels) else image.reshape(-1, 3)


def _skin_colour(image: np.ndarray, points: np.ndarray) -> np.ndarray:
    """Median colour around the cheek landmarks."""
    radius = max(2, int(0.04 * np.linalg.norm(points[234, :2] - points[454, :2])))
    patches = []
    for index in CHEEK_POINTS:
        x, y = np.round(points[index, :2]).astype(int)
        patch = image[max(y - radius, 0): y + radius + 1, max(x - radius, 0): x + radius + 1]
        patches.append(patch.reshape(-1, 3))
    return np.median(np.concatenate(patches), 0)


def _palette(image: np.ndarray, points: np.ndarray, source_open: np.ndarray | None) -> dict[int, np.ndarray]:
    """Colours (0..255 float) for each rig material, matched to the portrait's lips, skin and light."""
    lips = np.median(_lip_pixels(image, points), 0)
    skin = _skin_colour(image, points)
    brightness = float(np.clip(skin.mean() / 160.0, 0.45, 1.3))
    cast = skin / max(float(skin.max()), 1.0) * 245.0  # the photo's colour cast at full brightness
    teeth = (0.45 * np.array([240.0, 234.0, 220.0]) + 0.55 * cast) * brightness
    if source_open is not None and len(source_open) > 20:  # the portrait shows its own teeth
        luma = source_open.mean(1)
        teeth = source_open[luma >= np.percentile(luma, 70)].mean(0)
    return {
        rig_head.TEETH: np.clip(teeth, 0, 255),
        rig_head.TONGUE_MAT: np.clip(lips * np.array([0.95, 0.62, 0.62]), 0, 255),
        rig_head.CAVITY: np.clip(lips * 0.22, 0, 255),
    }


class MouthLayer:
    """Per portrait; `paint(frame, geometry)` draws the mouth interior into a float32 frame in place."""

    def __init__(self, image: np.ndarray, motion: PortraitMotion, config: RenderConfig) -> None:
        self.motion, self.config = motion, config
        self.parts = mouth_parts()
        self.source_polygon = motion.source[opening("mouth"), :2]
        self.image = image
        self.source_area = polygon_area(self.source_polygon)
        self.source_open = self.source_area >= 4 * MIN_OPEN_PIXELS  # the portrait shows its own mouth interior
        shown = self._source_interior_pixels() if self.source_open else None
        self.palette = _palette(image, motion.source, shown)
        self.local = self._local_map()
        self.lower = np.isin(np.arange(len(self.parts.vertices)), np.unique(
            self.parts.triangles[np.isin(self.parts.part, (rig_head.LOWER_TEETH, rig_head.TONGUE))]))
        self.lower_drop = motion.close[list(lm.LOWER_LIP_INNER[1:-1])].mean(0) / self.local[0]  # rig metres
        face_width = float(np.linalg.norm(motion.source[234, :2] - motion.source[454, :2]))
        self.depth_scale = 0.03 * motion.to_camera.scale  # 3 cm of mouth depth, in pixels
        self.shade_radius = 0.02 * face_width

    def _source_interior_pixels(self) -> np.ndarray:
        box = box_around(self.source_polygon, 1, self.image.shape)
        inside = coverage(self.source_polygon, box) > 0.99
        x0, y0, x1, y1 = box
        return self.image[y0:y1, x0:x1][inside].astype(np.float64)

    def _local_map(self) -> tuple[float, np.ndarray, np.ndarray]:
        """(scale, rig mouth centre, portrait mouth centre): the rig's mouth fitted into the portrait's.

        The portrait's mouth is taken closed (its own opening sealed), so the rig's teeth sit where
        the portrait's would.
        """
        rig = self.motion.rig_neutral
        closed = self.motion.shape + self.motion.close
        corners = (lm.UPPER_LIP_INNER[0], lm.UPPER_LIP_INNER[-1])
        width = lambda points: float(np.linalg.norm(points[corners[0]] - points[corners[1]]))  # noqa: E731
        centre = lambda points: 0.5 * (points[13] + points[14])  # noqa: E731
        return width(closed) / width(rig), centre(rig), centre(closed)

    # ------------------------------------------------------------ per frame

    def paint(self, frame: np.ndarray, geometry: FrameGeometry) -> None:
        polygon = geometry.landmarks[opening("mouth"), :2]
        if not self.source_open and polygon_area(polygon) < self.source_area + MIN_OPEN_PIXELS:
            return  # closed lips stay the portrait's own lips
        box = box_around(polygon, 2, frame.shape)
        if box[2] <= box[0] or box[3] <= box[1]:
            return
        alpha = coverage(polygon, box)
        interior = self._synthetic(geometry, box) * self._lip_shadow(alpha)[..., None]
        if self.source_open:
            interior = self._with_source_teeth(interior, geometry, box)
        x0, y0, x1, y1 = box
        region = frame[y0:y1, x0:x1]
        region += alpha[..., None] * (interior - region)

    def _synthetic(self, geometry: FrameGeometry, box: Box) -> np.ndarray:
        """(h, w, 3) float32 rig mouth parts rendered into `box`, back to front, supersampled."""
        import cv2

        x0, y0, x1, y1 = box
        ss = SUPERSAMPLE
        canvas = np.empty(((y1 - y0) * ss, (x1 - x0) * ss, 3), np.float32)
        canvas[:] = self.palette[rig_head.CAVITY]
        tris, facing, dim = self._projected_triangles(geometry)
        fixed = np.round((tris[:, :, :2] - (x0 - 0.5 + 0.5 / ss, y0 - 0.5 + 0.5 / ss)) * ss * 16).astype(np.int32)
        lo, hi = fixed.min(1), fixed.max(1)
        visible = (hi[:, 0] >= 0) & (hi[:, 1] >= 0) & (lo[:, 0] < canvas.shape[1] * 16) & (lo[:, 1] < canvas.shape[0] * 16)
        visible &= facing > 0
        for index in self._draw_order(tris, visible, geometry.weights):
            colour = self.palette[int(self.parts.material[index])] * ((0.8 + 0.2 * facing[index]) * dim[index])
            cv2.fillConvexPoly(canvas, fixed[index], colour.tolist(), lineType=cv2.LINE_8, shift=4)
        return cv2.resize(canvas, (x1 - x0, y1 - y0), interpolation=cv2.INTER_AREA)

    def _draw_order(self, tris: np.ndarray, visible: np.ndarray, weights: np.ndarray) -> np.ndarray:
        """Back to front: mouth bag, tongue, lower then upper teeth (tongue last when it sticks out),
        far to near within each part; a coarse order that suits a mouth better than sorting all."""
        tongue_out = weights[INDEX["tongueOut"]] > TONGUE_OUT_IN_FRONT
        ranks = {rig_head.MOUTH: 0, rig_head.TONGUE: 3 if tongue_out else 1, rig_head.LOWER_TEETH: 2,
                 rig_head.UPPER_TEETH: 2}
        rank = np.vectorize(ranks.get)(self.parts.part)
        depth = tris[:, :, 2].mean(1)
        order = np.lexsort((-depth, rank))
        return order[visible[order]]

    def _projected_triangles(self, geometry: FrameGeometry) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(F, 3, 3) camera-pixel triangles, (F,) facing (> 0 towards the camera), (F,) depth dimming."""
        scale, rig_centre, own_centre = self.local
        rig = self.parts.vertices + np.tensordot(geometry.weights, self.parts.deltas, 1)
        rig[self.lower] -= (1.0 - geometry.seal) * self.lower_drop  # with the portrait's own lower lip
        placed = own_centre + scale * (rig - rig_centre)
        tris = self.motion.rig_to_camera(placed, geometry.rotation)[self.parts.triangles]
        normals = np.cross(tris[:, 1] - tris[:, 0], tris[:, 2] - tris[:, 0])
        facing = -normals[:, 2] / (np.linalg.norm(normals, axis=1) + 1e-9)
        facing = np.where(self.parts.material != rig_head.CAVITY, facing, np.abs(facing))  # the bag from inside
        front = geometry.landmarks[[13, 14], 2].mean()
        dim = np.exp(-np.maximum(tris[:, :, 2].mean(1) - front, 0.0) / self.depth_scale)
        dim = np.where(self.parts.material == rig_head.TEETH, 1.0, dim)  # enamel stays bright
        return tris, facing, dim

    def _with_source_teeth(self, interior: np.ndarray, geometry: FrameGeometry, box: Box) -> np.ndarray:
        """Where the turned skull brings the portrait's own open mouth, show it (its teeth follow the skull)."""
        points = np.array(SKULL_POINTS + lm.UPPER_LIP_INNER)
        moved = self.motion.rig_to_camera(self.motion.shape[points], geometry.rotation)[:, :2]
        backward = fit_affine(moved, self.motion.source[points, :2])  # output -> source
        grid = pixel_grid(box)
        positions = grid @ backward[:, :2].T + backward[:, 2]
        source_box = box_around(self.source_polygon, 2, self.image.shape)
        own = coverage(self.source_polygon, source_box)
        local = positions - np.array(source_box[:2], np.float32)
        shown = sample(own, local, cubic=False)
        teeth = sample(self.image, positions).astype(np.float32)
        return interior + shown[..., None] * (teeth - interior)

    def _lip_shadow(self, alpha: np.ndarray) -> np.ndarray:
        """Darker near the lips: the blurred opening mask as an ambient-occlusion term."""
        import cv2

        blurred = cv2.GaussianBlur(alpha, (0, 0), max(self.shade_radius, 0.5))
        return np.clip(0.55 + 0.7 * blurred, 0.55, 1.0).astype(np.float32)
