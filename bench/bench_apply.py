"""Bench: writing 52 ARKit curves x 1500 frames into Blender, bulk vs a `keyframe_insert` loop.

    .venv/bin/python bench/bench_apply.py [--frames 1500] [--repeats 5]

Both run in the same process on the same mesh type; the bulk path is the add-on's `apply_take`
(new slotted Action, `keyframe_points.add` + `foreach_set`), timed as the median of `--repeats`
runs; the baseline sets each shape key value and calls `keyframe_insert` per key per frame (once:
it is slow). Prints a markdown table row for BENCHMARKS.md. Target: bulk <= 50 ms.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("BLENDER_USER_RESOURCES", tempfile.mkdtemp(prefix="dt-bench-"))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import bpy  # noqa: E402
import numpy as np  # noqa: E402
from blender_addon import apply, retarget  # noqa: E402

from dreamtalk.core.arkit import ARKIT_NAMES  # noqa: E402
from dreamtalk.core.curves import Curves  # noqa: E402

TARGET_MS = 50.0


def face(name: str) -> bpy.types.Object:
    mesh = bpy.data.meshes.new(name)
    mesh.from_pydata([(0, 0, 0), (1, 0, 0), (0, 1, 0)], [], [(0, 1, 2)])
    obj = bpy.data.objects.new(name, mesh)
    bpy.context.scene.collection.objects.link(obj)
    obj.shape_key_add(name="Basis")
    for key in ARKIT_NAMES:
        obj.shape_key_add(name=key, from_mix=False)
    return obj


def bulk_ms(curves: Curves, repeats: int) -> tuple[float, bpy.types.Object]:
    rmap = retarget.build_map(ARKIT_NAMES)
    times = []
    for run in range(repeats):
        obj = face(f"Bulk{run}")
        start = time.perf_counter()
        apply.apply_take(obj, curves, f"DT bench {run}", rmap, 1)
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times), obj


def insert_loop_ms(curves: Curves) -> tuple[float, bpy.types.Object]:
    obj = face("Loop")
    blocks = [obj.data.shape_keys.key_blocks[n] for n in ARKIT_NAMES]
    start = time.perf_counter()
    for frame, row in enumerate(curves.values.tolist()):
        for block, value in zip(blocks, row, strict=True):
            block.value = value
            block.keyframe_insert("value", frame=frame + 1)
    return (time.perf_counter() - start) * 1000, obj


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=1500)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args(argv)
    bpy.ops.wm.read_factory_settings(use_empty=True)
    rng = np.random.default_rng(0)
    curves = Curves(25.0, rng.uniform(0, 1, (args.frames, 52)).astype(np.float32))
    bulk, bulk_obj = bulk_ms(curves, args.repeats)
    loop, loop_obj = insert_loop_ms(curves)
    check = [(f, n) for f in (1, args.frames // 2, args.frames) for n in ("jawOpen", "tongueOut")]
    for frame, name in check:  # both paths must key the same values
        path = f'key_blocks["{name}"].value'
        a = {fc.data_path: fc for fc in apply.action_fcurves(bulk_obj.data.shape_keys)}[path].evaluate(frame)
        b = {fc.data_path: fc for fc in apply.action_fcurves(loop_obj.data.shape_keys)}[path].evaluate(frame)
        assert abs(a - b) < 1e-6, (frame, name, a, b)
    verdict = "meets" if bulk <= TARGET_MS else "MISSES"
    print(f"| bench | bulk (median of {args.repeats}) | keyframe_insert loop | speed-up | target |")
    print("|---|---|---|---|---|")
    print(f"| apply 52 curves x {args.frames} frames (bpy {bpy.app.version_string}) | {bulk:.1f} ms | "
          f"{loop:.0f} ms | {loop / bulk:.0f}x | <= {TARGET_MS:.0f} ms: {verdict} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
