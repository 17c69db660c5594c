"""Debian packages unpacked into the cache without root: `apt-get download` + `dpkg-deb -x` (real speech,
voices for the corpus and the validation sets).

Some voices live in Debian's contrib / non-free sections (SVOX Pico, MBROLA voices), which a stock
sources list may not enable. So when a plain `apt-get download` fails, package lists for
`main contrib non-free` of this system's release are fetched into a private folder (no root, nothing
system-wide changes) and the download is retried with them.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from ..core.errors import DreamTalkError

MIRROR = "http://deb.debian.org/debian"
COMPONENTS = "main contrib non-free"


def cache_dir() -> Path:
    return Path(os.environ.get("DREAMTALK_CACHE") or Path.home() / ".cache" / "dreamtalk")


def release() -> str:
    """This system's Debian codename (VERSION_CODENAME of /etc/os-release), else bookworm."""
    try:
        for line in Path("/etc/os-release").read_text().splitlines():
            if line.startswith("VERSION_CODENAME=") and line.split("=", 1)[1].strip():
                return line.split("=", 1)[1].strip().strip('"')
    except OSError:
        pass
    return "bookworm"


def unpacked(name: str, packages: tuple[str, ...], marker: str) -> Path:
    """`cache/debian/NAME`: the packages unpacked there once (complete when `marker`, a path inside it,
    exists). Raises DreamTalkError when apt-get or dpkg-deb are missing or the download fails."""
    root = cache_dir() / "debian" / name
    if (root / marker).exists():
        return root
    if shutil.which("apt-get") is None or shutil.which("dpkg-deb") is None:
        raise DreamTalkError(f"{name} needs apt-get and dpkg-deb (Debian/Ubuntu) to fetch {' '.join(packages)}")
    root.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=root.parent) as tmp:
        staging = download_unpacked(Path(tmp), packages)
        if not (staging / marker).exists():
            raise DreamTalkError(f"the packages {' '.join(packages)} lack {marker}")
        if root.exists():
            shutil.rmtree(root)  # a half-written earlier attempt
        os.replace(staging, root)
    return root


def download_unpacked(folder: Path, packages: tuple[str, ...]) -> Path:
    """The packages downloaded into `folder` and unpacked into `folder/unpacked` (returned)."""
    download(folder, packages)
    staging = folder / "unpacked"
    for deb in sorted(folder.glob("*.deb")):
        subprocess.run(["dpkg-deb", "-x", str(deb), str(staging)], check=True, capture_output=True)
    return staging


def download(folder: Path, packages: tuple[str, ...]) -> None:
    """`apt-get download` into `folder`, retrying with private main/contrib/non-free package lists."""
    plain = subprocess.run(["apt-get", "download", *packages], cwd=folder, capture_output=True, text=True)
    if plain.returncode == 0:
        return
    state = cache_dir() / "debian" / "apt"
    for sub in ("lists/partial", "cache/archives/partial"):
        (state / sub).mkdir(parents=True, exist_ok=True)
    sources = state / "sources.list"
    sources.write_text(f"deb {MIRROR} {release()} {COMPONENTS}\n", encoding="utf-8")
    options = ["-o", f"Dir::State::Lists={state / 'lists'}", "-o", f"Dir::Cache={state / 'cache'}",
               "-o", f"Dir::Etc::SourceList={sources}", "-o", "Dir::Etc::SourceParts=/nonexistent",
               "-o", "Debug::NoLocking=1"]
    subprocess.run(["apt-get", "update", "-qq", *options], capture_output=True, check=False)
    retry = subprocess.run(["apt-get", "download", *options, *packages], cwd=folder, capture_output=True, text=True)
    if retry.returncode != 0:
        last = (retry.stderr.strip().splitlines() or ["no output"])[-1]
        raise DreamTalkError(f"apt-get download {' '.join(packages)} failed: {last}")
