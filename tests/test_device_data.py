"""Training batches drawn on the device (issue 16 item 4): `DeviceWindowSampler` gathers the same windows
as slicing the clips, keeps style clips in their group, lays out condition tracks like the CPU sampler,
draws clips in proportion to their windows, and trains (on the CPU here; on CUDA when one is present)."""

import numpy as np
import pytest
import torch
from emodiff_fixtures import TINY_FRONT_END, tiny_clips, tiny_config

from dreamtalk.models.emodiff.conditions import condition_tracks
from dreamtalk.models.emodiff.config import DiffusionConfig, TrainConfig
from dreamtalk.models.emodiff.data import Clip
from dreamtalk.models.emodiff.device_data import DeviceWindowSampler
from dreamtalk.models.emodiff.train import autocast, train
from dreamtalk.models.pose import statistics


def _sampler(clips, device="cpu"):
    cfg = tiny_config()
    mean, std = statistics([c.x for c in clips])
    return DeviceWindowSampler(clips, cfg, mean, std, device), cfg, mean, std


def _varied_clips() -> list[Clip]:
    clips = tiny_clips(count=9)
    for i, clip in enumerate(clips):  # different lengths, so the weights differ
        cut = 20 + 10 * i
        clips[i] = Clip(clip.features[:cut], clip.x[:cut], clip.emotion)
    return clips


def test_batch_is_the_clips_windows_with_a_style_of_the_same_group():
    clips = _varied_clips()
    sampler, cfg, mean, std = _sampler(clips)
    gen = torch.Generator().manual_seed(3)
    choice = sampler.draw(gen, 64)
    batch = sampler.assemble(choice)
    assert batch["x"].shape == (64, cfg.window, 55) and batch["audio"].shape == (64, cfg.window, 6)
    for row in range(64):
        clip, start = clips[int(choice["clip"][row])], int(choice["start"][row])
        style_clip, style_start = clips[int(choice["style_clip"][row])], int(choice["style_start"][row])
        assert start + cfg.window <= len(clip.x) and style_start + cfg.style_frames <= len(style_clip.x)
        assert style_clip.style_group == clip.style_group
        x = (clip.x[start:start + cfg.window] - mean) / std
        np.testing.assert_allclose(batch["x"][row].numpy(), x, atol=1e-6)
        np.testing.assert_array_equal(batch["audio"][row].numpy(), clip.features[start:start + cfg.window])
        style = (style_clip.x[style_start:style_start + cfg.style_frames] - mean) / std
        expected = condition_tracks(style[None].astype(np.float32), x[0], cfg)[0]
        np.testing.assert_allclose(batch["track"][row].numpy(), expected, atol=1e-6)


def test_clips_are_drawn_in_proportion_to_their_windows():
    clips = _varied_clips()
    sampler, cfg, _, _ = _sampler(clips)
    counts = np.bincount(sampler.draw(torch.Generator().manual_seed(0), 40000)["clip"].numpy(), minlength=len(clips))
    windows = np.array([len(c.x) - cfg.window + 1 for c in clips], np.float64)
    expected = 40000 * windows / windows.sum()
    assert np.all(np.abs(counts - expected) < 5 * np.sqrt(expected) + 1), (counts, expected)
    starts = sampler.draw(torch.Generator().manual_seed(1), 40000)
    last = starts["start"][starts["clip"] == len(clips) - 1].numpy()  # every start of the longest clip occurs
    assert set(last) == set(range(int(windows[-1])))


def test_training_with_device_data_runs_resumes_and_lowers_the_loss(tmp_path):
    out = tmp_path / "m.pt"
    diff = DiffusionConfig(train_steps=100)
    tcfg = TrainConfig(steps=60, batch=16, lr=2e-3, log_every=10, save_every=30, device_data=True)
    train(tiny_clips(), out, tiny_config(), diff, tcfg, fe_name=TINY_FRONT_END)
    losses = [float(line.split('"loss": ')[1].rstrip("}")) for line in (tmp_path / "m.pt.log.jsonl").read_text().splitlines()]
    assert losses[-1] < 0.7 * losses[0], losses
    assert torch.load(out, map_location="cpu", weights_only=True)["step"] == 60


def test_bf16_autocast_only_on_cuda():
    with autocast(TrainConfig(bf16=True), torch.device("cpu"))():
        assert not torch.is_autocast_enabled("cpu")  # the CPU always trains in float32
    with autocast(TrainConfig(bf16=False), torch.device("cuda"))():
        assert not torch.is_autocast_enabled("cuda")


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA GPU")
def test_device_batches_live_on_cuda_and_train_in_bf16(tmp_path):
    clips = _varied_clips()
    sampler, _, _, _ = _sampler(clips, "cuda")
    batch = sampler.batch(torch.Generator(device="cuda").manual_seed(0), 32)
    assert all(t.device.type == "cuda" for t in batch.values())
    tcfg = TrainConfig(steps=20, batch=16, save_every=20, bf16=True)
    train(tiny_clips(), tmp_path / "m.pt", tiny_config(), DiffusionConfig(train_steps=100), tcfg,
          fe_name=TINY_FRONT_END, device="cuda")
    assert torch.load(tmp_path / "m.pt", map_location="cpu", weights_only=True)["step"] == 20
