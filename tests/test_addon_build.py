"""build_addon.py: the extension zip carries the add-on, the vendored core, pyzmq wheels (and the rig)."""

from __future__ import annotations

import shutil
import tomllib
import zipfile

import addon_support
import pytest

import build_addon


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    out = tmp_path_factory.mktemp("dist")
    return build_addon.build(out, addon_support.WHEEL_CACHE, allow_missing_rig=not build_addon.RIG.is_file())


def test_zip_has_manifest_wheels_core_and_presets(built):
    manifest = build_addon.validate(built, require_rig=build_addon.RIG.is_file())
    assert manifest["id"] == "dreamtalk" and manifest["permissions"]["network"]
    assert sorted(manifest["platforms"]) == ["linux-x64", "macos-arm64", "macos-x64", "windows-x64"]
    wheels = manifest["wheels"]
    assert any("manylinux" in w and "x86_64" in w for w in wheels)
    assert any("win_amd64" in w for w in wheels)
    assert any("macosx" in w and ("universal2" in w or "arm64" in w) for w in wheels)
    assert all(f"-{build_addon.PYZMQ_VERSION}-cp311" in w for w in wheels)
    names = set(zipfile.ZipFile(built).namelist())
    core = {p.name for p in build_addon.CORE.glob("*.py")}
    assert {f"vendor/dreamtalk_core/{n}" for n in core} <= names
    assert {"__init__.py", "apply.py", "retarget_presets/metahuman.json"} <= names
    assert ("rigs/arkit_head.blend" in names) == build_addon.RIG.is_file()


def test_source_tree_has_no_vendored_copy():
    assert not (addon_support.REPO / "blender_addon" / "vendor").exists()


def _rezip(source, target, drop=(), replace=None):
    replace = replace or {}
    with zipfile.ZipFile(source) as src, zipfile.ZipFile(target, "w") as dst:
        for name in src.namelist():
            if name not in drop:
                dst.writestr(name, replace.get(name, src.read(name)))
        for name, data in replace.items():
            if name not in src.namelist():
                dst.writestr(name, data)
    return target


def test_validation_catches_a_missing_wheel(built, tmp_path):
    manifest = tomllib.loads(zipfile.ZipFile(built).read("blender_manifest.toml").decode())
    broken = _rezip(built, tmp_path / "b.zip", drop={manifest["wheels"][0].removeprefix("./")})
    with pytest.raises(build_addon.BuildError, match="does not contain"):
        build_addon.validate(broken, require_rig=False)


def test_validation_catches_missing_rig_bad_python_and_torch(built, tmp_path):
    with pytest.raises(build_addon.BuildError, match="bundled rig"):
        build_addon.validate(_rezip(built, tmp_path / "r.zip", drop={"rigs/arkit_head.blend"}), require_rig=True)
    with pytest.raises(build_addon.BuildError, match="does not compile"):
        build_addon.validate(_rezip(built, tmp_path / "s.zip", replace={"apply.py": b"def broken(:\n"}), False)
    with pytest.raises(build_addon.BuildError, match="imports torch"):
        build_addon.validate(_rezip(built, tmp_path / "t.zip", replace={"extra.py": b"import torch.nn\n"}), False)
    with pytest.raises(build_addon.BuildError, match="does not parse"):
        build_addon.validate(_rezip(built, tmp_path / "m.zip", replace={"blender_manifest.toml": b"id = \n"}), False)


def test_build_refuses_to_run_without_the_rig_unless_allowed(tmp_path, monkeypatch):
    monkeypatch.setattr(build_addon, "RIG", tmp_path / "absent.blend")
    with pytest.raises(build_addon.BuildError, match="not found"):
        build_addon.build(tmp_path / "dist", addon_support.WHEEL_CACHE)
    assert not (tmp_path / "dist").exists()


def test_manifest_text_puts_new_keys_in_the_top_level_table():
    text = build_addon.manifest_text('id = "x"\n\n[permissions]\nnetwork = "y"\n', ["a.whl"], ["linux-x64"])
    data = tomllib.loads(text)
    assert data["wheels"] == ["./wheels/a.whl"] and data["platforms"] == ["linux-x64"]
    assert data["permissions"] == {"network": "y"}


def test_cli_builds_into_the_requested_folder(tmp_path):
    code = build_addon.main(["--out", str(tmp_path), "--cache", str(addon_support.WHEEL_CACHE), "--allow-missing-rig"])
    assert code == 0 and len(list(tmp_path.glob("dreamtalk-*.zip"))) == 1
    shutil.rmtree(tmp_path)
