"""`dreamtalk generate`'s outputs: writability checked before any work, the takes of one run written
together or not at all, no `.part` file left by SIGTERM, truncated audio refused in one line."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile
from dreamtalk import cli
from dreamtalk.cli import main
from dreamtalk.core import formats

TESTS = Path(__file__).parent


def _wav(path: Path, seconds: float = 1.0) -> Path:
    t = np.arange(int(seconds * 16000)) / 16000
    soundfile.write(path, (0.3 * np.sin(2 * np.pi * 180 * t)).astype(np.float32), 16000, subtype="PCM_16")
    return path


def _echo_engine() -> None:
    import server_engines

    server_engines.register()


def _no_work(monkeypatch) -> list:
    """Record (and refuse) any engine run: a refused output must be found before the work."""
    calls = []

    def run(*args, **kwargs):
        calls.append(args)
        raise AssertionError("the engine ran although the output cannot be written")

    monkeypatch.setattr(cli, "_run", run)
    return calls


@pytest.mark.skipif(not Path("/proc/self").is_dir(), reason="needs /proc (a folder nobody can create files in)")
def test_an_unwritable_output_is_one_line_and_exit_2_before_any_work(tmp_path, capsys, monkeypatch):
    calls = _no_work(monkeypatch)
    code = main(["generate", str(_wav(tmp_path / "a.wav")), "-o", "/proc/dreamtalk_out.json"])
    err = capsys.readouterr().err
    assert code == 2 and err.startswith("dreamtalk: error:") and err.count("\n") == 1, err
    assert "cannot write" in err and calls == []


def test_an_output_that_is_a_folder_is_refused_before_any_work(tmp_path, capsys, monkeypatch):
    calls = _no_work(monkeypatch)
    (tmp_path / "out.json").mkdir()
    assert main(["generate", str(_wav(tmp_path / "a.wav")), "-o", str(tmp_path / "out.json")]) == 2
    assert "folder" in capsys.readouterr().err and calls == []


def test_takes_of_one_run_appear_together_or_not_at_all(tmp_path, monkeypatch):
    _echo_engine()
    out = tmp_path / "take.json"
    old = {}
    for index in (1, 2):
        path = tmp_path / f"take_take{index}.json"
        path.write_text(f"old take {index}")
        old[path.name] = path.read_text()
    real_write, written = formats.write_curves, []

    def interrupted_write(curves, path):
        if written:
            raise KeyboardInterrupt  # Ctrl-C after the first take was written
        written.append(path)
        return real_write(curves, path)

    monkeypatch.setattr(formats, "write_curves", interrupted_write)
    code = main(["generate", str(_wav(tmp_path / "a.wav")), "-o", str(out), "--engine", "echo", "--takes", "2"])
    assert code == 130
    assert {p.name: p.read_text() for p in tmp_path.glob("take_take*.json")} == old
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(["a.wav", *old])  # no temp files either


def test_takes_replace_old_ones_all_together(tmp_path):
    _echo_engine()
    for index in (1, 2):
        (tmp_path / f"take_take{index}.json").write_text("old")
    assert main(["generate", str(_wav(tmp_path / "a.wav")), "-o", str(tmp_path / "take.json"), "--engine", "echo",
                 "--takes", "2"]) == 0
    takes = [formats.read_curves(tmp_path / f"take_take{index}.json") for index in (1, 2)]
    assert all(take.num_frames == 25 for take in takes)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.wav", "take_take1.json", "take_take2.json"]


_SIGTERM_DURING_WRITE = """
import os, signal, sys
sys.path.insert(0, {tests!r})
import server_engines
server_engines.register()
from dreamtalk.core import formats
real_replace = os.replace
def replace(src, dst):
    if str(src).endswith(".part"):
        os.kill(os.getpid(), signal.SIGTERM)  # the .part file is complete, the rename not done
    return real_replace(src, dst)
formats.os.replace = replace
from dreamtalk.cli import main
sys.exit(main(["generate", {wav!r}, "-o", {out!r}, "--engine", "echo"]))
"""


def test_sigterm_during_the_write_leaves_no_part_file(tmp_path):
    wav, out = _wav(tmp_path / "a.wav"), tmp_path / "out.json"
    out.write_text("previous take")
    script = _SIGTERM_DURING_WRITE.format(tests=str(TESTS), wav=str(wav), out=str(out))
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120,
                          env=dict(os.environ, PYTHONPATH=str(TESTS)))
    assert done.returncode == 128 + signal.SIGTERM, (done.returncode, done.stderr[-500:])
    assert done.stderr.strip().count("\n") == 0 and "terminated" in done.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.wav", "out.json"]
    assert out.read_text() == "previous take"


def test_a_truncated_wav_is_refused_in_one_line(tmp_path, capsys):
    full = _wav(tmp_path / "full.wav", seconds=7.12)
    data = full.read_bytes()
    truncated = tmp_path / "cut.wav"
    truncated.write_bytes(data[: 44 + int(2.36 * 16000) * 2])  # header says 7.12 s, 2.36 s of samples
    out = tmp_path / "o.json"
    assert main(["generate", str(truncated), "-o", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "truncated" in err and "7.12 s" in err and "2.36 s" in err, err
    assert not out.exists()
