"""The face-mesh triangulation the warp follows, with its mouth and eye openings, and a rasterizer.

The bundled rig's face is MediaPipe's 468-point tessellation cleaned into a 2-manifold disk
(`docs/rig.md`): 852 triangles, one outer loop (the face outline) and three holes (mouth, two eyes).
The warp also fills each hole with a strip of triangles between its upper and lower chains, so every
pixel inside the face outline has a source position; the mouth and eye layers paint over the holes.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from ..rig import landmarks as lm
from ..rig.shapes import DATA

OVAL_LOOP_SIZE = 36


def strip(upper: tuple[int, ...], lower: tuple[int, ...]) -> np.ndarray:
    """Triangles between two chains that share their end points (mouth / eye openings)."""
    tris = []
    for k in range(len(upper) - 1):
        a, b, c, d = upper[k], upper[k + 1], lower[k + 1], lower[k]
        if a != d:
            tris.append((a, b, d))
        if b != c:
            tris.append((b, c, d))
    return np.array(tris, np.int64)


@lru_cache(maxsize=1)
def face_triangles() -> np.ndarray:
    """(852, 3) triangles of the 468 landmarks (the rig's face)."""
    return np.load(DATA / "face_neutral.npz")["triangles"].astype(np.int64)


@lru_cache(maxsize=1)
def hole_triangles() -> dict[str, np.ndarray]:
    """Strips filling the mouth and eye openings."""
    return {
        "mouth": strip(lm.UPPER_LIP_INNER, lm.LOWER_LIP_INNER),
        "eye_left": strip(lm.LEFT_EYE_UPPER, lm.LEFT_EYE_LOWER),
        "eye_right": strip(lm.RIGHT_EYE_UPPER, lm.RIGHT_EYE_LOWER),
    }


@lru_cache(maxsize=1)
def warp_triangles() -> np.ndarray:
    """Face triangles plus the hole strips: every pixel inside the face outline is covered once."""
    return np.concatenate([face_triangles(), *hole_triangles().values()])


@lru_cache(maxsize=1)
def outline() -> np.ndarray:
    """(36,) the face-outline loop of landmark indices."""
    from ..rig.topology import boundary_loops

    loop = boundary_loops(face_triangles())[0]
    assert len(loop) == OVAL_LOOP_SIZE
    return loop


def opening(name: str) -> np.ndarray:
    """Landmark indices around an opening, as one closed polygon (upper chain, then lower reversed)."""
    upper, lower = {
        "mouth": (lm.UPPER_LIP_INNER, lm.LOWER_LIP_INNER),
        "eye_left": (lm.LEFT_EYE_UPPER, lm.LEFT_EYE_LOWER),
        "eye_right": (lm.RIGHT_EYE_UPPER, lm.RIGHT_EYE_LOWER),
    }[name]
    return np.array(list(upper) + list(lower[-2:0:-1]), np.int64)


def rasterize(points: np.ndarray, triangles: np.ndarray, box: tuple[int, int, int, int]) -> np.ndarray:
    """(h, w) int32 index of the triangle covering each pixel centre of `box` = (x0, y0, x1, y1), -1 if none.

    `points` are (N, 2) pixel coordinates; later triangles win where two overlap (folds are rare
    and small: the driven face stays close to the portrait's).
    """
    import cv2

    x0, y0, x1, y1 = box
    ids = np.full((y1 - y0, x1 - x0), -1, np.int32)
    fixed = np.round((points - (x0, y0)) * 16).astype(np.int32)  # 4 bits of sub-pixel precision
    corners = fixed[triangles]
    area = np.cross(corners[:, 1] - corners[:, 0], corners[:, 2] - corners[:, 0])
    for index in np.flatnonzero(area != 0):
        cv2.fillConvexPoly(ids, corners[index], int(index), lineType=cv2.LINE_8, shift=4)
    return ids


def backward_affines(out_points: np.ndarray, src_points: np.ndarray, triangles: np.ndarray) -> np.ndarray:
    """(T, 2, 3) affine maps taking each output triangle onto its source triangle: (x, y, 1) -> (x, y).

    Closed form (barycentric coordinates by Cramer's rule); degenerate output triangles map to 0
    (they cover no pixel).
    """
    a, b, c = (out_points[triangles[:, k]] for k in range(3))  # (T, 2) each
    sa, sb, sc = (src_points[triangles[:, k]] for k in range(3))
    e1, e2 = b - a, c - a
    det = e1[:, 0] * e2[:, 1] - e1[:, 1] * e2[:, 0]
    safe = np.abs(det) > 1e-9
    inv = np.where(safe, 1.0 / np.where(safe, det, 1.0), 0.0)
    # barycentric u = (e2 x (p - a)) / det, v = ((p - a) x e1) / det; source = sa + u (sb - sa) + v (sc - sa)
    ux, uy = e2[:, 1] * inv, -e2[:, 0] * inv
    vx, vy = -e1[:, 1] * inv, e1[:, 0] * inv
    u0, v0 = -(ux * a[:, 0] + uy * a[:, 1]), -(vx * a[:, 0] + vy * a[:, 1])
    db, dc = sb - sa, sc - sa
    maps = np.empty((len(triangles), 2, 3))
    for k in range(2):
        maps[:, k, 0] = ux * db[:, k] + vx * dc[:, k]
        maps[:, k, 1] = uy * db[:, k] + vy * dc[:, k]
        maps[:, k, 2] = sa[:, k] + u0 * db[:, k] + v0 * dc[:, k]
    maps[~safe] = 0.0
    return maps
