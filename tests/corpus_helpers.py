"""A tiny corpus (a few espeak-ng utterances, no real speech) built once per test session."""

import atexit
import shutil
import tempfile
from functools import lru_cache
from pathlib import Path

from dreamtalk.corpus.build import BuildConfig, build

TINY = BuildConfig(hours=0.006, seed=3, workers=1, real=False, shard_size=3)


@lru_cache(maxsize=1)
def tiny_corpus() -> Path:
    root = Path(tempfile.mkdtemp(prefix="dreamtalk-corpus-"))
    atexit.register(shutil.rmtree, root, True)
    build(root / "corpus", TINY)
    return root / "corpus"


def copy_of_tiny(dest: Path) -> Path:
    shutil.copytree(tiny_corpus(), dest)
    return dest
