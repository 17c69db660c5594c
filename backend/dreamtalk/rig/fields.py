"""Smooth weight fields over the head used to shape the ARKit keys (pure numpy).

Every field is a function of the neutral vertex positions in the rig frame (X = subject's left,
Y = back, Z = up, metres, origin between the eye centres), built from named face-mesh landmarks, so
each key is a closed-form displacement field: weight(vertex) * direction, or a weighted rotation.
"""

from __future__ import annotations

import numpy as np

from . import landmarks as lm
from .head import EYEBALL, FACE, LOWER_TEETH, MOUTH, SKULL, TONGUE, HeadMesh

JAW_PIVOT = np.array([0.0, 0.072, -0.034])  # temporomandibular joint axis (X), ~1 cm before the ear


def smoothstep(x: np.ndarray) -> np.ndarray:
    """Cubic Hermite step: 0 below 0, 1 above 1."""
    x = np.clip(x, 0.0, 1.0)
    return x * x * (3.0 - 2.0 * x)


def gauss(points: np.ndarray, centre: np.ndarray, radii: np.ndarray | tuple[float, ...]) -> np.ndarray:
    """Anisotropic Gaussian bump exp(-|(p - c) / r|^2)."""
    return np.exp(-((((points - centre) / np.asarray(radii)) ** 2).sum(-1)))


def rotation(axis: np.ndarray, angle: float) -> np.ndarray:
    """Rodrigues rotation matrix about a unit axis."""
    axis = np.asarray(axis, dtype=np.float64) / np.linalg.norm(axis)
    k = np.array([[0, -axis[2], axis[1]], [axis[2], 0, -axis[0]], [-axis[1], axis[0], 0]])
    return np.eye(3) + np.sin(angle) * k + (1 - np.cos(angle)) * (k @ k)


def rotate_delta(points: np.ndarray, pivot: np.ndarray, axis: np.ndarray, angle: float) -> np.ndarray:
    """Displacement that rotates `points` about the axis through `pivot` (a shape key's linear chord)."""
    return (points - pivot) @ rotation(axis, angle).T + pivot - points


def left_side(points: np.ndarray, width: float = 0.012) -> np.ndarray:
    """1 on the subject's left (+X), 0 on the right, a smooth ramp `width` wide across the midline."""
    return smoothstep(points[:, 0] / width + 0.5)


class Fields:
    """Precomputed landmark-driven fields over all vertices of a `HeadMesh`."""

    def __init__(self, head: HeadMesh) -> None:
        v = head.vertices
        self.head, self.v, face = head, v, head.vertices[: lm.NUM_LANDMARKS]
        self.soft = np.isin(head.part, (FACE, SKULL)).astype(np.float64)
        up_in, low_in = face[list(lm.UPPER_LIP_INNER)], face[list(lm.LOWER_LIP_INNER)]
        up_out, low_out = face[list(lm.UPPER_LIP_OUTER)], face[list(lm.LOWER_LIP_OUTER)]
        self.corner_x = float(up_in[-1, 0])
        x = v[:, 0]
        self.mid_z = np.interp(x, up_in[:, 0], 0.5 * (up_in[:, 2] + low_in[:, 2]))
        self.up_h = np.interp(x, up_out[:, 0], up_out[:, 2]) - self.mid_z  # upper-lip height (> 0)
        self.low_h = self.mid_z - np.interp(x, low_out[:, 0], low_out[:, 2])
        self.low_inner = low_in
        self.mouth = head.anchors["mouth"]
        self.chin_z = float(face[lm.CHIN, 2])
        self.eyes = {"left": head.anchors["eye_left"], "right": head.anchors["eye_right"]}
        self.jaw = self._jaw_weight()

    def lateral(self, spread: float = 1.0) -> np.ndarray:
        """1 between the mouth corners, fading out `spread` * half a mouth width beyond them."""
        xc = self.corner_x
        return 1.0 - smoothstep((np.abs(self.v[:, 0]) - 0.9 * xc) / (0.5 * xc * spread))

    def front(self, depth: float = 0.02) -> np.ndarray:
        """1 in front of the mouth's depth plus `depth`, 0 a further 15 mm back."""
        return 1.0 - smoothstep((self.v[:, 1] - self.mouth[1] - depth) / 0.015)

    def _jaw_weight(self) -> np.ndarray:
        """Share of the mandible's rotation: 1 for chin, lower lip, lower teeth, tongue; 0 above the mouth.

        Sharp across the lips (the mouth is a cut), widening beyond the corners into a ramp on the
        cheeks; fading behind the jaw pivot and down the neck.
        """
        v, xc = self.v, self.corner_x
        beyond = smoothstep((np.abs(v[:, 0]) - 0.7 * xc) / (0.6 * xc))
        width = 0.0002 + 0.025 * beyond
        w = smoothstep((self.mid_z - v[:, 2]) / width + 0.35 * beyond)
        w *= 1.0 - smoothstep((v[:, 1] - JAW_PIVOT[1] + 0.05) / 0.05)
        w *= 1.0 - smoothstep((self.chin_z - v[:, 2]) / 0.04)
        soft = np.isin(self.head.part, (FACE, SKULL, MOUTH))
        rigid = np.isin(self.head.part, (LOWER_TEETH, TONGUE))
        return np.where(rigid, 1.0, np.where(soft, w, 0.0))

    def lip_bands(self, fade: float = 0.007) -> tuple[np.ndarray, np.ndarray]:
        """(upper, lower) lip weights: 1 on the lip, Gaussian fall-off `fade` beyond its outer edge."""
        h = self.v[:, 2] - self.mid_z
        base = self.lateral() * self.front() * self.soft
        up = np.where(h > 0, np.exp(-((np.maximum(h - self.up_h, 0) / fade) ** 2)), 0.0)
        low = np.where(h <= 0, np.exp(-((np.maximum(-h - self.low_h, 0) / fade) ** 2)), 0.0)
        return up * base, low * base

    def lip_depth(self) -> tuple[np.ndarray, np.ndarray]:
        """(upper, lower) 0 at the inner lip line, 1 at the lip's outer edge (for rolls and presses)."""
        h = self.v[:, 2] - self.mid_z
        return (np.clip(h / np.maximum(self.up_h, 1e-4), 0, 1),
                np.clip(-h / np.maximum(self.low_h, 1e-4), 0, 1))

    def eyeball(self, side: str) -> np.ndarray:
        """Mask of one eyeball's vertices."""
        sign = 1.0 if side == "left" else -1.0
        return ((self.head.part == EYEBALL) & (self.v[:, 0] * sign > 0)).astype(np.float64)

    def lid(self, side: str, upper: bool, fade: float = 0.006) -> tuple[np.ndarray, np.ndarray]:
        """(weight, margin z) of an upper/lower eyelid: 1 at the lid margin, fading away from it."""
        chain = {("left", True): lm.LEFT_EYE_UPPER, ("left", False): lm.LEFT_EYE_LOWER,
                 ("right", True): lm.RIGHT_EYE_UPPER, ("right", False): lm.RIGHT_EYE_LOWER}[(side, upper)]
        pts = self.v[list(chain)]
        order = np.argsort(pts[:, 0])
        margin = np.interp(self.v[:, 0], pts[order, 0], pts[order, 2])
        half = 0.5 * (pts[:, 0].max() - pts[:, 0].min())
        centre_x = 0.5 * (pts[:, 0].max() + pts[:, 0].min())
        dz = (self.v[:, 2] - margin) * (1 if upper else -1)
        across = 1.0 - smoothstep((np.abs(self.v[:, 0] - centre_x) - half) / 0.006)
        w = np.where(dz >= -1e-5, np.exp(-((np.maximum(dz, 0) / fade) ** 2)), 0.0)
        near = 1.0 - smoothstep((self.v[:, 1] - self.eyes[side][1] - 0.004) / 0.01)
        return w * across * near * self.soft, margin
