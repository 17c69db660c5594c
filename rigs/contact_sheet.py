"""Render the rig's contact sheet: neutral, all 52 ARKit keys at 1.0 and a few mixes (Workbench, headless).

    .venv/bin/python rigs/contact_sheet.py [--blend rigs/arkit_head.blend] [--out docs/rig_contact_sheet.png]

Each tile is one Workbench render (material colours, studio light) of `ARKitHead` from a camera 20
degrees to the subject's left of straight ahead, labelled with the key (or mix) it shows.
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "backend"))
os.environ.setdefault("BLENDER_USER_RESOURCES", tempfile.mkdtemp(prefix="dreamtalk-blender-"))

import bpy  # noqa: E402
from dreamtalk.core.arkit import ARKIT_NAMES  # noqa: E402
from PIL import Image, ImageDraw, ImageFont  # noqa: E402

TILE = 240
COLUMNS = 9
MIXES: dict[str, dict[str, float]] = {  # viseme-like and emotion-like combinations
    "viseme AA": {"jawOpen": 0.6, "mouthLowerDownLeft": 0.3, "mouthLowerDownRight": 0.3},
    "viseme OO": {"jawOpen": 0.2, "mouthFunnel": 0.6, "mouthPucker": 0.7},
    "viseme MBP": {"jawOpen": 0.3, "mouthClose": 0.3, "mouthPressLeft": 0.5, "mouthPressRight": 0.5},
    "viseme FV": {"jawOpen": 0.1, "mouthRollLower": 0.6, "mouthUpperUpLeft": 0.3, "mouthUpperUpRight": 0.3},
    "happy": {"mouthSmileLeft": 0.9, "mouthSmileRight": 0.9, "cheekSquintLeft": 0.6, "cheekSquintRight": 0.6,
              "eyeSquintLeft": 0.4, "eyeSquintRight": 0.4, "jawOpen": 0.15},
    "sad": {"browInnerUp": 0.9, "mouthFrownLeft": 0.7, "mouthFrownRight": 0.7, "mouthShrugLower": 0.4,
            "eyeLookDownLeft": 0.3, "eyeLookDownRight": 0.3},
    "angry": {"browDownLeft": 1.0, "browDownRight": 1.0, "noseSneerLeft": 0.6, "noseSneerRight": 0.6,
              "mouthPressLeft": 0.5, "mouthPressRight": 0.5, "eyeSquintLeft": 0.5, "eyeSquintRight": 0.5},
    "surprised": {"browInnerUp": 1.0, "browOuterUpLeft": 1.0, "browOuterUpRight": 1.0, "eyeWideLeft": 1.0,
                  "eyeWideRight": 1.0, "jawOpen": 0.5},
    "jawOpen+mouthClose": {"jawOpen": 1.0, "mouthClose": 1.0},
    "disgust": {"noseSneerLeft": 1.0, "noseSneerRight": 1.0, "mouthUpperUpLeft": 0.7, "mouthUpperUpRight": 0.7,
                "browDownLeft": 0.5, "browDownRight": 0.5, "cheekSquintLeft": 0.5, "cheekSquintRight": 0.5},
}


def setup_scene(blend: Path) -> bpy.types.Object:
    """Open the rig, add a camera and Workbench settings; returns the head object."""
    bpy.ops.wm.open_mainfile(filepath=str(blend))
    scene = bpy.context.scene
    scene.render.engine = "BLENDER_WORKBENCH"
    scene.render.resolution_x = scene.render.resolution_y = TILE
    scene.render.film_transparent = False
    scene.display.shading.light = "STUDIO"
    scene.display.shading.color_type = "MATERIAL"
    scene.display.shading.show_cavity = False
    scene.world = scene.world or bpy.data.worlds.new("World")
    scene.world.color = (0.18, 0.18, 0.2)
    cam_data = bpy.data.cameras.new("SheetCamera")
    cam_data.lens = 85
    cam = bpy.data.objects.new("SheetCamera", cam_data)
    scene.collection.objects.link(cam)
    yaw = math.radians(20)
    dist = 0.5
    cam.location = (dist * math.sin(yaw), -dist * math.cos(yaw), -0.035)
    cam.rotation_euler = (math.radians(90), 0.0, yaw)
    scene.camera = cam
    return bpy.data.objects["ARKitHead"]


def render_tile(obj: bpy.types.Object, values: dict[str, float], path: Path) -> None:
    """Set the given key values (others 0) and render one tile to `path`."""
    for block in obj.data.shape_keys.key_blocks[1:]:
        block.value = values.get(block.name, 0.0)
    bpy.context.scene.render.filepath = str(path)
    bpy.ops.render.render(write_still=True)


def compose(tiles: list[tuple[str, Path]], out: Path) -> None:
    """Grid of labelled tiles into one PNG."""
    rows = math.ceil(len(tiles) / COLUMNS)
    sheet = Image.new("RGB", (COLUMNS * TILE, rows * (TILE + 18)), (30, 30, 34))
    draw = ImageDraw.Draw(sheet)
    font = ImageFont.load_default()
    for i, (label, path) in enumerate(tiles):
        x, y = (i % COLUMNS) * TILE, (i // COLUMNS) * (TILE + 18)
        sheet.paste(Image.open(path).convert("RGB"), (x, y + 18))
        draw.text((x + 4, y + 3), label, fill=(235, 235, 235), font=font)
    out.parent.mkdir(parents=True, exist_ok=True)
    sheet.save(out, optimize=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--blend", type=Path, default=ROOT / "rigs" / "arkit_head.blend")
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "rig_contact_sheet.png")
    parser.add_argument("--only", nargs="*", default=None, help="render only these keys / mixes")
    args = parser.parse_args()
    obj = setup_scene(args.blend)
    jobs = [("neutral", {})] + [(n, {n: 1.0}) for n in ARKIT_NAMES] + list(MIXES.items())
    if args.only:
        jobs = [j for j in jobs if j[0] in args.only]
    tiles = []
    with tempfile.TemporaryDirectory() as tmp:
        for i, (label, values) in enumerate(jobs):
            path = Path(tmp) / f"{i:03d}.png"
            render_tile(obj, values, path)
            tiles.append((label, path))
        compose(tiles, args.out)
    print(f"wrote {args.out} ({len(tiles)} tiles)")


if __name__ == "__main__":
    main()
