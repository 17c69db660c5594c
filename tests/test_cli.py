"""The CLI's bad-input contract: one line on stderr, exit status 2, nothing written."""

import numpy as np
import pytest
import soundfile

from dreamtalk.cli import main
from dreamtalk.core import formats
from test_formats import random_curves


def tone(seconds=1.0, rate=16000):
    return (0.3 * np.sin(2 * np.pi * 200 * np.arange(int(seconds * rate)) / rate)).astype(np.float32)


def make_bad_audio(tmp_path, kind):
    path = tmp_path / f"{kind}.wav"
    if kind == "missing":
        return path
    if kind == "not_audio":
        path.write_text("hello, I am a text file pretending to be a wav")
    elif kind == "empty":
        soundfile.write(path, np.zeros(0, np.float32), 16000)
    elif kind == "silent":
        soundfile.write(path, np.zeros(16000, np.float32), 16000)
    elif kind == "too_long":
        soundfile.write(path, tone(seconds=3.0), 16000)
    elif kind == "nan":
        data = tone()
        data[500:600] = np.nan
        soundfile.write(path, data, 16000, subtype="FLOAT")
    return path


@pytest.mark.parametrize("kind, message", [
    ("missing", "audio file not found"),
    ("not_audio", "not a readable audio file"),
    ("empty", "no audio|is empty"),
    ("silent", "is silent"),
    ("too_long", "3.0 s long; the limit is 2 s"),
    ("nan", "NaN"),
])
def test_generate_bad_audio(tmp_path, capsys, kind, message):
    audio = make_bad_audio(tmp_path, kind)
    out = tmp_path / "out.json"
    out.write_text("previous take")
    code = main(["generate", str(audio), "-o", str(out), "--max-seconds", "2"])
    err = capsys.readouterr().err
    assert code == 2
    assert err.startswith("dreamtalk: error:") and err.count("\n") == 1
    assert __import__("re").search(message, err), err
    assert out.read_text() == "previous take"  # the user's file is untouched
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted({audio.name, "out.json"} - (
        {audio.name} if kind == "missing" else set()))


@pytest.mark.parametrize("args, message", [
    (["--emotion", "neutral", "--intensity", "1.5"], "intensity must be within 0..1"),
    (["--engine", "nope"], "unknown engine 'nope'"),
    (["--emotion", "bogus"], "unknown emotion preset 'bogus'"),
    (["--engine", "procedural", "--emotion", "bogus"], "unknown emotion 'bogus'"),
    (["--style", "missing_style.json"], "file not found"),
])
def test_generate_bad_options(tmp_path, capsys, args, message):
    audio = tmp_path / "a.wav"
    soundfile.write(audio, tone(), 16000)
    code = main(["generate", str(audio), "-o", str(tmp_path / "o.json"), *args])
    assert code == 2 and message in capsys.readouterr().err
    assert not (tmp_path / "o.json").exists()


def test_generate_bad_output(tmp_path, capsys):
    audio = tmp_path / "a.wav"
    soundfile.write(audio, tone(), 16000)
    assert main(["generate", str(audio), "-o", str(tmp_path / "o.txt")]) == 2
    assert "unsupported curves format '.txt'" in capsys.readouterr().err
    assert main(["generate", str(audio), "-o", str(tmp_path / "missing" / "o.json")]) == 2
    assert "does not exist" in capsys.readouterr().err


def test_convert_round_trip_and_resample(tmp_path, capsys):
    source = formats.write_curves(random_curves(frames=50, fps=25.0), tmp_path / "a.json")
    assert main(["convert", str(source), str(tmp_path / "b.csv"), "--fps", "50"]) == 0
    assert "wrote" in capsys.readouterr().out
    back = formats.read_curves(tmp_path / "b.csv")
    assert back.fps == 50 and back.num_frames == 100


def test_convert_bad_input_writes_nothing(tmp_path, capsys):
    bad = tmp_path / "bad.json"
    bad.write_text("{")
    assert main(["convert", str(bad), str(tmp_path / "b.csv")]) == 2
    assert "not valid JSON" in capsys.readouterr().err
    assert not (tmp_path / "b.csv").exists()
