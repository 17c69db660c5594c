"""Shared pieces of the neural-renderer tests: a tiny network config and synthetic data (part-1 renders of
the two offline portraits, 32 px, written once per test session)."""

from __future__ import annotations

import atexit
import shutil
import tempfile
from functools import cache
from pathlib import Path

import pytest
import torch

from dreamtalk.render.analysis import analyse
from dreamtalk.render.config import RenderConfig
from dreamtalk.render.neural.config import NeuralRendererConfig, PrepareConfig, RendererTrainConfig
from dreamtalk.render.neural.synthetic import write_synthetic_data
from dreamtalk.render.portraits import offline_portraits

TINY = NeuralRendererConfig(size=32, base_channels=8, volume_channels=4, volume_depth=4, volume_blocks=1,
                            motion_channels=8, motion_levels=1, decoder_blocks=1, disc_channels=8, disc_layers=2)


def tiny_training(steps: int, **changes) -> RendererTrainConfig:
    values = dict(steps=steps, batch=4, lr=3e-3, disc_lr=3e-3, gan_start=steps // 2, equivariance_weight=1.0,
                  save_every=max(steps, 1), log_every=5, sample_every=max(steps, 1), val_pairs=16, prefetch=2)
    return RendererTrainConfig(**(values | changes))


@cache
def synthetic_data() -> Path:
    """Two random takes per portrait (12 frames each; the second held out), one part-1 pair per frame."""
    folder = Path(tempfile.mkdtemp(prefix="neural-data-"))
    atexit.register(shutil.rmtree, folder, True)
    portraits = {name: analyse(image, RenderConfig(size=256)) for name, image in offline_portraits().items()}
    write_synthetic_data(folder / "data", portraits, 2, 12, PrepareConfig(size=32, sources_per_clip=2, pairs_per_frame=1))
    return folder / "data"



@pytest.fixture(scope="module")
def one_thread():
    """The tiny networks gain nothing from intra-op threads, and lose a lot to them on a busy machine."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)
