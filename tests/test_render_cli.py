"""`dreamtalk render`: the video it writes, and its bad-input contract (one line, exit 2, nothing written)."""

import re

import cv2
import numpy as np
import pytest
import soundfile
from PIL import Image

from dreamtalk.cli import main
from dreamtalk.core.formats import write_json
from dreamtalk.render.portraits import astronaut, grace_hopper, grace_hopper_path
from dreamtalk.render.video import read_video
from render_support import talking_curves


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    folder = tmp_path_factory.mktemp("render_inputs")
    Image.fromarray(astronaut()).save(folder / "astronaut.png")
    write_json(talking_curves(50), folder / "take.json")
    write_json(talking_curves(25), folder / "take_short.json")
    rate = 22050
    t = np.arange(2 * rate) / rate
    soundfile.write(folder / "speech.wav", (0.3 * np.sin(2 * np.pi * 220 * t)).astype(np.float32), rate)
    soundfile.write(folder / "short.wav", (0.3 * np.sin(2 * np.pi * 220 * t[:rate])).astype(np.float32), rate)
    return folder


def test_render_writes_h264_with_aac_audio_and_frames(files, tmp_path, capsys):
    out, frames = tmp_path / "talk.mp4", tmp_path / "frames"
    code = main(["render", str(files / "astronaut.png"), "--curves", str(files / "take.json"),
                 "--audio", str(files / "speech.wav"), "-o", str(out), "--frames", str(frames)])
    assert code == 0, capsys.readouterr().err
    video = read_video(out)
    assert video.frames.shape == (50, 512, 512, 3) and video.fps == pytest.approx(25.0)
    assert video.sample_rate == 22050 and abs(len(video.audio) / 22050 - 2.0) < 0.05
    assert video.video_start == 0.0 and video.audio_start == 0.0  # audio and first frame start together
    pngs = sorted(frames.iterdir())
    assert len(pngs) == 50 and pngs[0].name == "frame_00001.png"
    first = np.asarray(Image.open(pngs[0]))
    assert cv2.PSNR(first, video.frames[0]) > 35  # the mp4 holds the frames the folder holds
    assert sorted(p.name for p in tmp_path.iterdir()) == ["frames", "talk.mp4"]  # no staging left


def test_render_full_frame_and_size(files, tmp_path):
    full = tmp_path / "full.mp4"
    assert main(["render", str(grace_hopper_path()), "--curves", str(files / "take.json"), "--full", "-o", str(full)]) == 0
    assert read_video(full, max_frames=1).frames.shape[1:3] == grace_hopper().shape[:2]
    small = tmp_path / "small.mp4"
    assert main(["render", str(files / "astronaut.png"), "--curves", str(files / "take.json"), "--size", "256",
                 "-o", str(small)]) == 0
    assert read_video(small, max_frames=1).frames.shape[1:3] == (256, 256)


def _image(tmp_path, kind):
    path = tmp_path / f"{kind}.png"
    a = astronaut()
    image = {
        "no_face": np.full((300, 300, 3), 128, np.uint8),
        "two_faces": np.concatenate([a, grace_hopper()[:512]], 1),
        "too_small": cv2.resize(a, (160, 160), interpolation=cv2.INTER_AREA),
        "cut_off": a[:150],
    }.get(kind)
    if kind == "not_image":
        path.write_text("not a picture")
    elif image is not None:
        Image.fromarray(image).save(path)
    return path


@pytest.mark.parametrize("kind, message", [
    ("missing", "does not exist"),
    ("not_image", "is not a readable image"),
    ("no_face", "no face found"),
    ("two_faces", "2 faces found in the portrait; pass --face largest"),
    ("too_small", "too small: its eyes are 13 px apart, at least 24 px"),
    ("cut_off", "cut off by the image border"),
])
def test_bad_portraits(files, tmp_path, capsys, kind, message):
    portrait = _image(tmp_path, kind)
    out = tmp_path / "out.mp4"
    out.write_bytes(b"previous render")
    before = sorted(p.name for p in tmp_path.iterdir())
    code = main(["render", str(portrait), "--curves", str(files / "take.json"), "-o", str(out)])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and err.startswith("dreamtalk: error:")
    assert re.search(message, err), err
    assert out.read_bytes() == b"previous render"
    assert sorted(p.name for p in tmp_path.iterdir()) == before


@pytest.mark.parametrize("extra, message", [
    (["--audio", "short.wav"], r"the curves last 2.00 s but the audio lasts 1.00 s"),
    (["--audio", "speech.wav", "--curves", "take_short.json"], r"the curves last 1.00 s but the audio lasts 2.00 s"),
    ([], r"give --audio"),
    (["--curves", "take.json", "--frames", "busy"], "exists and is not empty"),
    (["--curves", "take.json", "--renderer", "nope"], "unknown renderer 'nope'"),
    (["--curves", "take.json", "--size", "301"], "must be even"),
])
def test_bad_options(files, tmp_path, capsys, extra, message):
    (tmp_path / "busy").mkdir()
    (tmp_path / "busy" / "keep.png").write_bytes(b"x")
    args = [a if a in ("busy",) or not (files / a).exists() else str(files / a) for a in extra]
    args = [str(tmp_path / "busy") if a == "busy" else a for a in args]
    if extra[:1] == ["--audio"] and "--curves" not in extra:
        args += ["--curves", str(files / "take.json")]
    out = tmp_path / "out.mp4"
    code = main(["render", str(files / "astronaut.png"), "-o", str(out), *args])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and re.search(message, err), err
    assert not out.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["busy"]
    assert sorted(p.name for p in (tmp_path / "busy").iterdir()) == ["keep.png"]


def test_output_must_be_an_mp4_in_a_writable_folder(files, tmp_path, capsys):
    for output, message in [(tmp_path / "x.avi", "must end in .mp4"), (tmp_path / "nope" / "x.mp4", "does not exist")]:
        code = main(["render", str(files / "astronaut.png"), "--curves", str(files / "take.json"), "-o", str(output)])
        assert code == 2 and message in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []
