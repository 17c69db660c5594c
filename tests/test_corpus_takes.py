"""`corpus add-takes`: Live Link Face takes become training data; bad takes are refused cleanly."""

import numpy as np
import pytest
import soundfile
from corpus_helpers import copy_of_tiny

from dreamtalk.cli import main
from dreamtalk.core.curves import Curves
from dreamtalk.core.errors import InputError
from dreamtalk.core.formats import write_llf_csv
from dreamtalk.corpus import store
from dreamtalk.corpus.takes import TakeLabels, add_takes

LABELS = TakeLabels("ana", "train", "happy", 0.6)


def make_take(folder, name="take1", seconds=2.0, fps=60.0, audio_seconds=None, seed=0):
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    frames = int(seconds * fps)
    values = np.clip(0.5 + 0.3 * np.sin(np.linspace(0, 6, frames))[:, None] * rng.random(52), 0, 1)
    curves = Curves(fps, values.astype(np.float32), np.zeros((frames, 3), np.float32), np.zeros((frames, 6), np.float32))
    write_llf_csv(curves, folder / f"{name}.csv")
    n = int((audio_seconds if audio_seconds is not None else seconds) * 16000)
    tone = 0.2 * np.sin(2 * np.pi * 180 * np.arange(n) / 16000)
    soundfile.write(folder / f"{name}.wav", tone.astype(np.float32), 16000)
    return curves


def snapshot(root):
    return {p.relative_to(root): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def test_takes_are_added_with_captured_curves_as_labels(tmp_path):
    root = copy_of_tiny(tmp_path / "corpus")
    before = len(store.Corpus(root).records)
    original = make_take(tmp_path / "takes", "take1")
    make_take(tmp_path / "takes", "take2", seconds=1.5, seed=1)
    records = add_takes(root, tmp_path / "takes", LABELS, align=False)
    corpus = store.Corpus(root)
    assert len(corpus.records) == before + 2
    added = [r for r in corpus.records if r["source"] == "capture"]
    assert {r["speaker"] for r in added} == {"ana"} and {r["emotion"] for r in added} == {"happy"}
    assert added[0]["level"] == 2 and records[0]["labels"] == "captured"
    first = corpus.curves(next(r for r in added if r["take"] == "take1.csv"))
    assert first.fps == 25.0 and abs(first.duration - 2.0) <= 0.05
    expected = original.resample(25.0).values[: first.num_frames]
    assert np.allclose(first.values, expected, atol=1e-5)
    with pytest.raises(InputError, match="already in the corpus"):
        add_takes(root, tmp_path / "takes", LABELS, align=False)


@pytest.mark.parametrize("damage, message", [
    ("no_audio", "no sound track"),
    ("short_audio", "curves last"),
    ("unknown_column", "unknown columns"),
    ("nan_row", "NaN"),
])
def test_bad_takes_give_clear_errors_and_leave_the_corpus_untouched(tmp_path, damage, message):
    root = copy_of_tiny(tmp_path / "corpus")
    before = snapshot(root)
    takes = tmp_path / "takes"
    make_take(takes, "good")
    make_take(takes, "bad", audio_seconds=0.8 if damage == "short_audio" else None)
    csv_path = takes / "bad.csv"
    if damage == "no_audio":
        (takes / "bad.wav").unlink()
    if damage in ("unknown_column", "nan_row"):
        lines = csv_path.read_text().splitlines()
        if damage == "unknown_column":
            lines = [lines[0] + ",MysteryShape"] + [line + ",0.5" for line in lines[1:]]
        else:
            cells = lines[5].split(",")
            cells[4] = "nan"
            lines[5] = ",".join(cells)
        csv_path.write_text("\n".join(lines) + "\n")
    with pytest.raises(InputError, match=message):
        add_takes(root, takes, LABELS, align=False)
    assert snapshot(root) == before


@pytest.mark.parametrize("damage, message", [
    ("half_the_columns", "misses 26 ARKit blendshape columns"),
    ("duplicated_column", "appears twice"),
    ("reversed_rows", "goes back in time"),
    ("shuffled_rows", "goes back in time"),
])
def test_bad_captures_are_refused_by_the_cli_and_leave_the_corpus_untouched(tmp_path, capsys, damage, message):
    """Issue 15 item 6: these captures were accepted with exit 0 (zeros, reversed curves, one column lost)."""
    root = copy_of_tiny(tmp_path / "corpus")
    before = snapshot(root)
    takes = tmp_path / "takes"
    make_take(takes, "good")
    make_take(takes, "bad")
    csv_path = takes / "bad.csv"
    rows = [line.split(",") for line in csv_path.read_text().splitlines()]
    if damage == "half_the_columns":
        keep = list(range(2)) + list(range(2, 54, 2)) + list(range(54, len(rows[0])))
        rows = [[r[i] for i in keep] for r in rows]
    elif damage == "duplicated_column":
        rows = [r + [r[21]] for r in rows]
    elif damage == "reversed_rows":
        rows = rows[:1] + rows[1:][::-1]
    else:
        rows[10], rows[30] = rows[30], rows[10]
    csv_path.write_text("\n".join(",".join(r) for r in rows) + "\n")
    assert main(["corpus", "add-takes", str(takes), "--corpus", str(root)]) == 2
    err = capsys.readouterr().err
    assert message in err and "bad.csv" in err and err.count("\n") == 1
    assert snapshot(root) == before


def test_add_takes_cli_and_its_errors(tmp_path, capsys):
    root = copy_of_tiny(tmp_path / "corpus")
    make_take(tmp_path / "ana_takes", "t1")
    assert main(["corpus", "add-takes", str(tmp_path / "ana_takes"), "--corpus", str(root)]) == 0
    assert "added 1 takes" in capsys.readouterr().out
    assert any(r["speaker"] == "ana_takes" for r in store.Corpus(root).records)
    assert main(["corpus", "add-takes", str(tmp_path / "missing"), "--corpus", str(root)]) == 2
    assert "takes folder not found" in capsys.readouterr().err
    assert main(["corpus", "add-takes", str(tmp_path / "ana_takes"), "--corpus", str(tmp_path)]) == 2
    assert "not a corpus" in capsys.readouterr().err


def test_a_take_with_its_video_sound_track(tmp_path):
    av = pytest.importorskip("av")  # PyAV comes with the whisper extra
    takes = tmp_path / "takes"
    make_take(takes, "shot", seconds=2.0)
    (takes / "shot.wav").unlink()
    container = av.open(str(takes / "shot.mov"), "w")
    stream = container.add_stream("aac", rate=48000)
    tone = (0.2 * np.sin(2 * np.pi * 200 * np.arange(96000) / 48000)).astype(np.float32)[None, :]
    for start in range(0, tone.shape[1], 1024):
        frame = av.AudioFrame.from_ndarray(tone[:, start: start + 1024], format="fltp", layout="mono")
        frame.sample_rate = 48000
        for packet in stream.encode(frame):
            container.mux(packet)
    for packet in stream.encode(None):
        container.mux(packet)
    container.close()
    root = copy_of_tiny(tmp_path / "corpus")
    (record,) = add_takes(root, takes, LABELS, align=False)
    audio = store.Corpus(root).audio(record)
    assert abs(len(audio) / 16000 - 2.0) < 0.05 and np.abs(audio[8000:24000]).max() > 0.1
