"""Build the DREAM-Talk Blender extension zip into dist/ and validate it.

    python build_addon.py [--out dist] [--cache .cache/wheels] [--allow-missing-rig]

Steps: copy `blender_addon/`; vendor `backend/dreamtalk/core/` as `vendor/dreamtalk_core/` (the one
copy in git stays in backend/); download pyzmq wheels for every platform with
`pip download --only-binary=:all: --python-version 3.11 --platform TAG` (cached); add the bundled rig
`rigs/arkit_head.blend`; write `wheels = [...]` / `platforms = [...]` into the manifest; zip; then
validate the zip (manifest parses, listed wheels present, rig present, Python compiles, no torch).
"""

from __future__ import annotations

import argparse
import ast
import shutil
import subprocess
import sys
import tempfile
import tomllib
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent
SOURCE = ROOT / "blender_addon"
CORE = ROOT / "backend" / "dreamtalk" / "core"
RIG = ROOT / "rigs" / "arkit_head.blend"
PYZMQ_VERSION = "27.1.0"
PYTHON_VERSION = "3.11"  # Blender 4.2 - 5.0 embed Python 3.11
PLATFORM_TAGS = {  # Blender platform -> pip --platform tag (macOS tags resolve to pyzmq's universal2 wheel)
    "linux-x64": "manylinux_2_28_x86_64",
    "windows-x64": "win_amd64",
    "macos-arm64": "macosx_11_0_arm64",
    "macos-x64": "macosx_10_15_x86_64",
}
FORBIDDEN_IMPORTS = {"torch"}  # the add-on must never pull these in


class BuildError(Exception):
    """The build or its validation failed (one line)."""


def download_wheels(cache: Path) -> dict[str, Path]:
    """pyzmq wheel per Blender platform, downloaded once into `cache/<platform>/`."""
    found: dict[str, Path] = {}
    for platform, tag in PLATFORM_TAGS.items():
        folder = cache / platform
        folder.mkdir(parents=True, exist_ok=True)
        wheels = sorted(folder.glob(f"pyzmq-{PYZMQ_VERSION}-*.whl"))
        if not wheels:
            command = [
                sys.executable, "-m", "pip", "download", f"pyzmq=={PYZMQ_VERSION}", "--only-binary=:all:",
                "--python-version", PYTHON_VERSION, "--platform", tag, "--no-deps", "-q", "-d", str(folder),
            ]
            done = subprocess.run(command, capture_output=True, text=True)
            wheels = sorted(folder.glob(f"pyzmq-{PYZMQ_VERSION}-*.whl"))
            if done.returncode != 0 or not wheels:
                last = (done.stderr.strip().splitlines() or ["no wheel"])[-1]
                raise BuildError(f"pip could not download pyzmq {PYZMQ_VERSION} for {platform} ({tag}): {last}")
        found[platform] = wheels[0]
    return found


def manifest_text(source: str, wheels: list[str], platforms: list[str]) -> str:
    """The source manifest with `wheels` and `platforms` added to its top-level table."""
    lines = source.splitlines()
    first_table = next((i for i, line in enumerate(lines) if line.lstrip().startswith("[")), len(lines))
    extra = [
        "wheels = [" + ", ".join(f'"./wheels/{w}"' for w in wheels) + "]",
        "platforms = [" + ", ".join(f'"{p}"' for p in platforms) + "]",
        "",
    ]
    return "\n".join(lines[:first_table] + extra + lines[first_table:]) + "\n"


def stage(folder: Path, wheels: dict[str, Path], with_rig: bool) -> None:
    """Lay out the extension tree in `folder`."""
    shutil.copytree(SOURCE, folder, ignore=shutil.ignore_patterns("__pycache__", "*.pyc", "vendor", "rigs"))
    vendor = folder / "vendor"
    vendor.mkdir()
    (vendor / "__init__.py").write_text('"""Copies made by build_addon.py; edit the originals in backend/."""\n')
    shutil.copytree(CORE, vendor / "dreamtalk_core", ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    (folder / "wheels").mkdir()
    names = sorted({w.name for w in wheels.values()})
    for wheel in {w.name: w for w in wheels.values()}.values():
        shutil.copy2(wheel, folder / "wheels" / wheel.name)
    if with_rig:
        (folder / "rigs").mkdir()
        shutil.copy2(RIG, folder / "rigs" / RIG.name)
    manifest = folder / "blender_manifest.toml"
    manifest.write_text(manifest_text(manifest.read_text(), names, list(wheels)))


def write_zip(folder: Path, target: Path) -> None:
    """Zip `folder`'s contents (manifest at the zip root), deterministic order."""
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(p for p in folder.rglob("*") if p.is_file()):
            archive.write(path, path.relative_to(folder).as_posix())


def validate(zip_path: Path, require_rig: bool = True) -> dict:
    """Check a built zip; returns the parsed manifest or raises BuildError naming the first problem."""
    with zipfile.ZipFile(zip_path) as archive:
        names = set(archive.namelist())
        if "blender_manifest.toml" not in names:
            raise BuildError(f"{zip_path.name}: blender_manifest.toml missing at the zip root")
        try:
            manifest = tomllib.loads(archive.read("blender_manifest.toml").decode("utf-8"))
        except tomllib.TOMLDecodeError as exc:
            raise BuildError(f"manifest does not parse: {exc}") from None
        for field in ("schema_version", "id", "version", "name", "type", "blender_version_min", "license"):
            if field not in manifest:
                raise BuildError(f"manifest lacks {field!r}")
        if not manifest.get("permissions", {}).get("network"):
            raise BuildError("manifest lacks a [permissions] network reason")
        for wheel in manifest.get("wheels", []):
            if wheel.removeprefix("./") not in names:
                raise BuildError(f"manifest lists {wheel} but the zip does not contain it")
        if set(manifest.get("platforms", [])) != set(PLATFORM_TAGS):
            raise BuildError(f"manifest platforms {manifest.get('platforms')} != {sorted(PLATFORM_TAGS)}")
        if require_rig and f"rigs/{RIG.name}" not in names:
            raise BuildError(f"bundled rig rigs/{RIG.name} missing from the zip")
        for name in sorted(n for n in names if n.endswith(".py")):
            _check_python(name, archive.read(name).decode("utf-8"))
    return manifest


def _check_python(name: str, text: str) -> None:
    try:
        tree = ast.parse(text, filename=name)
        compile(tree, name, "exec")
    except SyntaxError as exc:
        raise BuildError(f"{name} does not compile: {exc}") from None
    for node in ast.walk(tree):
        modules = [a.name for a in node.names] if isinstance(node, ast.Import) else []
        if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            modules = [node.module]
        bad = [m for m in modules if m.split(".")[0] in FORBIDDEN_IMPORTS]
        if bad:
            raise BuildError(f"{name} imports {bad[0]}, which the add-on must never import")


def build(out: Path, cache: Path, allow_missing_rig: bool = False) -> Path:
    """Build and validate the extension zip; returns its path."""
    with_rig = RIG.is_file()
    if not with_rig and not allow_missing_rig:
        raise BuildError(f"bundled rig {RIG} not found (pass --allow-missing-rig for a dev build)")
    version = tomllib.loads((SOURCE / "blender_manifest.toml").read_text())["version"]
    wheels = download_wheels(cache)
    out.mkdir(parents=True, exist_ok=True)
    target = out / f"dreamtalk-{version}.zip"
    with tempfile.TemporaryDirectory() as temp:
        stage(Path(temp) / "dreamtalk", wheels, with_rig)
        partial = out / f".{target.name}.part"
        write_zip(Path(temp) / "dreamtalk", partial)
    try:
        validate(partial, require_rig=with_rig)
    except BuildError:
        partial.unlink(missing_ok=True)
        raise
    partial.replace(target)
    return target


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "dist", help="output folder (default: dist/)")
    parser.add_argument("--cache", type=Path, default=ROOT / ".cache" / "wheels", help="wheel download cache")
    parser.add_argument("--allow-missing-rig", action="store_true", help="build without rigs/arkit_head.blend")
    args = parser.parse_args(argv)
    try:
        target = build(args.out, args.cache, args.allow_missing_rig)
    except BuildError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    size = target.stat().st_size / 1e6
    print(f"built {target.relative_to(Path.cwd()) if target.is_relative_to(Path.cwd()) else target} ({size:.1f} MB)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
