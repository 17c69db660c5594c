"""Relative motion transfer: the bundled rig's motion -> the portrait's 468 landmarks, frame by frame.

The rig's first 468 vertices are MediaPipe's face-mesh landmarks, so the rig maps one-to-one onto the
landmarks found in a portrait. A 3-D similarity (scale, rotation, translation; Umeyama 1991) fitted on
landmarks that no expression key moves takes the rig's neutral face onto the portrait; what it leaves
over is the person's own shape and expression (the identity offsets), kept in every frame. A frame's
ARKit weights move the rig's landmarks by its key displacements; the head turns about the rig's neck
pivot by the frame's yaw/pitch/roll, expressed in the portrait's own head frame, so that a zero pose
keeps the portrait's pose (relative transfer, as Face-Vid2Vid and LivePortrait drive
`R_d R_d0^T R_s`).

Three corrections make relative transfer work on real portraits:
- lid keys (blink, squint, wide) are scaled per eye by the portrait's eye opening over the rig's,
  so a blink closes any eye fully and no more;
- a portrait photographed with parted lips gets a "sealing" displacement (its opening undone with the
  rig's own jaw/lip keys, fitted by non-negative least squares) applied as far as the frame's
  lip-sealing keys (mouthClose, mouthPress, mouthRoll) ask, so p/b/m closures close it;
- upper and lower lips (and lids) never cross further than they do in the portrait.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.optimize import nnls

from ..core.arkit import INDEX
from ..rig import landmarks as lm
from ..rig.shapes import HEAD_PIVOT, landmark_blendshapes

RIG_TO_CAMERA = np.array([[1.0, 0, 0], [0, 0, -1.0], [0, 1.0, 0]])  # rig (X left, Y back, Z up) -> (x, y down, z in)
LIP_PAIRS = np.array([lm.UPPER_LIP_INNER[1:-1], lm.LOWER_LIP_INNER[1:-1]]).T  # (9, 2) upper, lower
LID_PAIRS = {
    "Left": np.array([lm.LEFT_EYE_UPPER[1:-1], lm.LEFT_EYE_LOWER[1:-1]]).T,
    "Right": np.array([lm.RIGHT_EYE_UPPER[1:-1], lm.RIGHT_EYE_LOWER[1:-1]]).T,
}
LID_KEYS = ("eyeBlink", "eyeSquint", "eyeWide")
OPENING_KEYS = ("jawOpen", "mouthLowerDownLeft", "mouthLowerDownRight", "mouthUpperUpLeft", "mouthUpperUpRight")
SEALING_KEYS = {"mouthClose": 1.0, "mouthPressLeft": 0.5, "mouthPressRight": 0.5,
                "mouthRollLower": 0.5, "mouthRollUpper": 0.5}
STABLE_MOTION = 0.0015  # metres: landmarks no expression key moves further than this anchor the fit


def head_rotation(pose: np.ndarray) -> np.ndarray:
    """(..., 3) yaw, pitch, roll -> (..., 3, 3) rig-frame rotation, as the rig's HeadRoot (Euler YXZ)."""
    yaw, pitch, roll = (np.asarray(pose, np.float64)[..., i] for i in range(3))
    cy, sy, cp, sp, cr, sr = np.cos(yaw), np.sin(yaw), np.cos(pitch), np.sin(pitch), np.cos(roll), np.sin(roll)
    zero, one = np.zeros_like(yaw), np.ones_like(yaw)
    rz = np.stack([np.stack([cy, -sy, zero], -1), np.stack([sy, cy, zero], -1), np.stack([zero, zero, one], -1)], -2)
    rx = np.stack([np.stack([one, zero, zero], -1), np.stack([zero, cp, -sp], -1), np.stack([zero, sp, cp], -1)], -2)
    ry = np.stack([np.stack([cr, zero, sr], -1), np.stack([zero, one, zero], -1), np.stack([-sr, zero, cr], -1)], -2)
    return rz @ rx @ ry


@dataclass(frozen=True)
class Similarity:
    """x -> scale * rotation @ x + translation."""

    scale: float
    rotation: np.ndarray  # (3, 3), det +1
    translation: np.ndarray  # (3,)

    def apply(self, points: np.ndarray) -> np.ndarray:
        return points @ (self.scale * self.rotation).T + self.translation

    def invert(self, points: np.ndarray) -> np.ndarray:
        return (points - self.translation) @ self.rotation / self.scale


def fit_similarity(source: np.ndarray, target: np.ndarray) -> Similarity:
    """Least-squares similarity taking (N, 3) `source` onto `target` (Umeyama 1991)."""
    mu_s, mu_t = source.mean(0), target.mean(0)
    s, t = source - mu_s, target - mu_t
    u, sigma, vt = np.linalg.svd(t.T @ s / len(source))
    d = np.diag([1.0, 1.0, np.sign(np.linalg.det(u @ vt))])
    rotation = u @ d @ vt
    scale = float(np.trace(np.diag(sigma) @ d) / (s ** 2).sum(1).mean())
    return Similarity(scale, rotation, mu_t - scale * rotation @ mu_s)


@dataclass
class FrameGeometry:
    """Where one frame puts the portrait's face."""

    landmarks: np.ndarray  # (468, 3) camera pixels
    rotation: np.ndarray  # (3, 3) the head's rotation in the rig frame (relative to the portrait's pose)
    weights: np.ndarray  # (52,) the frame's ARKit weights
    seal: float  # 0..1, how far the portrait's own lip opening is closed


class PortraitMotion:
    """Built once per portrait; `frame(weights, pose)` gives the driven landmarks of one frame."""

    def __init__(self, landmarks: np.ndarray) -> None:
        rig_neutral, deltas = landmark_blendshapes()
        self.rig_neutral = rig_neutral  # (468, 3) metres, rig frame
        stable = np.flatnonzero(np.linalg.norm(deltas, axis=2).max(0) < STABLE_MOTION)
        fit = fit_similarity(rig_neutral[stable] @ RIG_TO_CAMERA.T, landmarks[stable, :3])
        self.to_camera = Similarity(fit.scale, fit.rotation @ RIG_TO_CAMERA, fit.translation)
        self.source_full = landmarks.copy()  # (478, 3) camera pixels, iris points included
        self.source = landmarks[:468, :3].copy()  # (468, 3) camera pixels
        self.shape = self.to_camera.invert(self.source)  # (468, 3) the portrait in the rig frame
        self.pivot = np.asarray(HEAD_PIVOT, np.float64)
        self.deltas = self._scaled_lid_deltas(deltas)
        self.close = self._sealing_delta(deltas)
        self.min_gap = {name: self._gaps(self.shape, pairs) for name, pairs in self._pairs().items()}

    # ------------------------------------------------------------ built once

    def _scaled_lid_deltas(self, deltas: np.ndarray) -> np.ndarray:
        """Lid keys scaled by the portrait's eye opening over the rig's, per eye."""
        deltas = deltas.copy()
        for side, pairs in LID_PAIRS.items():
            rig = self._gaps(self.rig_neutral, pairs).mean()
            own = self._gaps(self.shape, pairs).mean()
            ratio = float(np.clip(own / rig, 0.3, 2.5)) if rig > 0 else 1.0
            for key in LID_KEYS:
                deltas[INDEX[f"{key}{side}"]] *= ratio
        return deltas

    def _sealing_delta(self, deltas: np.ndarray) -> np.ndarray:
        """Displacement that closes the portrait's own lip opening, made of the rig's opening keys."""
        rig_gap = self._gaps(self.rig_neutral, LIP_PAIRS)
        own_gap = self._gaps(self.shape, LIP_PAIRS) - rig_gap
        self.opening = np.zeros(52)  # the portrait's own lip opening, as weights of OPENING_KEYS
        if own_gap.max() <= 0:
            return np.zeros_like(self.shape)
        keys = [INDEX[k] for k in OPENING_KEYS]
        basis = np.stack([self._gaps(self.rig_neutral + deltas[k], LIP_PAIRS) - rig_gap for k in keys], 1)
        amounts, _ = nnls(basis, np.maximum(own_gap, 0.0))
        self.opening[keys] = amounts
        close = -np.tensordot(amounts, deltas[keys], 1)
        left = np.maximum(own_gap - basis @ amounts, 0.0) / 2  # what the keys cannot close (corners)
        close[LIP_PAIRS[:, 0], 2] -= left
        close[LIP_PAIRS[:, 1], 2] += left
        return close

    @staticmethod
    def _gaps(points: np.ndarray, pairs: np.ndarray) -> np.ndarray:
        """Vertical (rig Z) opening of each upper/lower pair."""
        return points[pairs[:, 0], 2] - points[pairs[:, 1], 2]

    @staticmethod
    def _pairs() -> dict[str, np.ndarray]:
        return {"lips": LIP_PAIRS, **{f"lids{side}": pairs for side, pairs in LID_PAIRS.items()}}

    # ------------------------------------------------------------ per frame

    def seal(self, weights: np.ndarray, gain: float) -> float:
        amount = sum(w * float(weights[INDEX[k]]) for k, w in SEALING_KEYS.items())
        return float(np.clip(gain * amount, 0.0, 1.0))

    def frame(self, weights: np.ndarray, pose: np.ndarray, seal_gain: float = 4.0) -> FrameGeometry:
        weights = np.asarray(weights, np.float64)
        seal = self.seal(weights, seal_gain)
        shape = self.shape + np.tensordot(weights, self.deltas, 1) + seal * self.close
        self._uncross(shape)
        rotation = head_rotation(pose)
        moved = (shape - self.pivot) @ rotation.T + self.pivot
        return FrameGeometry(self.to_camera.apply(moved), rotation, weights, seal)

    def _uncross(self, shape: np.ndarray) -> None:
        """Lips and lids may close, but cross no further than they do in the portrait."""
        for name, pairs in self._pairs().items():
            floor = np.minimum(self.min_gap[name], 0.0)
            excess = floor - self._gaps(shape, pairs)
            push = np.maximum(excess, 0.0) / 2
            shape[pairs[:, 0], 2] += push
            shape[pairs[:, 1], 2] -= push

    def rig_to_camera(self, points: np.ndarray, rotation: np.ndarray) -> np.ndarray:
        """(N, 3) rig-frame points (already displaced), turned with the head, in camera pixels."""
        return self.to_camera.apply((points - self.pivot) @ rotation.T + self.pivot)
