"""Rig geometry without Blender: topology cleaning, mirror map, neutral face, regions, key fields."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest
from dreamtalk.core.arkit import ARKIT_NAMES
from dreamtalk.rig import landmarks as lm
from dreamtalk.rig.head import mirror_vertices
from dreamtalk.rig.regions import KEY_REGIONS, region_share, region_table
from dreamtalk.rig.shapes import DATA, build_model, landmark_blendshapes
from dreamtalk.rig.topology import boundary_loops, clean_triangles, derive_face, mirror_map

FLIP = np.array([-1.0, 1.0, 1.0])


@pytest.fixture(scope="module")
def raw() -> dict[str, np.ndarray]:
    with np.load(DATA / "mediapipe_face.npz") as data:
        return {k: data[k] for k in data.files}


@pytest.fixture(scope="module")
def face() -> dict[str, np.ndarray]:
    with np.load(DATA / "face_neutral.npz") as data:
        return {k: data[k] for k in data.files}


def test_k4_outer_clique_is_dropped() -> None:
    # A degree-3 vertex (3) inside triangle 0-1-2, with a real face beyond each outer edge: the outer
    # clique 0-1-2 makes every outer edge carry three cliques; only the six real faces survive.
    points = np.array([[0, 0, 0], [1, 0, 0], [0.5, 0, 1], [0.5, 0, 0.4],
                       [0.5, 0, -0.5], [1.2, 0, 0.8], [-0.2, 0, 0.8]], dtype=float)
    edges = np.array([[0, 1], [1, 2], [0, 2], [0, 3], [1, 3], [2, 3], [0, 4], [1, 4], [1, 5], [2, 5],
                      [0, 6], [2, 6]])
    faces = clean_triangles(edges, points, np.array([0.0, -1.0, 0.0]))
    assert sorted(tuple(sorted(f)) for f in faces) == [(0, 1, 3), (0, 1, 4), (0, 2, 3), (0, 2, 6),
                                                      (1, 2, 3), (1, 2, 5)]
    normals = np.cross(points[faces[:, 1]] - points[faces[:, 0]], points[faces[:, 2]] - points[faces[:, 0]])
    assert np.all(normals[:, 1] < 0)  # all turned towards the requested side


def test_face_triangles_are_a_clean_oriented_surface(face: dict[str, np.ndarray], raw: dict[str, np.ndarray]) -> None:
    tris = face["triangles"]
    directed = Counter((int(f[i]), int(f[(i + 1) % 3])) for f in tris for i in range(3))
    assert max(directed.values()) == 1  # consistent orientation, no duplicate faces
    undirected = Counter(tuple(sorted(e)) for e in directed)
    assert max(undirected.values()) == 2  # 2-manifold
    assert set(undirected) <= {tuple(e) for e in raw["edges"]}  # only face-mesh edges are used
    loops = boundary_loops(tris)
    assert [len(loop) for loop in loops] == [36, 20, 16, 16]  # face oval, mouth, two eyes
    assert set(loops[1].tolist()) == set(lm.UPPER_LIP_INNER) | set(lm.LOWER_LIP_INNER)
    assert len(np.unique(tris)) == lm.NUM_LANDMARKS
    euler = lm.NUM_LANDMARKS - len(undirected) + len(tris)
    assert euler == 1 - 3  # a disk with three holes


def test_mirror_map_is_an_involution_with_known_pairs(face: dict[str, np.ndarray]) -> None:
    m = face["mirror"]
    assert np.array_equal(m[m], np.arange(lm.NUM_LANDMARKS))
    for a, b in [(33, 263), (61, 291), (133, 362), (70, 300), (234, 454)]:
        assert m[a] == b and m[b] == a
    for mid in (1, 2, 10, 13, 14, 152):
        assert m[mid] == mid


def test_mirror_map_recovers_a_hidden_permutation() -> None:
    rng = np.random.default_rng(0)
    half = rng.normal(size=(20, 3)) * [1.0, 0.3, 1.0] + [1.5, 0, 0]
    points = np.concatenate([half, half * FLIP, [[0, 0.1, 0.5], [0, -0.2, -0.7]]])
    truth = np.concatenate([np.arange(20, 40), np.arange(20), [40, 41]])
    angle = 0.2
    rot = np.array([[np.cos(angle), -np.sin(angle), 0], [np.sin(angle), np.cos(angle), 0], [0, 0, 1]])
    order = rng.permutation(len(points))
    moved = points[order] @ rot.T + [0.3, 0.1, 0]
    found = mirror_map(moved)
    inverse = np.argsort(order)
    assert np.array_equal(found, inverse[truth[order]])


def test_committed_neutral_is_derived_from_committed_raw_data(raw, face) -> None:
    derived = derive_face(raw["edges"], raw["landmarks"], tuple(int(s) for s in raw["image_size"]))
    assert np.array_equal(derived["triangles"], face["triangles"])
    assert np.array_equal(derived["mirror"], face["mirror"])
    np.testing.assert_allclose(derived["vertices"], face["vertices"], atol=1e-9)


def test_neutral_is_symmetric_metric_frontal_and_closed(face: dict[str, np.ndarray]) -> None:
    v, m = face["vertices"], face["mirror"]
    np.testing.assert_allclose(v[m] * FLIP, v, atol=1e-9)
    left = v[list(lm.LEFT_EYE_UPPER + lm.LEFT_EYE_LOWER[1:-1])].mean(0)
    right = v[list(lm.RIGHT_EYE_UPPER + lm.RIGHT_EYE_LOWER[1:-1])].mean(0)
    assert left[0] > 0 > right[0]  # subject's left is +X
    assert 0.055 < np.linalg.norm(left - right) < 0.07
    assert v[lm.NOSE_TIP, 1] < v[234, 1] - 0.06  # facing -Y: nose well in front of the cheek edge
    assert 0.09 < -v[lm.CHIN, 2] < 0.13  # eyes to chin, adult range
    gap = v[list(lm.UPPER_LIP_INNER[1:-1]), 2] - v[list(lm.LOWER_LIP_INNER[1:-1]), 2]
    assert np.all(gap > 0) and np.all(gap < 0.001)  # lips closed, not crossing


def test_region_table_is_anatomical(face: dict[str, np.ndarray]) -> None:
    table = region_table(face["vertices"])
    assert set(KEY_REGIONS) == set(ARKIT_NAMES)
    assert set(lm.UPPER_LIP_INNER) <= set(table["lips"]) and lm.CHIN in table["jaw"]
    assert set(lm.LEFT_EYE_UPPER) <= set(table["eyelids"]) and set(lm.LEFT_BROW) <= set(table["brows"])
    assert not set(table["brows"]) & set(table["jaw"])
    assert not set(table["eyelids"]) & set(table["lips"])
    for name, idx in table.items():
        assert 20 < len(idx) < 250, name  # no region is (almost) the whole face


def test_region_share_measures_energy_fraction() -> None:
    delta = np.zeros((lm.NUM_LANDMARKS, 3))
    delta[[0, 1], 2] = [3.0, 4.0]
    table = {"a": np.array([1]), "b": np.array([0, 2])}
    assert region_share(delta, table, ("a",)) == pytest.approx(16 / 25)
    assert region_share(delta, table, ("a", "b")) == pytest.approx(1.0)


def test_whole_head_is_mirror_symmetric_with_face_first() -> None:
    model = build_model()
    mirror = mirror_vertices(model.head.vertices)
    assert np.array_equal(mirror[: lm.NUM_LANDMARKS], np.load(DATA / "face_neutral.npz")["mirror"])
    assert model.deltas.shape == (52, len(model.head.vertices), 3)


def test_landmark_blendshapes_move_landmarks_like_the_rig() -> None:
    neutral, deltas = landmark_blendshapes()
    assert neutral.shape == (lm.NUM_LANDMARKS, 3) and deltas.shape == (52, lm.NUM_LANDMARKS, 3)
    weights = np.zeros(52)
    weights[ARKIT_NAMES.index("jawOpen")] = 1.0
    posed = neutral + np.tensordot(weights, deltas, 1)
    assert posed[lm.CHIN, 2] < neutral[lm.CHIN, 2] - 0.02  # the chin drops
    assert posed[13, 2] - posed[14, 2] > 0.025  # the lips part
    np.testing.assert_array_equal(posed[lm.FOREHEAD], neutral[lm.FOREHEAD])
    blink = deltas[ARKIT_NAMES.index("eyeBlinkLeft")]
    assert blink[386, 2] < -0.006 and np.abs(blink[159]).max() == 0  # left upper lid only


def test_whole_head_is_one_consistently_oriented_surface_set() -> None:
    head = build_model().head
    faces, verts = head.faces, head.vertices
    directed = Counter((int(f[i]), int(f[(i + 1) % 3])) for f in faces for i in range(3))
    assert max(directed.values()) == 1  # every part oriented consistently, also across the seams
    # open only at the neck's bottom ring and at the two eyelid linings' inner rims
    assert [len(loop) for loop in boundary_loops(faces)] == [72, 16, 16]
    area = np.linalg.norm(np.cross(verts[faces[:, 1]] - verts[faces[:, 0]], verts[faces[:, 2]] - verts[faces[:, 0]]), axis=1)
    assert area.min() / 2 > 1e-8  # no degenerate triangle (0.01 mm^2)
    assert np.array_equal(np.unique(faces), np.arange(len(verts)))  # no stray vertex
