"""Shared helpers of the add-on tests: headless bpy set-up, the installed extension, test meshes.

Importing this module sets BLENDER_USER_RESOURCES to a temp folder *before* bpy is imported, and
puts the repository root on sys.path (for `blender_addon` and `build_addon`).
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
os.environ.setdefault("BLENDER_USER_RESOURCES", tempfile.mkdtemp(prefix="dt-blender-user-"))
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

EXT_MODULE = "bl_ext.user_default.dreamtalk"
WHEEL_CACHE = REPO / ".cache" / "wheels"


def write_tone(path: Path, seconds: float, rate: int = 16000) -> Path:
    """A short mono WAV (a 220 Hz tone with a slow envelope) for sound-strip and audio tests."""
    import soundfile

    t = np.arange(int(seconds * rate)) / rate
    soundfile.write(path, (0.3 * np.sin(2 * np.pi * 220 * t) * np.sin(np.pi * t / seconds)).astype(np.float32), rate)
    return path


def make_face(name: str, keys) -> object:
    """A small mesh object linked to the scene with shape keys Basis + `keys`."""
    import bpy

    mesh = bpy.data.meshes.new(name)
    mesh.from_pydata([(0, 0, 0), (1, 0, 0), (0, 1, 0), (1, 1, 0)], [], [(0, 1, 3, 2)])
    obj = bpy.data.objects.new(name, mesh)
    bpy.context.scene.collection.objects.link(obj)
    obj.shape_key_add(name="Basis")
    for index, key in enumerate(keys):
        block = obj.shape_key_add(name=key, from_mix=False)
        block.data[index % 4].co.z = 0.1  # a real deformation, so glTF keeps the morph target
    return obj


def ramp_curves(fps: float, frames: int, seed: int = 0):
    """Curves whose channel c at frame i is a known smooth function of time (for alignment checks)."""
    from dreamtalk.core.curves import Curves

    t = np.arange(frames)[:, None] / fps
    phase = np.arange(52)[None, :] * 0.37 + seed
    values = 0.5 + 0.45 * np.sin(1.3 * t + phase)
    head = 0.1 * np.sin(np.column_stack([0.7 * t[:, 0], 0.9 * t[:, 0], 1.1 * t[:, 0]]))
    return Curves(fps, values.astype(np.float32), head.astype(np.float32))


def all_strips() -> list:
    """The sequencer's strips in the current scene (`strips` on Blender 4.4+, `sequences` before)."""
    import bpy

    editor = bpy.context.scene.sequence_editor
    if editor is None:
        return []
    return list(editor.strips if hasattr(editor, "strips") else editor.sequences)


def has_audaspace() -> bool:
    """Whether this bpy has audaspace (a built-in module of Blender, absent from the 4.2 PyPI build)."""
    try:
        import aud  # noqa: F401
    except ImportError:
        return False
    return True


class MockLayout:
    """Stands in for `UILayout` headless; checks that every prop / operator / list drawn exists."""

    def __init__(self, calls: list | None = None) -> None:
        object.__setattr__(self, "calls", [] if calls is None else calls)

    def __setattr__(self, name, value) -> None:  # enabled, scale_y, alert ...
        self.calls.append(("set", name, value))

    def __getattr__(self, name):
        def method(*args, **kwargs):
            self.calls.append((name, args, kwargs))
            _check_call(name, args, kwargs)
            return MockLayout(self.calls)

        return method

    def texts(self) -> list[str]:
        return [c[2].get("text", "") for c in self.calls if c[0] in {"label", "progress"}]

    def names(self, kind: str) -> list:
        return [c[1][0] if c[1] else None for c in self.calls if c[0] == kind]


def _check_call(name: str, args: tuple, kwargs: dict) -> None:
    import bpy

    if name == "prop":
        data, prop = args[0], args[1]
        assert prop in data.bl_rna.properties, f"layout.prop: {type(data).__name__} has no property {prop!r}"
    elif name == "operator":
        module, _, op = args[0].partition(".")
        assert hasattr(bpy.types, f"{module.upper()}_OT_{op}"), f"layout.operator: {args[0]} is not registered"
    elif name == "template_list":
        assert hasattr(bpy.types, args[0]), f"template_list: UIList {args[0]} is not registered"
        assert args[3] in args[2].bl_rna.properties
    elif name == "progress":
        assert 0.0 <= kwargs["factor"] <= 1.0


class CurvesClient:
    """Test double of `dreamtalk.core.client.Client` for add-on unit tests: returns `ramp_curves`
    takes at the requested fps (seeded per take), optionally waiting for a gate or raising an error.
    The real client is exercised end to end in tests/test_addon_e2e.py."""

    def __init__(self, gate=None, error: Exception | None = None, seed_offset: int = 0) -> None:
        self.gate, self.error, self.seed_offset = gate, error, seed_offset
        self.requests: list = []

    def generate(self, request, on_progress=None, cancel=None):
        self.requests.append(request)
        on_progress("sampling", 0.5)
        while self.gate is not None and not self.gate.wait(0.01):
            if cancel.is_set():
                raise RuntimeError("job cancelled")
        if self.error is not None:
            raise self.error
        frames = max(1, int(round(request.duration * request.fps)))
        return [ramp_curves(request.fps, frames, request.seed + self.seed_offset + k) for k in range(request.takes)]

    def close(self) -> None:
        pass


def install_extension(out_dir: Path):
    """Build the extension zip, install and enable it headless (once per process); returns the module."""
    import importlib

    import bpy

    import build_addon

    installed = Path(os.environ["BLENDER_USER_RESOURCES"]) / "extensions" / "user_default" / "dreamtalk"
    if not installed.is_dir():
        zip_path = build_addon.build(out_dir, WHEEL_CACHE, allow_missing_rig=not build_addon.RIG.is_file())
        result = bpy.ops.extensions.package_install_files(
            filepath=str(zip_path), repo="user_default", enable_on_install=True,
        )
        assert result == {"FINISHED"}
    return importlib.import_module(EXT_MODULE)


def reset_blender():
    """Factory settings (empty scene), then re-enable the extension; returns its (current) module."""
    import bpy

    bpy.ops.wm.read_factory_settings(use_empty=True)
    bpy.ops.preferences.addon_enable(module=EXT_MODULE)
    ext = sys.modules[EXT_MODULE]
    ext.state.GENERATE = ext.jobs.JobRunner()
    ext.state.HELLO = ext.jobs.JobRunner()
    return ext


GLTF_VALIDATOR = REPO / ".cache" / "gltf-validator" / "node_modules" / "gltf-validator"  # `make gltf-validator`


def validate_gltf(path: Path) -> dict | None:
    """The Khronos glTF validator's report of `path`, or None when node or the validator is missing."""
    import json
    import shutil
    import subprocess

    package = Path(os.environ.get("GLTF_VALIDATOR", GLTF_VALIDATOR))
    if shutil.which("node") is None or not (package / "package.json").is_file():
        return None
    result = subprocess.run(
        ["node", str(REPO / "tests" / "gltf_validate.js"), str(path)], capture_output=True, text=True,
        env=dict(os.environ, GLTF_VALIDATOR=str(package)), timeout=120, check=True,
    )
    return json.loads(result.stdout)
