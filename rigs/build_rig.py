"""Build the bundled ARKit head (`rigs/arkit_head.blend` + `rigs/arkit_head.glb`) with bpy.

    .venv/bin/python rigs/build_rig.py [--out-dir rigs]

Geometry comes from `dreamtalk.rig` (pure numpy, from the committed face data); this script only turns
it into Blender data: the mesh object `ARKitHead` (shape keys `Basis` + the 52 ARKit names in Apple's
order, one material per part) parented to the empty `HeadRoot` that head pose rotates.
Works with Blender 4.2 LTS to 5.x (tested with bpy 4.2.23 and 5.0.1). The committed .blend is written
by bpy 4.2: Blender 5 writes a new file header that 4.2-4.4 cannot read.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "backend"))
os.environ.setdefault("BLENDER_USER_RESOURCES", tempfile.mkdtemp(prefix="dreamtalk-blender-"))

import bpy  # noqa: E402
from dreamtalk.rig.head import MATERIALS, HeadMesh  # noqa: E402
from dreamtalk.rig.shapes import HEAD_PIVOT, RigModel, build_model  # noqa: E402

MESH_NAME, ROOT_NAME = "ARKitHead", "HeadRoot"
MATERIAL_COLOURS = {  # viewport / base colours, linear RGBA
    "Skin": (0.80, 0.55, 0.45, 1.0), "Sclera": (0.92, 0.90, 0.88, 1.0), "Iris": (0.18, 0.28, 0.42, 1.0),
    "Pupil": (0.01, 0.01, 0.01, 1.0), "Teeth": (0.95, 0.93, 0.85, 1.0), "Tongue": (0.65, 0.25, 0.28, 1.0),
    "MouthCavity": (0.08, 0.02, 0.02, 1.0), "Lips": (0.62, 0.30, 0.30, 1.0), "Brows": (0.22, 0.14, 0.09, 1.0),
}


def reset_scene() -> None:
    """Start from an empty file so the output depends only on our data."""
    bpy.ops.wm.read_factory_settings(use_empty=True)
    bpy.context.preferences.filepaths.save_version = 0  # no .blend1 backups beside the output


def make_materials() -> list[bpy.types.Material]:
    """One plain material per head part (viewport colour + Principled base colour)."""
    out = []
    for name in MATERIALS:
        mat = bpy.data.materials.new(name)
        mat.diffuse_color = MATERIAL_COLOURS[name]
        mat.use_nodes = True
        bsdf = mat.node_tree.nodes.get("Principled BSDF")
        if bsdf is not None:
            bsdf.inputs["Base Color"].default_value = MATERIAL_COLOURS[name]
            bsdf.inputs["Roughness"].default_value = 0.25 if name in ("Sclera", "Iris", "Pupil") else 0.6
        out.append(mat)
    return out


def make_mesh(head: HeadMesh) -> bpy.types.Object:
    """The `ARKitHead` mesh object: vertices in landmark order first, smooth shaded."""
    mesh = bpy.data.meshes.new(MESH_NAME)
    mesh.from_pydata(head.vertices.tolist(), [], head.faces.tolist())
    for mat in make_materials():
        mesh.materials.append(mat)
    mesh.polygons.foreach_set("material_index", head.material.astype(np.int32))
    mesh.polygons.foreach_set("use_smooth", np.ones(len(head.faces), dtype=bool))
    mesh.validate(clean_customdata=False)
    mesh.update()
    obj = bpy.data.objects.new(MESH_NAME, mesh)
    bpy.context.scene.collection.objects.link(obj)
    return obj


def add_shape_keys(obj: bpy.types.Object, model: RigModel) -> None:
    """`Basis` plus one key per ARKit name, in Apple's order, slider range 0..1."""
    obj.shape_key_add(name="Basis", from_mix=False)
    for name, delta in zip(model.names, model.deltas, strict=True):
        key = obj.shape_key_add(name=name, from_mix=False)
        key.data.foreach_set("co", (model.head.vertices + delta).astype(np.float32).ravel())
        key.slider_min, key.slider_max = 0.0, 1.0
        key.value = 0.0  # Blender 5 starts new keys at 1.0; the rig must load neutral


def add_head_root(obj: bpy.types.Object) -> bpy.types.Object:
    """Empty `HeadRoot` at the head-neck pivot; rotation_euler = (pitch, roll, yaw), mode YXZ."""
    root = bpy.data.objects.new(ROOT_NAME, None)
    root.empty_display_type = "SPHERE"
    root.empty_display_size = 0.02
    root.location = HEAD_PIVOT
    root.rotation_mode = "YXZ"
    bpy.context.scene.collection.objects.link(root)
    obj.parent = root
    obj.location = -np.asarray(HEAD_PIVOT)
    return root


def build(out_dir: Path) -> tuple[Path, Path]:
    """Build the rig and write the .blend and .glb into `out_dir`."""
    reset_scene()
    model = build_model()
    obj = make_mesh(model.head)
    add_shape_keys(obj, model)
    add_head_root(obj)
    out_dir.mkdir(parents=True, exist_ok=True)
    blend, glb = out_dir / "arkit_head.blend", out_dir / "arkit_head.glb"
    bpy.ops.wm.save_as_mainfile(filepath=str(blend), compress=True, relative_remap=False)
    bpy.ops.export_scene.gltf(filepath=str(glb), export_format="GLB", export_morph=True,
                              export_morph_normal=False, export_apply=False, export_materials="EXPORT")
    return blend, glb


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out-dir", type=Path, default=ROOT / "rigs")
    args = parser.parse_args()
    for path in build(args.out_dir):
        print(f"wrote {path} ({path.stat().st_size / 1e6:.2f} MB)")
    if bpy.app.version[:2] != (4, 2):
        print(f"note: this .blend is written by Blender {bpy.app.version_string}; the committed one is written "
              "by bpy 4.2 so that Blender 4.2 LTS to 5.x all open it (see docs/rig.md)")


if __name__ == "__main__":
    main()
