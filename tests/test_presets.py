"""Emotion style presets: the committed 8 x 3 clips, the file format, `preset from-curves`."""

import json
from pathlib import Path

import numpy as np
import pytest

from dreamtalk.cli import main
from dreamtalk.core.arkit import INDEX
from dreamtalk.core.errors import InputError
from dreamtalk.core.formats import write_curves
from dreamtalk.core.request import EMOTIONS
from dreamtalk.corpus.presets import builtin_preset, read_preset, write_preset
from dreamtalk.procedural.emotion import SIGNATURES

PRESETS = Path(__file__).resolve().parents[1] / "presets" / "emotions"


def test_committed_presets_cover_every_emotion_and_level_and_show_their_signature():
    for emotion in EMOTIONS:
        levels = [read_preset(PRESETS / f"{emotion}-{level}.json") for level in (1, 2, 3)]
        assert [p.level for p in levels] == ([0, 0, 0] if emotion == "neutral" else [1, 2, 3])
        assert all(p.emotion == emotion and p.curves.num_frames == 100 for p in levels)
        if emotion in SIGNATURES:
            cols = [INDEX[n] for n in SIGNATURES[emotion]]
            strength = [p.curves.values[:, cols].mean() for p in levels]
            neutral = read_preset(PRESETS / "neutral-2.json").curves.values[:, cols].mean()
            assert strength[0] < strength[1] < strength[2] and strength[0] > neutral + 0.05


def test_builtin_preset_is_reproducible_and_round_trips(tmp_path):
    preset = builtin_preset("sad", 2)
    again = builtin_preset("sad", 2)
    assert np.array_equal(preset.curves.values, again.curves.values)
    path = write_preset(preset, tmp_path / "sad.json")
    data = json.loads(path.read_text())
    assert data["format"] == "dreamtalk-preset" and data["version"] == 1 and data["level"] == 2
    back = read_preset(path)
    assert back.name == "sad-2" and np.allclose(back.curves.values, preset.curves.values, atol=1e-6)


def test_preset_from_curves_cli(tmp_path, capsys):
    curves = builtin_preset("happy", 3).curves
    write_curves(curves, tmp_path / "take.csv")
    out = tmp_path / "mine.json"
    assert main(["preset", "from-curves", str(tmp_path / "take.csv"), "--name", "mine", "--emotion", "happy",
                 "--intensity", "0.8", "--start", "1", "--seconds", "2", "-o", str(out)]) == 0
    preset = read_preset(out)
    assert preset.curves.num_frames == 50 and preset.level == 3
    assert np.allclose(preset.curves.values, curves.values[25:75], atol=1e-5)
    assert main(["preset", "from-curves", str(tmp_path / "nope.csv"), "--name", "x", "-o", str(out)]) == 2
    assert main(["preset", "from-curves", str(tmp_path / "take.csv"), "--name", "x", "--start", "99",
                 "-o", str(out)]) == 2
    assert read_preset(out).name == "mine"  # the failed calls left the preset alone
    capsys.readouterr()


def test_bad_preset_files_are_refused(tmp_path):
    (tmp_path / "a.json").write_text('{"format": "something-else"}')
    (tmp_path / "b.json").write_text("not json")
    for name in ("a.json", "b.json", "missing.json"):
        with pytest.raises(InputError):
            read_preset(tmp_path / name)
