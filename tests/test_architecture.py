"""The backend's import structure (docs/ARCHITECTURE.md): no cycles, layers point one way, and the
two worlds stay apart (the backend never imports bpy; the shared core never imports torch or bpy)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from import_graph import import_edges, layer_violations, sibling_cycles, third_party_imports

BACKEND = Path(__file__).resolve().parent.parent / "backend" / "dreamtalk"

# core <- rig / align / features <- procedural / corpus / models <- engines, render <- server, evaluation,
# demo <- cli. Same-layer packages may import each other, but never in a circle (sibling_cycles).
LAYERS: dict[str, int] = {
    "__init__": 0, "core": 0, "progress_bar": 0,
    "rig": 1, "align": 1, "features": 1, "learning": 1,
    "procedural": 2, "corpus": 2, "models": 2,
    "engines": 3, "render": 3,
    "server": 4, "evaluation": 4, "demo": 4,
    "cli": 5,
}


def test_no_import_cycles_at_any_level_of_the_package_tree():
    assert sibling_cycles(BACKEND) == []


def test_packages_import_only_their_own_or_lower_layers():
    assert layer_violations(BACKEND, LAYERS) == []


def test_backend_never_imports_bpy_and_core_never_imports_torch():
    for path in BACKEND.rglob("*.py"):
        names = third_party_imports(path)
        assert "bpy" not in names, path
        if "core" in path.relative_to(BACKEND).parts[:1]:
            assert not names & {"torch", "bpy"}, path


def _copy(tmp_path: Path) -> Path:
    root = tmp_path / "dreamtalk"
    shutil.copytree(BACKEND, root, ignore=shutil.ignore_patterns("__pycache__", "*.pt", "*.npz", "*.json"))
    return root


@pytest.mark.parametrize("module, line, found", [
    # a package cycle: features would import procedural, which imports features
    ("features/logmel.py", "from ..procedural import engine", "dreamtalk: features -> procedural -> features"),
    # a module cycle inside server/, even when only for type checking
    ("server/jobs.py", "if TYPE_CHECKING:\n    from .service import Service", "dreamtalk.server: "),
    # a deferred import still closes a circle between the two learned models
    ("models/emodiff/generate.py", "def _f():\n    from ..lip import refine", "dreamtalk.models: emodiff -> lip -> emodiff"),
])
def test_a_planted_cycle_is_found(tmp_path, module, line, found):
    root = _copy(tmp_path)
    assert sibling_cycles(root) == []
    path = root / module
    prefix = "from typing import TYPE_CHECKING\n" if "TYPE_CHECKING" in line else ""
    path.write_text(path.read_text() + f"\n{prefix}{line}\n")
    cycles = sibling_cycles(root)
    assert any(c.startswith(found) for c in cycles), cycles


def test_a_planted_upward_import_is_found(tmp_path):
    root = _copy(tmp_path)
    path = root / "models" / "pose.py"
    path.write_text(path.read_text() + "\nfrom ..engines import Progress\n")
    assert layer_violations(root, LAYERS) == ["dreamtalk.models.pose imports dreamtalk.engines (layer 2 -> 3)"]


def test_relative_and_from_imports_resolve_to_modules(tmp_path):
    root = tmp_path / "pkg"
    (root / "sub").mkdir(parents=True)
    (root / "__init__.py").write_text("")
    (root / "sub" / "__init__.py").write_text("from . import a\n")
    (root / "sub" / "a.py").write_text("from .c import thing\nimport pkg.sub.c.attribute\n")
    (root / "sub" / "c.py").write_text("")
    (root / "b.py").write_text("from .sub import c\nfrom pkg import sub\n")
    assert import_edges(root) == {"pkg.sub": {"pkg.sub.a"}, "pkg.sub.a": {"pkg.sub.c"},
                                  "pkg.b": {"pkg.sub.c", "pkg.sub"}}
    assert sibling_cycles(root) == []
    (root / "sub" / "c.py").write_text("from .. import b\n")
    assert sibling_cycles(root) == ["pkg: b -> sub -> b"]
