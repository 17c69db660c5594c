"""Render photoreal from the add-on, headless in bpy, against a real `dreamtalk serve` on loopback."""

from __future__ import annotations

import addon_support
import bpy
import pytest
from PIL import Image

from dreamtalk.render.portraits import astronaut
from dreamtalk.render.video import read_video
from test_addon_e2e import backend, configure, ext, finish, free_port  # noqa: F401 (fixtures)


def _generate_then_render(ext, settings, tmp_path, limit=180.0):  # noqa: F811
    assert bpy.ops.dreamtalk.generate() == {"FINISHED"}
    finish(ext, limit)
    assert ext.state.GENERATE.state.status == "done", ext.state.GENERATE.state.message
    Image.fromarray(astronaut()).save(tmp_path / "portrait.png")
    settings.portrait_path, settings.render_output = str(tmp_path / "portrait.png"), str(tmp_path / "talk.mp4")
    settings.render_size = 256
    return bpy.ops.dreamtalk.render_photoreal()


def movie_strips():
    return [s for s in addon_support.all_strips() if s.type == "MOVIE"]


def test_render_photoreal_loads_the_video_into_the_sequencer(ext, backend, tmp_path):  # noqa: F811
    settings = configure(ext, tmp_path, backend, 25)
    settings.takes = 1
    assert _generate_then_render(ext, settings, tmp_path) == {"FINISHED"}
    finish(ext, 180)
    state = ext.state.GENERATE.state
    assert state.status == "done", state.message
    assert str(tmp_path / "talk.mp4") in state.message and "\n" not in state.message
    video = read_video(tmp_path / "talk.mp4")
    assert video.frames.shape == (50, 256, 256, 3)  # 2 s of audio at 25 fps
    (strip,) = movie_strips()
    assert strip.frame_final_start == 5 and strip.frame_final_duration == 50
    assert bpy.ops.dreamtalk.render_photoreal() == {"FINISHED"}  # again: the strip is replaced, not added
    finish(ext, 180)
    assert ext.state.GENERATE.state.status == "done" and len(movie_strips()) == 1


def test_a_bad_portrait_is_one_line_and_changes_nothing(ext, backend, tmp_path):  # noqa: F811
    settings = configure(ext, tmp_path, backend, 25)
    settings.takes = 1
    assert bpy.ops.dreamtalk.generate() == {"FINISHED"}
    finish(ext, 180)
    flat = tmp_path / "wall.png"
    Image.new("RGB", (300, 300), (128, 128, 128)).save(flat)
    settings.portrait_path, settings.render_output = str(flat), str(tmp_path / "talk.mp4")
    assert bpy.ops.dreamtalk.render_photoreal() == {"FINISHED"}
    finish(ext, 60)
    state = ext.state.GENERATE.state
    assert state.status == "error" and "no face found" in state.message and "\n" not in state.message
    assert not (tmp_path / "talk.mp4").exists() and movie_strips() == []
    settings.portrait_path = str(tmp_path / "voice.wav")  # not an image at all: refused before sending
    with pytest.raises(RuntimeError, match="must be a PNG or JPEG image"):
        bpy.ops.dreamtalk.render_photoreal()


def test_dead_backend_reports_and_writes_nothing(ext, tmp_path):  # noqa: F811
    settings = configure(ext, tmp_path, f"tcp://127.0.0.1:{free_port()}", 25, timeout=2.0)
    key = settings.target.data.shape_keys
    key.key_blocks["jawOpen"].keyframe_insert("value", frame=5)
    Image.fromarray(astronaut()).save(tmp_path / "portrait.png")
    settings.portrait_path, settings.render_output = str(tmp_path / "portrait.png"), str(tmp_path / "talk.mp4")
    assert bpy.ops.dreamtalk.render_photoreal() == {"FINISHED"}
    finish(ext, 10)
    state = ext.state.GENERATE.state
    assert state.status == "error" and "127.0.0.1" in state.message and "\n" not in state.message
    assert not (tmp_path / "talk.mp4").exists() and movie_strips() == []
