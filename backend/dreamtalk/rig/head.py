"""The whole head around the 468-vertex face: skull and neck, eyes, teeth, tongue, mouth cavity.

Pure numpy. The face keeps vertices 0..467 in landmark order; every other part is appended after it.
All parts are built mirror-symmetric about X = 0, so the mirror map of the whole mesh is exact.

Skull and neck: one tube joined to the face oval. Each oval vertex is connected to a matching point
of the neck's bottom ring along a path interpolated in the stereographic projection (from the front
pole) of directions seen from the head centre, so paths from the forehead run over the crown and the
back of the head, paths from the chin run under the jaw; each path point is put on the surface of
an ellipsoid-plus-neck-cylinder by ray casting from the head centre.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .landmarks import (
    LEFT_BROW,
    LOWER_LIP_INNER,
    LOWER_LIP_OUTER,
    RIGHT_BROW,
    UPPER_LIP_INNER,
    UPPER_LIP_OUTER,
)
from .topology import boundary_loops, orient_faces

# Vertex parts.
FACE, SKULL, EYE_LINING, EYEBALL, UPPER_TEETH, LOWER_TEETH, TONGUE, MOUTH = range(8)
# Materials (indices into MATERIALS).
MATERIALS = ("Skin", "Sclera", "Iris", "Pupil", "Teeth", "Tongue", "MouthCavity", "Lips", "Brows")
SKIN, SCLERA, IRIS, PUPIL, TEETH, TONGUE_MAT, CAVITY, LIPS, BROWS = range(9)

HEAD_CENTRE = np.array([0.0, 0.075, 0.012])  # skull ellipsoid centre, metres (origin between eyes)
HEAD_RADII = np.array([0.074, 0.096, 0.108])
NECK_AXIS_Y, NECK_RADII, NECK_BOTTOM_Z = 0.078, np.array([0.054, 0.052]), -0.19
EYEBALL_RADIUS = 0.0118  # adult eyeball: ~24 mm across (Bekerman et al. 2014)


@dataclass
class HeadMesh:
    """Vertices (N, 3), triangles (F, 3), per-face material, per-vertex part and follower links."""

    vertices: np.ndarray
    faces: np.ndarray
    material: np.ndarray
    part: np.ndarray
    leader: np.ndarray  # (N,) index of the face vertex this vertex follows, -1 for none
    follow: np.ndarray  # (N,) fraction of the leader's displacement it copies
    anchors: dict[str, np.ndarray] = field(default_factory=dict)  # named points (eye centres, ...)


class _Builder:
    """Accumulates parts into one mesh."""

    def __init__(self) -> None:
        self.verts: list[np.ndarray] = []
        self.faces: list[np.ndarray] = []
        self.mats: list[np.ndarray] = []
        self.parts: list[np.ndarray] = []
        self.leaders: list[np.ndarray] = []
        self.follows: list[np.ndarray] = []
        self.count = 0

    def add(self, verts: np.ndarray, part: int, leader: np.ndarray | None = None,
            follow: np.ndarray | None = None) -> int:
        """Append vertices; returns the index of the first one."""
        start = self.count
        n = len(verts)
        self.verts.append(np.asarray(verts, dtype=np.float64))
        self.parts.append(np.full(n, part, dtype=np.int32))
        self.leaders.append(np.full(n, -1, np.int64) if leader is None else np.asarray(leader, np.int64))
        self.follows.append(np.zeros(n) if follow is None else np.asarray(follow, np.float64))
        self.count += n
        return start

    def tris(self, faces: np.ndarray, material: int | np.ndarray) -> None:
        faces = np.asarray(faces, dtype=np.int64).reshape(-1, 3)
        self.faces.append(faces)
        self.mats.append(np.broadcast_to(np.asarray(material, np.int32), (len(faces),)).copy())

    def mesh(self, anchors: dict[str, np.ndarray]) -> HeadMesh:
        return HeadMesh(np.concatenate(self.verts), np.concatenate(self.faces), np.concatenate(self.mats),
                        np.concatenate(self.parts), np.concatenate(self.leaders),
                        np.concatenate(self.follows), anchors)


def strip(loop_a: np.ndarray, loop_b: np.ndarray, closed: bool = True) -> np.ndarray:
    """Triangles joining two equally long vertex-index loops (quads split in two)."""
    n = len(loop_a)
    i = np.arange(n if closed else n - 1)
    j = (i + 1) % n
    a0, a1, b0, b1 = loop_a[i], loop_a[j], loop_b[i], loop_b[j]
    return np.concatenate([np.stack([a0, a1, b1], 1), np.stack([a0, b1, b0], 1)])


def _ray_exit(directions: np.ndarray) -> np.ndarray:
    """Distance from HEAD_CENTRE to the surface of skull ellipsoid union neck cylinder."""
    d = directions
    t_head = 1.0 / np.sqrt(((d / HEAD_RADII) ** 2).sum(-1))
    c = np.array([HEAD_CENTRE[0], HEAD_CENTRE[1] - NECK_AXIS_Y])
    q = d[:, :2] / NECK_RADII
    p = c / NECK_RADII
    a, b, cc = (q * q).sum(-1), 2 * (q * p).sum(-1), (p * p).sum() - 1.0
    t_neck = (-b + np.sqrt(np.maximum(b * b - 4 * a * cc, 0.0))) / np.maximum(2 * a, 1e-12)
    below = np.where(d[:, 2] < 0, (NECK_BOTTOM_Z - 0.03 - HEAD_CENTRE[2]) / np.minimum(d[:, 2], -1e-9), np.inf)
    t_neck = np.where(d[:, 2] < 0, np.minimum(t_neck, below), 0.0)
    return np.maximum(t_head, t_neck)


def _stereo(d: np.ndarray) -> np.ndarray:
    """Stereographic projection of unit directions from the front pole (0, -1, 0) onto X-Z."""
    return d[:, [0, 2]] / (1.0 + d[:, 1:2])


def _unstereo(p: np.ndarray) -> np.ndarray:
    s = (p * p).sum(-1, keepdims=True)
    return np.concatenate([2 * p[:, :1], 1.0 - s, 2 * p[:, 1:]], 1) / (1.0 + s)


def _densify(points: np.ndarray) -> np.ndarray:
    """Insert the midpoint after every point of a closed loop (n, k) -> (2n, k)."""
    mids = 0.5 * (points + np.roll(points, -1, axis=0))
    return np.stack([points, mids], 1).reshape(-1, points.shape[1])


def skull_rings(oval: np.ndarray, rings: int = 24) -> np.ndarray:
    """(rings, 2n, 3) skin points from just behind the face oval (n, 3) to the neck's bottom ring.

    Rings carry twice the oval's vertex count (a path between each pair of oval paths) so the
    crown, which the few forehead paths fan out over, stays round.
    """
    centre_z = 0.5 * (oval[:, 2].max() + oval[:, 2].min())
    unit = _densify(np.stack([oval[:, 0], oval[:, 2] - centre_z], 1))  # in-between paths aim between neighbours
    alpha = np.arctan2(unit[:, 1], unit[:, 0])
    neck = np.stack([NECK_RADII[0] * np.cos(alpha), NECK_AXIS_Y + NECK_RADII[1] * np.sin(alpha),
                     np.full_like(alpha, NECK_BOTTOM_Z)], 1)
    rel_o = oval - HEAD_CENTRE
    dist_o = np.linalg.norm(rel_o, axis=1)
    p_o = _densify(_stereo(rel_o / dist_o[:, None]))
    dist_o = _densify(dist_o[:, None])[:, 0]
    rel_n = neck - HEAD_CENTRE
    p_n = _stereo(rel_n / np.linalg.norm(rel_n, axis=1)[:, None])
    surf_o = _ray_exit(_unstereo(p_o))
    out = []
    for k in range(1, rings):
        t = k / rings
        d = _unstereo((1 - t) * p_o + t * p_n)
        r = _ray_exit(d) + (dist_o - surf_o) * max(0.0, 1 - t / 0.35) ** 2
        out.append(HEAD_CENTRE + d * r[:, None])
    out.append(neck)
    return np.stack(out)


def strip_double(loop: np.ndarray, ring: np.ndarray) -> np.ndarray:
    """Triangles joining a loop of n vertices to a ring of 2n (ring[2i] faces loop[i])."""
    n = len(loop)
    i = np.arange(n)
    a0, a1 = loop[i], loop[(i + 1) % n]
    b0, bm, b1 = ring[2 * i], ring[2 * i + 1], ring[(2 * i + 2) % (2 * n)]
    return np.concatenate([np.stack([a0, bm, b0], 1), np.stack([a0, a1, bm], 1), np.stack([a1, b1, bm], 1)])


def _orient_outward(faces: np.ndarray, verts: np.ndarray, centre: np.ndarray) -> np.ndarray:
    """Flip a part's faces if most normals point towards `centre`."""
    a, b, c = verts[faces[:, 0]], verts[faces[:, 1]], verts[faces[:, 2]]
    normals = np.cross(b - a, c - a)
    out = ((a + b + c) / 3 - centre)
    return faces if float((normals * out).sum()) >= 0 else faces[:, [0, 2, 1]]


def _orient_closed(faces: np.ndarray, b: _Builder) -> np.ndarray:
    """Consistent, outward-facing orientation for a closed part (breadth-first, then centroid test)."""
    verts = np.concatenate(b.verts)
    tris = {tuple(sorted(int(i) for i in f)) for f in faces}
    oriented = orient_faces(tris, verts, np.array([0.0, -1.0, 0.0]))
    return _orient_outward(oriented, verts, verts[np.unique(faces)].mean(0))


def sphere(centre: np.ndarray, radii: np.ndarray, polar_deg: np.ndarray, segments: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """UV sphere with its poles on -Y (front) and +Y: vertices, triangles, band index per face.

    `polar_deg` lists the ring angles from the front pole (exclusive of 0 and 180).
    """
    theta = np.radians(polar_deg)[:, None]
    phi = 2 * np.pi * (np.arange(segments) + 0.5) / segments
    rings = np.stack([np.sin(theta) * np.cos(phi), -np.cos(theta) * np.ones_like(phi),
                      np.sin(theta) * np.sin(phi)], -1)  # (R, S, 3)
    verts = np.concatenate([[[0.0, -1.0, 0.0]], rings.reshape(-1, 3), [[0.0, 1.0, 0.0]]]) * radii + centre
    idx = 1 + np.arange(len(polar_deg) * segments).reshape(len(polar_deg), segments)
    seg = np.arange(segments)
    faces = [np.stack([np.zeros(segments, int), idx[0, seg], idx[0, (seg + 1) % segments]], 1)]
    bands = [np.zeros(segments, int)]
    for r in range(len(polar_deg) - 1):
        faces.append(strip(idx[r], idx[r + 1])[:, ::-1])
        bands.append(np.full(2 * segments, r + 1))
    last = len(verts) - 1
    faces.append(np.stack([np.full(segments, last), idx[-1, (seg + 1) % segments], idx[-1, seg]], 1))
    bands.append(np.full(segments, len(polar_deg)))
    return verts, np.concatenate(faces), np.concatenate(bands)


EYE_RINGS_DEG = np.array([9.0, 18.0, 28.0, 40.0, 55.0, 70.0, 90.0, 110.0, 130.0, 150.0, 165.0])


def _add_eyeball(b: _Builder, centre: np.ndarray) -> None:
    verts, faces, band = sphere(centre, np.full(3, EYEBALL_RADIUS), EYE_RINGS_DEG, 24)
    start = b.add(verts, EYEBALL)
    edge_deg = np.concatenate([EYE_RINGS_DEG, [180.0]])[band]
    material = np.where(edge_deg <= 9.0, PUPIL, np.where(edge_deg <= 28.0, IRIS, SCLERA))
    b.tris(faces + start, material)


def _add_teeth(b: _Builder, mouth: np.ndarray, upper: bool) -> None:
    """A U-shaped tooth arch (swept rectangle) behind the lips; `mouth` = front-centre of the gap."""
    x = np.linspace(-0.024, 0.024, 13)
    y = mouth[1] + 0.006 + 34.0 * x * x
    tangent = np.stack([np.ones_like(x), 68.0 * x], 1)
    normal = np.stack([-tangent[:, 1], tangent[:, 0]], 1) / np.linalg.norm(tangent, axis=1)[:, None]
    z0, z1 = (mouth[2] + 0.0006, mouth[2] + 0.0095) if upper else (mouth[2] - 0.0090, mouth[2] - 0.0006)
    loops = []
    for thick, z in ((0.0, z0), (0.0, z1), (0.0065, z1), (0.0065, z0)):
        loops.append(np.stack([x + normal[:, 0] * thick, y + normal[:, 1] * thick, np.full_like(x, z)], 1))
    verts = np.stack(loops, 1).reshape(-1, 3)  # (13 * 4, 3), 4 per section
    start = b.add(verts, UPPER_TEETH if upper else LOWER_TEETH)
    sec = start + np.arange(len(x) * 4).reshape(len(x), 4)
    faces = [strip(sec[i], sec[i + 1]) for i in range(len(x) - 1)]
    faces += [sec[0][[0, 1, 2]][None], sec[0][[0, 2, 3]][None], sec[-1][[0, 2, 1]][None], sec[-1][[0, 3, 2]][None]]
    b.tris(_orient_closed(np.concatenate(faces), b), TEETH)


def _add_tongue(b: _Builder, mouth: np.ndarray) -> None:
    centre = mouth + np.array([0.0, 0.030, -0.0085])
    rings = np.array([20.0, 45.0, 70.0, 90.0, 110.0, 135.0, 160.0])
    verts, faces, _ = sphere(centre, np.array([0.0185, 0.028, 0.0070]), rings, 16)
    start = b.add(verts, TONGUE)
    b.tris(faces + start, TONGUE_MAT)


MOUTH_BAG = ((0.003, 0.026, 0.006, -0.001), (0.012, 0.030, 0.017, -0.002), (0.030, 0.030, 0.022, -0.004),
             (0.048, 0.024, 0.019, -0.004), (0.060, 0.011, 0.009, -0.002))  # depth, rx, rz, dz


def _add_mouth_bag(b: _Builder, lips: np.ndarray, verts: np.ndarray, mouth: np.ndarray) -> None:
    """Dark cavity hung on the inner-lip loop: ellipse rings going back, closed by a back pole."""
    n = len(lips)
    chain_pos = {v: (k, True) for k, v in enumerate(UPPER_LIP_INNER)}
    chain_pos.update({v: (k, False) for k, v in enumerate(LOWER_LIP_INNER[1:-1], start=1)})
    last = len(UPPER_LIP_INNER) - 1
    angle = np.array([np.pi * (1 - k / last) if upper else np.pi * (1 + k / last)
                      for k, upper in (chain_pos[int(v)] for v in lips)])
    prev, follow = lips, (0.7, 0.35, 0.1, 0.0, 0.0)
    for (depth, rx, rz, dz), w in zip(MOUTH_BAG, follow, strict=True):
        ring = np.stack([rx * np.cos(angle), verts[lips, 1] + depth, mouth[2] + dz + rz * np.sin(angle)], 1)
        start = b.add(ring, MOUTH, leader=lips, follow=np.full(n, w))
        cur = start + np.arange(n)
        b.tris(strip(prev, cur)[:, ::-1], CAVITY)  # against the lips' boundary direction
        prev = cur
    back = b.add(np.array([[0.0, mouth[1] + 0.066, mouth[2] - 0.003]]), MOUTH)
    b.tris(np.stack([np.roll(prev, -1), prev, np.full(n, back)], 1), CAVITY)


def _add_eye_lining(b: _Builder, loop: np.ndarray, verts: np.ndarray, centre: np.ndarray) -> None:
    """A lid-thickness ring tucked from the eye opening towards the eyeball centre."""
    inset = verts[loop] + 0.45 * (centre - verts[loop])
    start = b.add(inset, EYE_LINING, leader=loop, follow=np.ones(len(loop)))
    b.tris(strip(loop, start + np.arange(len(loop)))[:, ::-1], SKIN)  # against the lid boundary


def _between(face: np.ndarray, low_chain: tuple[int, ...], high_chain: tuple[int, ...]) -> np.ndarray:
    """Mask of face vertices between two chains (interpolated over X), chain ends included."""
    def height(chain: tuple[int, ...]) -> np.ndarray:
        pts = face[list(chain)]
        order = np.argsort(pts[:, 0])
        return np.interp(face[:, 0], pts[order, 0], pts[order, 2])
    xs = face[list(low_chain + high_chain), 0]
    inside_x = (face[:, 0] >= xs.min() - 1e-6) & (face[:, 0] <= xs.max() + 1e-6)
    return inside_x & (face[:, 2] >= height(low_chain) - 3e-4) & (face[:, 2] <= height(high_chain) + 3e-4)


def face_materials(face: np.ndarray, triangles: np.ndarray) -> np.ndarray:
    """Skin, with Lips on triangles inside the outer lip line and Brows between the brow chains."""
    front = face[:, 1] < face[list(UPPER_LIP_OUTER), 1].max() + 1e-6
    lips = (_between(face, LOWER_LIP_OUTER, UPPER_LIP_INNER) | _between(face, LOWER_LIP_INNER, UPPER_LIP_OUTER)) & front
    brows = np.zeros(len(face), dtype=bool)
    for chain in (LEFT_BROW, RIGHT_BROW):
        brows |= _between(face, chain[5:], chain[:5])
    material = np.full(len(triangles), SKIN, dtype=np.int32)
    material[lips[triangles].all(1)] = LIPS
    material[brows[triangles].all(1)] = BROWS
    return material


def eyeball_centre(verts: np.ndarray, loop: np.ndarray) -> np.ndarray:
    """Eyeball centre behind an eye opening: the cornea apex sits just in front of the opening."""
    centre = verts[loop].mean(0)
    centre[1] += EYEBALL_RADIUS - 0.0012
    return centre


def build_head(face: np.ndarray, triangles: np.ndarray, rings: int = 24) -> HeadMesh:
    """Assemble the full head around the (468, 3) neutral face and its (F, 3) triangles."""
    b = _Builder()
    b.add(face, FACE)
    b.tris(triangles, face_materials(face, triangles))
    oval, lips, *eyes = boundary_loops(triangles)
    eyes = sorted(eyes, key=lambda loop: -float(face[loop, 0].mean()))  # left (+X) first
    skull = skull_rings(face[oval], rings)
    start = b.add(skull.reshape(-1, 3), SKULL)
    idx = start + np.arange(skull.shape[0] * skull.shape[1]).reshape(skull.shape[:2])
    verts_so_far = np.concatenate(b.verts)
    skull_faces = np.concatenate([strip_double(oval, idx[0])] + [strip(idx[k], idx[k + 1]) for k in range(len(idx) - 1)])
    b.tris(_orient_outward(skull_faces, verts_so_far, HEAD_CENTRE), SKIN)
    centres = [eyeball_centre(face, loop) for loop in eyes]
    for loop, centre in zip(eyes, centres, strict=True):
        _add_eye_lining(b, loop, face, centre)
        _add_eyeball(b, centre)
    mouth = 0.5 * (face[UPPER_LIP_INNER[5]] + face[LOWER_LIP_INNER[5]])
    _add_mouth_bag(b, lips, face, mouth)
    _add_teeth(b, mouth, upper=True)
    _add_teeth(b, mouth, upper=False)
    _add_tongue(b, mouth)
    anchors = {"eye_left": centres[0], "eye_right": centres[1], "mouth": mouth}
    return b.mesh(anchors)


def mirror_vertices(verts: np.ndarray, tol: float = 1e-6) -> np.ndarray:
    """Index of each vertex's mirror twin (reflection X -> -X) in a symmetric mesh."""
    from scipy.spatial import cKDTree

    dist, twin = cKDTree(verts).query(verts * np.array([-1.0, 1.0, 1.0]))
    if float(dist.max()) > tol:
        raise ValueError(f"mesh is not mirror-symmetric (worst mismatch {dist.max():.2e} m)")
    return twin
