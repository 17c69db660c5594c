"""The 52 ARKit shape keys of the bundled head as displacement fields (pure numpy).

Each "left" key is a closed-form field (see `fields.py`); its right twin is its exact mirror image
(d_R[v] = S d_L[mirror(v)], S = diag(-1, 1, 1)), and keys without a side are symmetrised the same way.
Magnitudes were set by eye against Apple's ARKit reference images at 1.0 (full-intensity FACS units):
jawOpen rotates the mandible 23 degrees about the jaw pivot, eyeBlink brings the upper lid margin
onto the lower one, mouthClose undoes 60 % of the jaw's lip opening on the lower lip and brings the
upper lip down by the remaining 40 %, so jawOpen + mouthClose shuts the lips with the jaw open.
Eye gaze keys rotate the eyeball vertices about the eyeball centre (shape keys, no drivers).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from ..core.arkit import ARKIT_NAMES, mirror_name
from . import landmarks as lm
from .fields import JAW_PIVOT, Fields, gauss, left_side, rotate_delta
from .head import TONGUE, HeadMesh, build_head, mirror_vertices

DATA = Path(__file__).resolve().parent / "data"
HEAD_PIVOT = (0.0, 0.055, -0.095)  # head-neck pivot (atlanto-occipital joint region), metres
JAW_OPEN_RAD = 0.40
MOUTH_CLOSE_LOWER_SHARE = 0.6
EYE_LOOK_RAD = {"Up": 0.38, "Down": 0.45, "In": 0.50, "Out": 0.50}
X_AXIS, Z_AXIS = np.array([1.0, 0.0, 0.0]), np.array([0.0, 0.0, 1.0])
Key = Callable[[Fields], np.ndarray]


def _jaw_open(f: Fields) -> np.ndarray:
    return f.jaw[:, None] * rotate_delta(f.v, JAW_PIVOT, X_AXIS, JAW_OPEN_RAD)


def _jaw_shift(direction: tuple[float, float, float]) -> Key:
    return lambda f: f.jaw[:, None] * np.asarray(direction)


def _mouth_close(f: Fields) -> np.ndarray:
    """Lower lip back by 60 % of its jawOpen travel, upper lip down by the matching 40 %."""
    up, low = f.lip_bands()
    jaw = _jaw_open(f)
    inner = jaw[list(lm.LOWER_LIP_INNER)]
    xs = f.low_inner[:, 0]
    at_lower = np.stack([np.interp(f.v[:, 0], xs, inner[:, i]) for i in range(3)], 1)
    return -MOUTH_CLOSE_LOWER_SHARE * low[:, None] * jaw + (1 - MOUTH_CLOSE_LOWER_SHARE) * up[:, None] * at_lower


def _vec(w: np.ndarray, d: tuple[float, float, float]) -> np.ndarray:
    return w[:, None] * np.asarray(d)


def _funnel(f: Fields) -> np.ndarray:
    """Lips forward and rounded: inner lips open, corners drawn towards the midline."""
    up, low = f.lip_bands()
    du, dl = f.lip_depth()
    lips = up + low
    d = _vec(lips, (0.0, -0.010, 0.0)) + _vec(up * (1 - du), (0, 0, 0.004)) + _vec(low * (1 - dl), (0, 0, -0.005))
    d[:, 0] -= 0.25 * lips * f.v[:, 0]
    return d


def _pucker(f: Fields) -> np.ndarray:
    """Lips pushed forward and gathered towards the midline, inner line kept closed."""
    lips = sum(f.lip_bands())
    d = _vec(lips, (0.0, -0.012, 0.0))
    d[:, 0] -= 0.40 * lips * f.v[:, 0]
    return d


def _corner(f: Fields) -> np.ndarray:
    corner = f.v[lm.MOUTH_CORNER_LEFT]
    return gauss(f.v, corner, (0.014, 0.02, 0.013)) * f.front(0.03) * f.soft


def _corner_key(d: tuple[float, float, float], cheek: float = 0.0) -> Key:
    def key(f: Fields) -> np.ndarray:
        out = _vec(_corner(f), d)
        if cheek:
            out += _vec(gauss(f.v, f.v[lm.LEFT_CHEEK], (0.016, 0.03, 0.014)) * f.soft, (0, -0.3 * cheek, cheek))
        return out
    return key


def _stretch(f: Fields) -> np.ndarray:
    _, low = f.lip_bands()
    return _vec(_corner(f), (0.009, 0.002, -0.004)) + _vec(low * left_side(f.v), (0.002, 0.0, -0.002))


def _side_lips(d_up: tuple[float, float, float], d_low: tuple[float, float, float], outer: bool) -> Key:
    """Left half of the lips; `outer` weights by depth into the lip (0 on the inner line)."""
    def key(f: Fields) -> np.ndarray:
        up, low = f.lip_bands()
        du, dl = f.lip_depth()
        if outer:
            up, low = up * du, low * dl
        side = left_side(f.v)
        return _vec(up * side, d_up) + _vec(low * side, d_low)
    return key


def _mouth_side(f: Fields) -> np.ndarray:
    w = gauss(f.v, f.mouth, (f.corner_x * 1.4, 0.03, 0.02)) * f.front(0.03) * f.soft
    return _vec(w, (0.010, 0.0, 0.0))


def _chin_and_lip(f: Fields) -> np.ndarray:
    _, low = f.lip_bands()
    _, dl = f.lip_depth()
    chin = gauss(f.v, f.v[lm.CHIN] + np.array([0, 0, 0.02]), (0.02, 0.03, 0.018)) * f.soft
    return _vec(np.maximum(low * dl, chin), (0.0, -0.003, 0.004)) + _vec(low * (1 - dl), (0.0, -0.002, 0.0))


def _brow(centre_index: int, radii: tuple[float, float, float], d: tuple[float, float, float]) -> Key:
    def key(f: Fields) -> np.ndarray:
        above = np.clip((f.v[:, 2] - 0.004) / 0.008, 0, 1)  # brows only: nothing below the upper lid
        return _vec(gauss(f.v, f.v[centre_index], radii) * above * f.soft, d)
    return key


def _brow_down(f: Fields) -> np.ndarray:
    above = np.clip((f.v[:, 2] - 0.004) / 0.008, 0, 1)
    brow = np.mean([f.v[i] for i in lm.LEFT_BROW], axis=0)
    w = gauss(f.v, brow, (0.026, 0.04, 0.013)) * above * f.soft
    inner = gauss(f.v, f.v[lm.LEFT_BROW_INNER[0]], (0.014, 0.04, 0.014)) * above * f.soft
    return _vec(w, (0.0, -0.001, -0.007)) + _vec(inner, (-0.003, -0.001, 0.0))


def _cheek_puff(f: Fields) -> np.ndarray:
    left = f.v[lm.LEFT_CHEEK] + np.array([0.004, 0.0, -0.012])
    w = gauss(f.v, left, (0.02, 0.03, 0.02)) * f.soft
    return _vec(w, (0.010, -0.006, 0.0))  # mirrored onto the right cheek by symmetrisation


def _cheek_squint(f: Fields) -> np.ndarray:
    centre = f.eyes["left"] + np.array([0.004, 0.0, -0.020])
    w = gauss(f.v, centre, (0.018, 0.03, 0.011)) * f.soft * left_side(f.v)
    lid, _ = f.lid("left", upper=False)
    return _vec(w, (0.0, -0.001, 0.005)) + _vec(lid, (0.0, 0.0, 0.001))


def _nose_sneer(f: Fields) -> np.ndarray:
    wing = gauss(f.v, f.v[lm.LEFT_NOSE_WING], (0.009, 0.03, 0.012)) * f.soft
    up, _ = f.lip_bands()
    return _vec(wing, (0.0015, 0.001, 0.005)) + _vec(up * left_side(f.v) * gauss(
        f.v, f.v[lm.LEFT_NOSE_WING], (0.012, 0.05, 0.03)), (0.0, 0.0, 0.0015))


def _blink(f: Fields) -> np.ndarray:
    """Upper lid margin onto the lower one, pushed forward so the lid clears the cornea mid-way."""
    w, upper = f.lid("left", upper=True)
    _, lower = f.lid("left", upper=False)
    drop = lower + 0.0002 - upper
    centre, radius = f.eyes["left"], 0.0118 + 0.0009
    mid = f.v + np.stack([np.zeros_like(drop), np.zeros_like(drop), 0.5 * drop], 1)
    lateral = ((mid[:, [0, 2]] - centre[[0, 2]]) ** 2).sum(-1)
    surface_y = centre[1] - np.sqrt(np.maximum(radius ** 2 - lateral, 0.0))
    forward = 2.0 * np.maximum(mid[:, 1] - surface_y, 0.0) * (lateral < radius ** 2)
    return np.stack([np.zeros_like(drop), -forward, drop], 1) * w[:, None]


def _lid_key(d_upper: tuple[float, float, float], d_lower: tuple[float, float, float],
             cheek: float = 0.0) -> Key:
    def key(f: Fields) -> np.ndarray:
        up, _ = f.lid("left", upper=True)
        low, _ = f.lid("left", upper=False)
        out = _vec(up, d_upper) + _vec(low, d_lower)
        if cheek:
            centre = f.eyes["left"] + np.array([0.0, 0.0, -0.016])
            out += _vec(gauss(f.v, centre, (0.016, 0.03, 0.008)) * f.soft * (1 - low), (0, 0, cheek))
        return out
    return key


def _look(direction: str) -> Key:
    """Rotate the left eyeball (and nudge the lids) for eyeLook{Up,Down,In,Out}Left."""
    axis, sign = {"Up": (X_AXIS, -1), "Down": (X_AXIS, 1), "In": (Z_AXIS, -1), "Out": (Z_AXIS, 1)}[direction]
    lids = {"Up": ((0, 0, 0.0015), (0, 0, 0.0005)), "Down": ((0, 0, -0.003), (0, 0, -0.001)),
            "In": ((-0.0006, 0, 0), (-0.0006, 0, 0)), "Out": ((0.0006, 0, 0), (0.0006, 0, 0))}[direction]

    def key(f: Fields) -> np.ndarray:
        ball = f.eyeball("left")[:, None] * rotate_delta(f.v, f.eyes["left"], axis, sign * EYE_LOOK_RAD[direction])
        return ball + _lid_key(*lids)(f)
    return key


def _tongue_out(f: Fields) -> np.ndarray:
    tongue = (f.head.part == TONGUE).astype(np.float64)
    return 0.35 * _jaw_open(f) + _vec(tongue, (0.0, -0.026, -0.002))


KEYS: dict[str, Key] = {  # left-side and unsided keys; right-side keys are their mirror images
    "eyeBlinkLeft": _blink,
    **{f"eyeLook{d}Left": _look(d) for d in ("Down", "In", "Out", "Up")},
    "eyeSquintLeft": _lid_key((0.0, 0.0, -0.0012), (0.0, -0.0005, 0.003), cheek=0.002),
    "eyeWideLeft": _lid_key((0.0, -0.0005, 0.0035), (0.0, 0.0, -0.001)),
    "jawForward": _jaw_shift((0.0, -0.009, 0.0)),
    "jawLeft": _jaw_shift((0.010, 0.0, 0.0)),
    "jawOpen": _jaw_open,
    "mouthClose": _mouth_close,
    "mouthFunnel": _funnel,
    "mouthPucker": _pucker,
    "mouthLeft": _mouth_side,
    "mouthSmileLeft": _corner_key((0.006, 0.006, 0.010), cheek=0.003),
    "mouthFrownLeft": _corner_key((0.002, 0.0, -0.008)),
    "mouthDimpleLeft": _corner_key((0.004, 0.007, 0.001)),
    "mouthStretchLeft": _stretch,
    "mouthRollLower": _side_lips((0, 0, 0), (0.0, 0.003, 0.004), outer=True),
    "mouthRollUpper": _side_lips((0.0, 0.003, -0.004), (0, 0, 0), outer=True),
    "mouthShrugLower": _chin_and_lip,
    "mouthShrugUpper": _side_lips((0.0, -0.003, 0.004), (0, 0, 0), outer=False),
    "mouthPressLeft": _side_lips((0.0, 0.0, -0.0025), (0.0, 0.0, 0.0025), outer=True),
    "mouthLowerDownLeft": _side_lips((0, 0, 0), (0.0, -0.002, -0.007), outer=False),
    "mouthUpperUpLeft": _side_lips((0.0, -0.002, 0.007), (0, 0, 0), outer=False),
    "browDownLeft": _brow_down,
    "browInnerUp": _brow(lm.LEFT_BROW_INNER[0], (0.014, 0.04, 0.016), (0.0, 0.0, 0.009)),
    "browOuterUpLeft": _brow(lm.LEFT_BROW_OUTER[0], (0.016, 0.04, 0.016), (0.0, 0.0, 0.008)),
    "cheekPuff": _cheek_puff,
    "cheekSquintLeft": _cheek_squint,
    "noseSneerLeft": _nose_sneer,
    "tongueOut": _tongue_out,
}
# Unsided keys written on the left half only (the mirror image supplies the right half).
_HALF_WRITTEN = {"mouthRollLower", "mouthRollUpper", "mouthShrugUpper", "browInnerUp", "cheekPuff"}


@dataclass
class RigModel:
    """Head mesh plus the 52 key displacements (52, N, 3) in ARKit order and the vertex mirror map."""

    head: HeadMesh
    names: tuple[str, ...]
    deltas: np.ndarray
    mirror: np.ndarray


def mirror_delta(delta: np.ndarray, mirror: np.ndarray) -> np.ndarray:
    """Reflect a displacement field through X = 0: d'[v] = S d[mirror(v)]."""
    return delta[mirror] * np.array([-1.0, 1.0, 1.0])


def _follow(delta: np.ndarray, head: HeadMesh) -> np.ndarray:
    """Followers (eye lining, mouth cavity) copy their share of the leader's displacement."""
    idx = np.flatnonzero(head.leader >= 0)
    w = head.follow[idx, None]
    delta = delta.copy()
    delta[idx] = w * delta[head.leader[idx]] + (1 - w) * delta[idx]
    return delta


def key_deltas(head: HeadMesh, mirror: np.ndarray) -> np.ndarray:
    """(52, N, 3) displacements in ARKit order."""
    fields = Fields(head)
    out = {}
    for name, fn in KEYS.items():
        delta = fn(fields)
        if name in _HALF_WRITTEN:
            delta = delta + mirror_delta(delta, mirror)
        elif mirror_name(name) == name:
            delta = 0.5 * (delta + mirror_delta(delta, mirror))
        out[name] = _follow(delta, head)
        if mirror_name(name) != name:
            out[mirror_name(name)] = mirror_delta(out[name], mirror)
    return np.stack([out[n] for n in ARKIT_NAMES])


@lru_cache(maxsize=1)
def build_model() -> RigModel:
    """The bundled rig from the committed face data (deterministic)."""
    data = np.load(DATA / "face_neutral.npz")
    head = build_head(data["vertices"], data["triangles"])
    mirror = mirror_vertices(head.vertices)
    return RigModel(head, ARKIT_NAMES, key_deltas(head, mirror), mirror)


def landmark_blendshapes() -> tuple[np.ndarray, np.ndarray]:
    """Neutral landmarks (468, 3) and per-key landmark displacements (52, 468, 3), metres, ARKit order.

    The rig's first 468 vertices are the MediaPipe face-mesh landmarks, so ARKit weights w (52,)
    move the landmarks to `neutral + np.tensordot(w, deltas, 1)`, exactly as the rig's face moves.
    """
    model = build_model()
    n = lm.NUM_LANDMARKS
    return model.head.vertices[:n].copy(), model.deltas[:, :n].copy()
