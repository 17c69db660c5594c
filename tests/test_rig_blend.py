"""The committed rig (`rigs/arkit_head.blend` / `.glb`), loaded in real Blender (bpy 5.0.1)."""

from __future__ import annotations

import json
import os
import struct
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import pytest
from dreamtalk.core.arkit import ARKIT_NAMES, mirror_name
from dreamtalk.rig import landmarks as lm
from dreamtalk.rig.head import (
    EYEBALL,
    EYEBALL_RADIUS,
    FACE,
    LOWER_TEETH,
    MATERIALS,
    UPPER_TEETH,
    mirror_vertices,
)
from dreamtalk.rig.regions import KEY_REGIONS, region_share, region_table
from dreamtalk.rig.shapes import DATA, HEAD_PIVOT, JAW_PIVOT, build_model

os.environ.setdefault("BLENDER_USER_RESOURCES", tempfile.mkdtemp(prefix="dreamtalk-blender-"))
bpy = pytest.importorskip("bpy")

ROOT = Path(__file__).resolve().parents[1]
RIG = ROOT / "rigs"
FLIP = np.array([-1.0, 1.0, 1.0])


@pytest.fixture(scope="module")
def rig() -> dict:
    """Everything the tests need from the committed .blend, read once."""
    bpy.ops.wm.open_mainfile(filepath=str(RIG / "arkit_head.blend"))
    obj = bpy.data.objects["ARKitHead"]
    blocks = obj.data.shape_keys.key_blocks
    n = len(obj.data.vertices)
    coords = {}
    for block in blocks:
        co = np.empty(n * 3, dtype=np.float32)
        block.data.foreach_get("co", co)
        coords[block.name] = co.reshape(n, 3).astype(np.float64)
    faces = np.array([p.vertices[:] for p in obj.data.polygons])
    root = bpy.data.objects["HeadRoot"]
    return {"names": [b.name for b in blocks], "file_version": tuple(bpy.data.version),
            "values": [b.value for b in blocks[1:]], "basis": coords["Basis"], "faces": faces,
            "deltas": {k: v - coords["Basis"] for k, v in coords.items() if k != "Basis"},
            "parent": obj.parent.name if obj.parent else None, "root_location": tuple(root.location),
            "root_mode": root.rotation_mode, "model": build_model()}


def test_shape_keys_are_the_52_arkit_names_in_apple_order(rig) -> None:
    assert rig["names"] == ["Basis", *ARKIT_NAMES]


def test_rig_loads_neutral(rig) -> None:
    assert rig["values"] == [0.0] * 52


def test_committed_blend_opens_in_blender_4_2_lts(rig) -> None:
    # Blender 5 writes a new .blend header that 4.2-4.4 cannot read: the committed file is written
    # by bpy 4.2 (see docs/rig.md), which every version from 4.2 LTS to 5.x opens.
    assert rig["file_version"][:2] == (4, 2)


def test_first_468_vertices_are_the_landmarks_in_order(rig) -> None:
    neutral = np.load(DATA / "face_neutral.npz")["vertices"]
    np.testing.assert_allclose(rig["basis"][: lm.NUM_LANDMARKS], neutral, atol=1e-6)


def test_blend_matches_the_numpy_model(rig) -> None:
    model = rig["model"]
    np.testing.assert_allclose(rig["basis"], model.head.vertices, atol=1e-6)
    for name, delta in zip(model.names, model.deltas, strict=True):
        np.testing.assert_allclose(rig["deltas"][name], delta, atol=2e-6, err_msg=name)


def test_head_root_parents_the_head_at_the_neck_pivot(rig) -> None:
    assert rig["parent"] == "HeadRoot"
    assert rig["root_location"] == pytest.approx(HEAD_PIVOT)
    assert rig["root_mode"] == "YXZ"
    root, head = bpy.data.objects["HeadRoot"], bpy.data.objects["ARKitHead"]
    root.rotation_euler = (0.0, 0.0, 0.5)  # yaw
    bpy.context.view_layer.update()
    nose = np.array(head.matrix_world @ bpy.data.objects["ARKitHead"].data.vertices[lm.NOSE_TIP].co)
    root.rotation_euler = (0.0, 0.0, 0.0)
    bpy.context.view_layer.update()
    assert nose[0] > 0.02  # the face turned towards +X, about the pivot


@pytest.mark.parametrize("name", ARKIT_NAMES)
def test_each_key_stays_in_its_region(rig, name: str) -> None:
    table = region_table(rig["basis"][: lm.NUM_LANDMARKS])
    share = region_share(rig["deltas"][name][: lm.NUM_LANDMARKS], table, KEY_REGIONS[name])
    assert share >= 0.9, f"{name}: {share:.3f} of its displacement on {KEY_REGIONS[name]}"


def test_keys_leave_the_far_regions_alone(rig) -> None:
    table = region_table(rig["basis"][: lm.NUM_LANDMARKS])
    far = {"jawOpen": ("brows",), "eyeBlinkLeft": ("lips", "jaw"), "browDownLeft": ("lips", "jaw"),
           "mouthSmileLeft": ("brows",), "mouthPucker": ("eyelids", "brows")}
    for name, regions in far.items():
        assert region_share(rig["deltas"][name][: lm.NUM_LANDMARKS], table, regions) < 0.01, name


def test_mirror_pairs_agree_under_reflection(rig) -> None:
    mirror = mirror_vertices(rig["basis"], tol=1e-5)
    for name in ARKIT_NAMES:
        twin = mirror_name(name)
        reflected = rig["deltas"][twin][mirror] * FLIP
        err = np.abs(rig["deltas"][name] - reflected).max()
        assert err <= 0.02 * np.abs(rig["deltas"][name]).max(), f"{name} vs {twin}: {err:.2e}"
        if name in ("jawLeft", "mouthLeft", "jawRight", "mouthRight"):  # shifts towards their side
            assert rig["deltas"][name][:, 0].sum() * (1 if name.endswith("Left") else -1) > 0, name
        elif twin != name:  # sided keys really are one-sided
            energy = (rig["deltas"][name] ** 2).sum(-1)
            on_left = energy[rig["basis"][:, 0] > 0].sum() / energy.sum()
            assert (on_left if name.endswith("Left") else 1 - on_left) > 0.9, name


def _region_area(verts: np.ndarray, faces: np.ndarray, idx: np.ndarray) -> float:
    inside = np.isin(faces, idx).all(1)
    tri = faces[inside]
    a, b, c = verts[tri[:, 0]], verts[tri[:, 1]], verts[tri[:, 2]]
    return float(np.linalg.norm(np.cross(b - a, c - a), axis=1).sum() / 2)


def _tri_faces(faces: np.ndarray) -> np.ndarray:
    return np.asarray([list(f) for f in faces])


def test_no_nan_and_no_collapsed_region(rig) -> None:
    table = region_table(rig["basis"][: lm.NUM_LANDMARKS])
    faces = _tri_faces(rig["faces"])
    for name in ARKIT_NAMES:
        posed = rig["basis"] + rig["deltas"][name]
        assert np.isfinite(posed).all(), name
        for region, idx in table.items():
            ratio = _region_area(posed, faces, idx) / _region_area(rig["basis"], faces, idx)
            assert 0.5 < ratio < 2.0, f"{name} changes the {region} area by x{ratio:.2f}"


def _lip_gap(rig, weights: dict[str, float]) -> float:
    posed = rig["basis"] + sum(w * rig["deltas"][n] for n, w in weights.items())
    upper, lower = list(lm.UPPER_LIP_INNER[1:-1]), list(lm.LOWER_LIP_INNER[1:-1])
    return float((posed[upper, 2] - posed[lower, 2]).min())


def test_lips_never_pass_through_each_other(rig) -> None:
    # ARKit: mouthClose is used together with jawOpen, at most as strong (lips closed, jaw open).
    for jaw in np.linspace(0, 1, 6):
        for close in np.linspace(0, jaw, 5):
            assert _lip_gap(rig, {"jawOpen": jaw, "mouthClose": close}) > 0, (jaw, close)
    assert _lip_gap(rig, {"jawOpen": 1.0, "mouthClose": 1.0}) < 0.001  # and the lips do meet
    for name in ARKIT_NAMES:
        if name != "mouthClose":
            assert _lip_gap(rig, {name: 1.0}) > 0, name


def test_jaw_open_rotates_lower_teeth_and_opens_the_mouth(rig) -> None:
    model = rig["model"]
    part, basis, delta = model.head.part, rig["basis"], rig["deltas"]["jawOpen"]
    lower, upper = part == LOWER_TEETH, part == UPPER_TEETH
    assert np.abs(delta[upper]).max() < 1e-9
    # rigid rotation about the jaw pivot: distances to the X axis through it are kept (chord of 23 deg)
    before = np.linalg.norm((basis[lower] - JAW_PIVOT)[:, 1:], axis=1)
    after = np.linalg.norm((basis[lower] + delta[lower] - JAW_PIVOT)[:, 1:], axis=1)
    np.testing.assert_allclose(after, before, rtol=0.03)
    assert np.abs(delta[lower, 0]).max() < 1e-9 and delta[lower, 2].mean() < -0.02
    chin_drop = -delta[lm.CHIN, 2]
    assert chin_drop > 0.02 and np.abs(delta[lm.FOREHEAD]).max() < 1e-9
    posed = basis + delta
    assert posed[13, 2] - posed[14, 2] > 0.025  # lips part by more than 25 mm at the centre


def test_eye_look_keys_turn_the_eyeballs(rig) -> None:
    part, basis = rig["model"].head.part, rig["basis"]
    for side, sign in (("Left", 1.0), ("Right", -1.0)):
        ball = (part == EYEBALL) & (basis[:, 0] * sign > 0)
        centre = 0.5 * (basis[ball].min(0) + basis[ball].max(0))
        pupil = np.flatnonzero(ball)[np.argmin(basis[ball, 1])]  # front pole
        moves = {d: rig["deltas"][f"eyeLook{d}{side}"][pupil] for d in ("Up", "Down", "In", "Out")}
        assert moves["Up"][2] > 0.003 and moves["Down"][2] < -0.003
        assert moves["In"][0] * sign < -0.003 and moves["Out"][0] * sign > 0.003
        for d in moves:
            posed = basis[ball] + rig["deltas"][f"eyeLook{d}{side}"][ball]
            radius = np.linalg.norm(posed - centre, axis=1)
            assert radius.min() > 0.95 * radius.max()  # still a sphere: a rotation, not a squash


def test_blink_closes_the_upper_lid_onto_the_lower(rig) -> None:
    for side, up, low in (("Left", lm.LEFT_EYE_UPPER, lm.LEFT_EYE_LOWER),
                          ("Right", lm.RIGHT_EYE_UPPER, lm.RIGHT_EYE_LOWER)):
        posed = rig["basis"] + rig["deltas"][f"eyeBlink{side}"]
        gaps = []
        for verts in (rig["basis"], posed):  # upper margin height over the lower lid at the same X
            lower = verts[list(low)]
            order = np.argsort(lower[:, 0])
            upper = verts[list(up[1:-1])]
            gaps.append(upper[:, 2] - np.interp(upper[:, 0], lower[order, 0], lower[order, 2]))
        assert gaps[0].max() > 0.006 and np.abs(gaps[1]).max() < 0.0005
        # the lid slides over the eyeball, never through it, at every blink weight
        part, delta = rig["model"].head.part, rig["deltas"][f"eyeBlink{side}"]
        lid = np.flatnonzero((part == FACE) & (np.linalg.norm(delta, axis=1) > 1e-4))
        centre = rig["model"].head.anchors[f"eye_{side.lower()}"]
        for weight in np.linspace(0, 1, 9):
            radius = np.linalg.norm(rig["basis"][lid] + weight * delta[lid] - centre, axis=1)
            assert radius.min() > EYEBALL_RADIUS + 0.0005, weight


def _glb(path: Path) -> tuple[dict, np.ndarray]:
    data = path.read_bytes()
    json_len = struct.unpack_from("<I", data, 12)[0]
    doc = json.loads(data[20:20 + json_len])
    return doc, np.frombuffer(data[20 + json_len + 8:], dtype=np.uint8)


def test_build_reproduces_the_committed_glb(tmp_path: Path) -> None:
    subprocess.run([sys.executable, str(RIG / "build_rig.py"), "--out-dir", str(tmp_path)], check=True,
                   capture_output=True, timeout=300)
    ours, committed = _glb(tmp_path / "arkit_head.glb"), _glb(RIG / "arkit_head.glb")
    mesh = ours[0]["meshes"][0]
    assert mesh["extras"]["targetNames"] == list(ARKIT_NAMES)
    assert mesh.get("weights", [0] * 52) == [0] * 52  # a glTF viewer shows the neutral face
    assert committed[0]["meshes"][0].get("weights", [0] * 52) == [0] * 52
    assert {m["name"] for m in ours[0]["materials"]} == set(MATERIALS)
    strip = ("asset", "accessors")  # exporter version string; accessor min/max floats are compared below
    assert {k: v for k, v in ours[0].items() if k not in strip} == {
        k: v for k, v in committed[0].items() if k not in strip}
    for x, y in zip(ours[0]["accessors"], committed[0]["accessors"], strict=True):
        assert {k: v for k, v in x.items() if k not in ("min", "max")} == {
            k: v for k, v in y.items() if k not in ("min", "max")}
        np.testing.assert_allclose(x.get("min", []), y.get("min", []), atol=1e-6)
    a = ours[1][: len(ours[1]) // 4 * 4].view(np.float32)
    b = committed[1][: len(committed[1]) // 4 * 4].view(np.float32)
    np.testing.assert_allclose(a, b, atol=1e-6, rtol=1e-5, equal_nan=True)
    assert (tmp_path / "arkit_head.blend").stat().st_size < 5e6


def test_committed_glb_imports_with_all_morph_targets(rig) -> None:
    before = set(bpy.data.objects)
    bpy.ops.import_scene.gltf(filepath=str(RIG / "arkit_head.glb"))
    new = [o for o in bpy.data.objects if o not in before]
    meshes = [o for o in new if o.type == "MESH"]
    assert len(meshes) == 1 and meshes[0].name.startswith("ARKitHead")  # ".001" beside the open .blend
    head = meshes[0]
    assert [b.name for b in head.data.shape_keys.key_blocks][1:] == list(ARKIT_NAMES)
    assert len(head.data.vertices) >= len(rig["basis"])  # the importer may split seams, never merge
    assert any(o.name.startswith("HeadRoot") for o in new)
