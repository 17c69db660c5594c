"""The neural renderer (render/neural): module shapes, its own SSIM against kornia's, the coordinate
conventions of the equivariance transform, a short training on synthetic pairs lowering the
validation loss, checkpoints (round trip, resume, bad files), DDP with gloo (2 processes), and
rendering with a checkpoint."""

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import torch
import torch.multiprocessing as mp

from dreamtalk.core.errors import InputError
from dreamtalk.render.neural import checkpoint
from dreamtalk.render.neural.conditioning import KEYPOINTS, DrivingInputs, heatmaps, identity_grid, \
    keypoint_motions
from dreamtalk.render.neural.config import NeuralRendererConfig
from dreamtalk.render.neural.discriminator import MultiScaleDiscriminator
from dreamtalk.render.neural.losses import VGG19Features, multiscale_ssim_loss, perceptual_loss, random_similarity, \
    ssim, transform_driving, warp_images
from dreamtalk.render.neural.networks import NeuralGenerator
from dreamtalk.render.neural.store import RendererData
from dreamtalk.render.neural.train import _samplers, train, validation_loss
from neural_support import TINY, one_thread, synthetic_data, tiny_training  # noqa: F401 (fixture)

pytestmark = pytest.mark.usefixtures("one_thread")


def _inputs(cfg: NeuralRendererConfig, batch: int = 2, seed: int = 0) -> DrivingInputs:
    gen = torch.Generator().manual_seed(seed)
    points = torch.rand(batch, 478, 3, generator=gen) * 1.2 - 0.6
    points[..., 2] *= 0.2
    s, o = cfg.size, cfg.output_size
    return DrivingInputs(torch.rand(batch, 3, s, s, generator=gen), torch.rand(batch, 3, s, s, generator=gen),
                         torch.rand(batch, 3, o, o, generator=gen), points, points + 0.02, torch.eye(3).repeat(batch, 1, 1))


def test_module_shapes_and_an_untrained_network_returns_part1():
    cfg = NeuralRendererConfig(**{**TINY.__dict__, "upsample": True})
    torch.manual_seed(0)
    generator, inputs = NeuralGenerator(cfg).eval(), _inputs(cfg)
    volume = generator.encode(inputs.source)
    assert volume.shape == (2, cfg.volume_channels, cfg.volume_depth, cfg.grid_size, cfg.grid_size)
    with torch.no_grad():
        out = generator(inputs, volume[:1])  # one portrait's volume serves a batch of frames
    assert out["core"].shape == (2, 3, 32, 32) and out["image"].shape == (2, 3, 64, 64)
    assert out["occlusion"].shape == (2, 1, 8, 8) and out["alpha"].shape == (2, 1, 32, 32)
    assert float((out["core"] - inputs.warped).abs().max()) < 0.05  # blend starts near part 1's frame
    assert float((out["image"] - inputs.warped_full).abs().max()) < 0.05
    scores = MultiScaleDiscriminator(cfg)(out["image"], heatmaps(inputs.driving_points, 8, 1.0))
    assert len(scores) == cfg.disc_scales and scores[0][-1].shape[:2] == (2, 1)
    assert scores[1][-1].shape[-1] < scores[0][-1].shape[-1]


def test_keypoint_motions_are_the_identity_when_nothing_moves():
    grid = identity_grid(4, 8, 8, torch.device("cpu"))
    kp = torch.rand(2, len(KEYPOINTS), 3) * 2 - 1
    motions = keypoint_motions(grid, kp, kp, torch.eye(3).repeat(2, 1, 1))
    assert motions.shape == (2, len(KEYPOINTS) + 1, 4, 8, 8, 3)
    assert torch.allclose(motions, grid.expand_as(motions), atol=1e-6)
    turn = torch.tensor([[0.0, -1, 0], [1, 0, 0], [0, 0, 1]])  # 90 degrees about the camera axis
    moved = keypoint_motions(grid, kp * 0, kp * 0, turn.repeat(2, 1, 1))[:, 1]
    assert torch.allclose(moved[..., :2], grid[..., [1, 0]] * torch.tensor([1.0, -1.0]), atol=1e-6)  # R^T p


def test_ssim_matches_kornia_and_is_zero_loss_on_equal_images():
    kornia_metrics = pytest.importorskip("kornia.metrics")
    gen = torch.Generator().manual_seed(1)
    x = torch.rand(2, 3, 48, 48, generator=gen)
    y = (x + 0.1 * torch.randn(2, 3, 48, 48, generator=gen)).clamp(0, 1)
    expected = kornia_metrics.ssim(x, y, 11).mean()
    assert float(ssim(x, y)) == pytest.approx(float(expected), abs=2e-3)
    assert float(multiscale_ssim_loss(x, x)) == pytest.approx(0.0, abs=1e-5)


def test_equivariance_moves_images_and_landmarks_alike():
    cfg = TINY
    inputs = _inputs(cfg, batch=3, seed=2)
    forward = random_similarity(3, torch.Generator().manual_seed(3), degrees=10, scale=0.1, shift=0.1)
    moved = transform_driving(inputs, forward)
    maps = heatmaps(inputs.driving_points, 32, 1.5)
    moved_maps = heatmaps(moved.driving_points, 32, 1.5)
    warped_maps = warp_images(maps, forward)  # the image moved the same way the points moved
    assert float((warped_maps - moved_maps).abs().mean()) < 0.1 * float(maps.mean())
    assert torch.allclose(moved.source, inputs.source) and moved.rotation.shape == (3, 3, 3)
    assert torch.allclose(torch.det(moved.rotation), torch.ones(3), atol=1e-5)


def test_short_training_on_synthetic_pairs_lowers_the_validation_loss(tmp_path):
    data = RendererData(synthetic_data())
    tcfg = tiny_training(20, batch=2, val_pairs=8)
    _, held_out, rows = _samplers(data, 0, tcfg)
    torch.manual_seed(0)
    before = validation_loss(NeuralGenerator(TINY), held_out, rows, tcfg, torch.device("cpu"))
    generator, state = train(data, tmp_path / "r.pt", TINY, tcfg)
    after = validation_loss(generator, held_out, rows, tcfg, torch.device("cpu"))
    assert after < 0.95 * before, (before, after)  # held-out videos the network never saw
    assert state.best_val_loss == pytest.approx(after, rel=1e-4) and state.best_step == 20
    log = [json.loads(line) for line in (tmp_path / "r.pt.log.jsonl").read_text().splitlines()]
    assert [r["step"] for r in log] == [5, 10, 15, 20] and "val_loss" in log[-1]
    assert "gan" in log[-1] and "gan" not in log[0]  # the GAN terms switch on after the warm-up
    assert (tmp_path / "r.best.pt").is_file() and (tmp_path / "r.samples" / "step_0000020.png").is_file()


def test_checkpoint_round_trip_resume_and_bad_files(tmp_path):
    data, out = RendererData(synthetic_data()), tmp_path / "r.pt"
    generator, _ = train(data, out, TINY, tiny_training(3))
    loaded = checkpoint.load_generator(out)
    inputs = _inputs(TINY)
    with torch.no_grad():
        assert torch.equal(loaded(inputs)["image"], generator(inputs)["image"])
    _, state = train(data, out, NeuralRendererConfig(), tiny_training(5))  # resumes: the checkpoint's config wins
    payload = checkpoint.read(out)
    assert state.step == 5 and payload["step"] == 5 and payload["config"]["size"] == TINY.size
    assert payload["optimizer_g"]["state"][0]["step"] == 5  # Adam went on from its saved state
    exported = checkpoint.export(out, tmp_path / "ship.pt")
    assert "optimizer_g" not in checkpoint.read(exported) and exported.stat().st_size < out.stat().st_size
    with pytest.raises(InputError, match="no training state"):
        train(data, exported, TINY, tiny_training(6))
    torch.save({"kind": "something-else"}, tmp_path / "other.pt")
    with pytest.raises(InputError, match="not a neural renderer checkpoint"):
        checkpoint.read(tmp_path / "other.pt")
    torch.save({**payload, "format_version": 999}, tmp_path / "future.pt")
    with pytest.raises(InputError, match="format 999"):
        checkpoint.read(tmp_path / "future.pt")
    (tmp_path / "junk.pt").write_bytes(b"not a checkpoint")
    with pytest.raises(InputError, match="not a readable neural renderer checkpoint"):
        checkpoint.read(tmp_path / "junk.pt")
    with pytest.raises(InputError, match="outputs 64 px"):
        train(data, tmp_path / "up.pt", NeuralRendererConfig(**{**TINY.__dict__, "upsample": True}), tiny_training(1))


def _ddp_worker(rank: int, world: int, port: int, folder: str, data: str) -> None:
    os.environ.update(RANK=str(rank), WORLD_SIZE=str(world), MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
    torch.set_num_threads(1)
    generator, _ = train(data, os.path.join(folder, "ddp.pt"), TINY, tiny_training(3, gan_start=1, batch=2))
    flat = torch.cat([p.detach().flatten() for p in generator.parameters()])
    torch.save(flat, os.path.join(folder, f"params{rank}.pt"))
    torch.distributed.barrier()
    torch.distributed.destroy_process_group()


def test_ddp_gloo_two_processes_keep_replicas_identical(tmp_path):
    data = str(synthetic_data())
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    mp.spawn(_ddp_worker, args=(2, port, str(tmp_path), data), nprocs=2, join=True)
    p0, p1 = torch.load(tmp_path / "params0.pt"), torch.load(tmp_path / "params1.pt")
    assert torch.equal(p0, p1)
    payload = checkpoint.read(tmp_path / "ddp.pt")
    assert payload["step"] == 3 and "disc" in payload["history"][-1]  # the discriminator trained under DDP too
    saved = torch.cat([p.detach().flatten() for p in checkpoint.generator_from(payload).parameters()])
    assert torch.equal(saved, p0)  # rank 0's checkpoint holds the trained replica


def test_device_benchmark_dry_run_needs_none_of_what_the_gpu_machine_lacks(tmp_path):
    """bench/device_neural.py runs on the lent GPU machine, which has no kornia, PyAV, MediaPipe, soundfile
    or pyzmq; it needs no OpenCV or scikit-image either. Imports of all of them fail in this run."""
    root = Path(__file__).resolve().parent.parent
    missing = ("kornia", "av", "mediapipe", "soundfile", "zmq", "cv2", "skimage")
    code = (f"import sys, runpy\nfor name in {missing!r}:\n    sys.modules[name] = None\n"
            f"sys.argv = ['device_neural.py', '--device', 'cpu', '--tiny', '--steps', '1', '--passes', '1',"
            f" '--json', {str(tmp_path / 'report.json')!r}]\n"
            f"runpy.run_path({str(root / 'bench' / 'device_neural.py')!r}, run_name='__main__')\n")
    env = {**os.environ, "PYTHONPATH": str(root / "backend"), "OMP_NUM_THREADS": "1"}
    result = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads((tmp_path / "report.json").read_text())
    assert "| measurement | value |" in result.stdout and report["config"] == "tiny"
    assert report["training"]["step_ms"] > 0 and 0 <= report["training"]["data_wait_share"] < 1
    assert report["inference_512"]["output_size"] == 2 * report["inference_256"]["output_size"]


def test_perceptual_loss_only_from_a_torchvision_vgg19_weights_file(tmp_path):
    torch.manual_seed(0)
    reference = VGG19Features()
    torch.save({f"features.{k}": v for k, v in reference.features.state_dict().items()}, tmp_path / "vgg19.pth")
    vgg = VGG19Features.from_file(tmp_path / "vgg19.pth")
    x = torch.rand(1, 3, 32, 32)
    assert float(perceptual_loss(vgg, x, x)) == 0.0 and float(perceptual_loss(vgg, x, x.flip(-1))) > 0
    torch.save({"features.0.weight": torch.zeros(3)}, tmp_path / "wrong.pth")
    with pytest.raises(InputError, match="does not hold torchvision VGG-19 weights"):
        VGG19Features.from_file(tmp_path / "wrong.pth")
    with pytest.raises(InputError, match="VGG-19 weights file not found"):
        VGG19Features.from_file(tmp_path / "missing.pth")
    train(synthetic_data(), tmp_path / "r.pt", TINY, tiny_training(1), vgg_weights=str(tmp_path / "vgg19.pth"))
    assert "perceptual" in checkpoint.read(tmp_path / "r.pt")["history"][-1]
