"""The neural renderer in use: `dreamtalk render --renderer neural --checkpoint` (frames, audio, the
renderer choice, one-line errors), `dreamtalk renderer prepare` on real video files (face analysis,
skipped frames, per-video split) and `dreamtalk train renderer`."""

import json

import cv2
import numpy as np
import pytest
import soundfile
import torch
from PIL import Image

from dreamtalk.cli import main
from dreamtalk.core.formats import write_json
from dreamtalk.render.config import RenderConfig
from dreamtalk.render.neural.checkpoint import read
from dreamtalk.render.neural.config import PrepareConfig
from dreamtalk.render.neural.prepare import prepare
from dreamtalk.render.neural.settings import CHECKPOINT_ENV
from dreamtalk.render.neural.store import RendererData
from dreamtalk.render.neural.train import train
from dreamtalk.render.pipeline import RenderInput, render_file
from dreamtalk.render.portraits import astronaut
from dreamtalk.render.video import read_video, write_video
from neural_support import TINY, one_thread, synthetic_data, tiny_training  # noqa: F401 (fixture)
from render_support import portrait, renderer, talking_curves

pytestmark = pytest.mark.usefixtures("one_thread")
FRAMES = 10


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    folder = tmp_path_factory.mktemp("neural_use")
    train(synthetic_data(), folder / "tiny.pt", TINY, tiny_training(2))
    Image.fromarray(astronaut()).save(folder / "astronaut.png")
    write_json(talking_curves(FRAMES), folder / "take.json")
    t = np.arange(int(16000 * FRAMES / 25)) / 16000
    soundfile.write(folder / "speech.wav", (0.3 * np.sin(2 * np.pi * 220 * t)).astype(np.float32), 16000)
    return folder


def test_render_with_a_checkpoint_gives_every_frame_and_the_audio(files, tmp_path):
    audio, rate = soundfile.read(files / "speech.wav", dtype="float32")
    job = RenderInput(portrait("astronaut"), talking_curves(FRAMES), audio, rate, "neural")
    count = render_file(job, tmp_path / "neural.mp4", RenderConfig(checkpoint=str(files / "tiny.pt"), device="cpu"))
    video = read_video(tmp_path / "neural.mp4")
    assert count == FRAMES and video.frames.shape == (FRAMES, 512, 512, 3)
    assert video.sample_rate == 16000 and abs(len(video.audio) / 16000 - FRAMES / 25) < 0.05
    geometric = [renderer("astronaut").render_frame(w, p) for w, p in zip(job.curves.values, job.curves.head_pose)]
    # a barely trained network refines part 1's frame (a 32 px change pasted onto the 512 px frame)
    assert min(cv2.PSNR(a, b) for a, b in zip(video.frames, geometric)) > 28


def test_render_cli_picks_the_neural_renderer_when_a_checkpoint_is_configured(files, tmp_path, capsys, monkeypatch):
    args = ["render", str(files / "astronaut.png"), "--curves", str(files / "take.json"),
            "--audio", str(files / "speech.wav"), "--device", "cpu"]
    assert main([*args, "-o", str(tmp_path / "a.mp4"), "--checkpoint", str(files / "tiny.pt")]) == 0
    assert "renderer neural" in capsys.readouterr().out
    monkeypatch.setenv(CHECKPOINT_ENV, str(files / "tiny.pt"))
    assert main([*args, "-o", str(tmp_path / "b.mp4")]) == 0
    assert "renderer neural" in capsys.readouterr().out
    assert main([*args, "-o", str(tmp_path / "c.mp4"), "--renderer", "geometric"]) == 0
    assert "renderer geometric" in capsys.readouterr().out
    assert read_video(tmp_path / "b.mp4").frames.shape[0] == FRAMES


@pytest.mark.parametrize("extra, message", [
    (["--renderer", "neural"], "needs a trained checkpoint: pass --checkpoint or set DREAMTALK_RENDERER_CHECKPOINT"),
    (["--checkpoint", "missing.pt"], "checkpoint not found"),
    (["--checkpoint", "{take}"], "is not a readable neural renderer checkpoint"),
    (["--checkpoint", "{tiny}", "--device", "tpu"], "unknown device 'tpu'"),
])
def test_render_cli_neural_errors_are_one_line_and_write_nothing(files, tmp_path, capsys, monkeypatch, extra, message):
    monkeypatch.delenv(CHECKPOINT_ENV, raising=False)
    extra = [e.format(take=files / "take.json", tiny=files / "tiny.pt") for e in extra]
    code = main(["render", str(files / "astronaut.png"), "--curves", str(files / "take.json"),
                 "-o", str(tmp_path / "out.mp4"), *extra])
    err = capsys.readouterr().err
    assert code == 2 and message in err and len(err.strip().splitlines()) == 1
    assert list(tmp_path.iterdir()) == []


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the no-GPU message")
def test_render_cli_cuda_without_a_gpu_is_a_clear_error(files, tmp_path, capsys):
    code = main(["render", str(files / "astronaut.png"), "--curves", str(files / "take.json"), "-o",
                 str(tmp_path / "out.mp4"), "--checkpoint", str(files / "tiny.pt"), "--device", "cuda"])
    assert code == 2 and "no CUDA GPU" in capsys.readouterr().err


@pytest.fixture(scope="module")
def videos(tmp_path_factory):
    """Two talking videos made by part 1; the first also has two frames with no face."""
    folder = tmp_path_factory.mktemp("videos")
    curves = talking_curves(8)
    for name in ("astronaut", "grace_hopper"):
        frames = [renderer(name).render_frame(w, p) for w, p in zip(curves.values, curves.head_pose)]
        if name == "astronaut":
            frames[3:3] = [np.full_like(frames[0], 90)] * 2
        write_video(folder / f"{name}.mp4", iter(frames), 25.0)
    (folder / "notes.txt").write_text("not a video")
    return folder


def test_prepare_stores_faces_skips_the_rest_and_holds_out_whole_videos(videos, tmp_path):
    config = PrepareConfig(size=64, sources_per_clip=2, pairs_per_frame=2, val_fraction=0.5)
    content = prepare(videos, tmp_path / "data", config)
    data = RendererData(tmp_path / "data")
    assert sorted(c.video for c in data.clips) == ["astronaut.mp4", "grace_hopper.mp4"]
    assert sorted(c.split for c in data.clips) == ["train", "val"]
    assert content["skipped"] == [{"video": "astronaut.mp4", "counts": {"no face": 2}}]
    for clip in data.clips:
        arrays = data.arrays(clip)
        assert clip.frames == len(arrays) == 8 and arrays.frames.shape == (8, 64, 64, 3)
        assert arrays.warped.shape == (8, 2, 64, 64, 3) and arrays.sources.shape == (8, 2)
        assert arrays.landmarks.shape == (8, 478, 3) and 0 <= arrays.landmarks[..., :2].min()
        assert arrays.landmarks[..., :2].max() < 64 and np.isfinite(arrays.pose).all()
        assert set(np.unique(arrays.sources)) <= set(range(8))


def test_prepare_and_train_cli(videos, tmp_path, capsys):
    assert main(["renderer", "prepare", str(videos), "--out", str(tmp_path / "data"), "--size", "32",
                 "--sources", "2", "--pairs", "1"]) == 0
    out = capsys.readouterr().out
    assert "skipped in astronaut.mp4: 2 no face" in out and "wrote" in out
    assert main(["train", "renderer", "--data", str(synthetic_data()), "--out", str(tmp_path / "r.pt"), "--steps", "1",
                 "--size", "32", "--width", "8", "--batch", "2"]) == 0
    assert "best validation loss" in capsys.readouterr().out and read(tmp_path / "r.pt")["step"] == 1
    assert main(["renderer", "export", str(tmp_path / "r.pt"), str(tmp_path / "ship.pt")]) == 0
    assert main(["renderer", "prepare", str(tmp_path / "data"), "--out", str(tmp_path / "again")]) == 2  # no videos
    assert main(["renderer", "prepare", str(videos), "--out", str(tmp_path / "data")]) == 2  # not empty
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 2 and "no videos" in err[0] and "not empty" in err[1]
    assert not (tmp_path / "again").exists()
    assert json.loads((tmp_path / "data" / "dataset.json").read_text())["size"] == 32  # untouched
