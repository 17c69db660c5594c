"""The service's `render` message end to end over loopback: video bytes back, progress, refusals, cancel."""

from __future__ import annotations

import io
import threading

import numpy as np
import pytest
from PIL import Image

from dreamtalk.core.client import Client, JobCancelled, RemoteError
from dreamtalk.core.request import RenderRequest
from dreamtalk.render.portraits import astronaut
from dreamtalk.render.video import read_video
from render_support import talking_curves
from server_helpers import start_service


def _png(image: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(image).save(buffer, format="PNG")
    return buffer.getvalue()


@pytest.fixture(scope="module")
def service():
    svc = start_service(workers=1, max_portrait_pixels=600 * 600)
    yield svc
    svc.stop()


@pytest.fixture(scope="module")
def portrait_png():
    return _png(astronaut())


def test_hello_lists_the_renderer_and_its_limits(service):
    with Client(service.endpoint, timeout=5) as client:
        caps = client.hello()
    assert caps["renderers"] == ["geometric"]
    assert caps["limits"]["max_portrait_pixels"] == 600 * 600


def test_render_returns_the_video_with_its_audio(service, portrait_png):
    curves = talking_curves(25)
    audio = (0.2 * np.sin(np.arange(16000) / 16000 * 2 * np.pi * 200)).astype(np.float32)
    stages = []
    with Client(service.endpoint, timeout=10) as client:
        video = client.render(RenderRequest(portrait_png, curves, audio, 16000, {"size": 256}),
                              on_progress=lambda stage, fraction: stages.append(stage))
    decoded = read_video(video)
    assert decoded.frames.shape == (25, 256, 256, 3) and decoded.fps == pytest.approx(25.0)
    assert abs(len(decoded.audio) / decoded.sample_rate - 1.0) < 0.05
    assert "render" in stages


@pytest.mark.parametrize("portrait, options, code, text", [
    (b"\x89PNG\r\n\x1a\n" + bytes(40), {}, "bad_request", "not a readable PNG or JPEG"),  # corrupt PNG
    ("flat", {}, "bad_request", "no face found"),
    ("big", {}, "too_large", "megapixels; this server accepts at most 0.36"),
    ("astronaut", {"colour": "red"}, "bad_request", "unknown render options 'colour'"),
    ("astronaut", {"renderer": "magic"}, "bad_request", "unknown renderer 'magic'"),
])
def test_render_refusals(service, portrait_png, portrait, options, code, text):
    image = {"flat": _png(np.full((300, 300, 3), 128, np.uint8)), "big": _png(np.zeros((700, 700, 3), np.uint8)),
             "astronaut": portrait_png}.get(portrait, portrait)
    with Client(service.endpoint, timeout=10) as client:
        with pytest.raises(RemoteError, match=text) as info:
            client.render(RenderRequest(image, talking_curves(5), options=options))
    assert info.value.code == code


def test_curves_and_audio_of_different_lengths_are_refused(service, portrait_png):
    with Client(service.endpoint, timeout=5) as client, pytest.raises(RemoteError, match="the audio lasts") as info:
        client.render(RenderRequest(portrait_png, talking_curves(50), np.zeros(8000, np.float32) + 0.1, 16000))
    assert info.value.code == "bad_request"


def test_a_render_can_be_cancelled(service, portrait_png):
    cancel = threading.Event()
    started = threading.Event()

    def progress(stage, fraction):
        if stage == "render" and fraction > 0:
            started.set()
            cancel.set()

    with Client(service.endpoint, timeout=10) as client:
        with pytest.raises(JobCancelled):
            client.render(RenderRequest(portrait_png, talking_curves(2000)), on_progress=progress, cancel=cancel)
        assert started.is_set()
        assert client.hello()["renderers"] == ["geometric"]  # still serving


def test_cli_renders_on_the_server(service, tmp_path, capsys):
    from dreamtalk.cli import main
    from dreamtalk.core.formats import write_json

    Image.fromarray(astronaut()).save(tmp_path / "portrait.bmp")  # re-encoded to PNG for the wire
    write_json(talking_curves(20), tmp_path / "take.json")
    out = tmp_path / "talk.mp4"
    code = main(["render", str(tmp_path / "portrait.bmp"), "--curves", str(tmp_path / "take.json"), "-o", str(out),
                 "--size", "128", "--server", service.endpoint])
    assert code == 0, capsys.readouterr().err
    assert read_video(out).frames.shape == (20, 128, 128, 3)
    assert f"on {service.endpoint}" in capsys.readouterr().out
