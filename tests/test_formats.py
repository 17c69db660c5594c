import json

import numpy as np
import pytest

from dreamtalk.core import formats
from dreamtalk.core.arkit import ARKIT_NAMES
from dreamtalk.core.curves import Curves
from dreamtalk.core.errors import InputError


def random_curves(frames=40, fps=25.0, eyes=True, seed=0):
    rng = np.random.default_rng(seed)
    return Curves(
        fps,
        rng.uniform(0, 1, (frames, 52)).astype(np.float32),
        rng.uniform(-0.3, 0.3, (frames, 3)).astype(np.float32),
        rng.uniform(-0.2, 0.2, (frames, 6)).astype(np.float32) if eyes else None,
    )


@pytest.mark.parametrize("suffix", [".json", ".csv", ".npz"])
@pytest.mark.parametrize("fps", [24.0, 25.0, 30.0, 60.0])
def test_round_trip(tmp_path, suffix, fps):
    c = random_curves(fps=fps, frames=int(fps * 2.5))
    path = formats.write_curves(c, tmp_path / f"take{suffix}")
    back = formats.read_curves(path)
    assert back.fps == fps and back.num_frames == c.num_frames
    np.testing.assert_allclose(back.values, c.values, atol=1e-5)
    np.testing.assert_allclose(back.head_pose, c.head_pose, atol=1e-5)
    np.testing.assert_allclose(back.eye_rotation, c.eye_rotation, atol=1e-5)


def test_json_layout(tmp_path):
    c = random_curves(frames=3, eyes=False)
    data = json.loads(formats.write_json(c, tmp_path / "a.json").read_text())
    assert data["format"] == "arkit52" and data["version"] == 1 and data["fps"] == 25.0
    assert data["names"] == list(ARKIT_NAMES)
    assert len(data["frames"]) == 3 and len(data["frames"][0]) == 52
    assert len(data["head_pose"][0]) == 3


def test_json_columns_matched_by_name(tmp_path):
    names = list(ARKIT_NAMES)[::-1]
    frames = [[float(ARKIT_NAMES.index(n)) / 100 for n in names]]
    path = tmp_path / "rev.json"
    path.write_text(json.dumps({"format": "arkit52", "version": 1, "fps": 30, "names": names, "frames": frames}))
    c = formats.read_json(path)
    np.testing.assert_allclose(c.values[0], np.arange(52) / 100, atol=1e-6)


def test_llf_header_and_timecode(tmp_path):
    c = random_curves(frames=30, fps=30.0)
    text = formats.write_llf_csv(c, tmp_path / "t.csv").read_text().splitlines()
    header = text[0].split(",")
    assert header[:2] == ["Timecode", "BlendShapeCount"] and len(header) == 2 + 61
    assert header.index("JawRight") < header.index("JawLeft")  # Live Link Face's own order
    assert header[-6:] == ["LeftEyeYaw", "LeftEyePitch", "LeftEyeRoll", "RightEyeYaw", "RightEyePitch", "RightEyeRoll"]
    first = text[1].split(",")
    assert first[0] == "00:00:00:00.000" and first[1] == "61"
    assert text[30].split(",")[0] == "00:00:00:29.000"


def test_timecode_format_and_parse():
    assert formats.format_timecode(0, 25) == "00:00:00:00.000"
    assert formats.format_timecode(26, 25) == "00:00:01:01.000"
    assert formats.format_timecode(3 * 60 * 30 + 7, 30) == "00:03:00:07.000"
    assert formats.parse_timecode("01:02:03:12.500", 25) == pytest.approx(3723 + 12.5 / 25)


def test_llf_any_column_order_and_fps(tmp_path):
    c = random_curves(frames=120, fps=60.0)
    path = formats.write_llf_csv(c, tmp_path / "t.csv")
    lines = path.read_text().splitlines()
    rows = [line.split(",") for line in lines]
    order = [0, 1] + list(range(len(rows[0]) - 1, 1, -1))  # reverse every data column
    path.write_text("\n".join(",".join(r[i] for i in order) for r in rows))
    back = formats.read_llf_csv(path)
    assert back.fps == 60.0
    np.testing.assert_allclose(back.values, c.values, atol=1e-5)
    np.testing.assert_allclose(back.head_pose, c.head_pose, atol=1e-5)


def test_llf_short_take_fps_inference(tmp_path):
    c = random_curves(frames=10, fps=30.0)
    path = formats.write_llf_csv(c, tmp_path / "t.csv")
    assert formats.read_llf_csv(path, fps=30.0).fps == 30.0


@pytest.mark.parametrize("content, message", [
    ("", "no data rows"),
    ("Timecode,Foo\n00:00:00:00.000,1\n", "no ARKit blendshape columns"),
    ("Timecode,BlendShapeCount,JawOpen\n00:00:00:00.000,61,abc\n", "non-numeric"),
    ("Timecode,BlendShapeCount,JawOpen\n00:00:00:00.000,61,nan\n", "NaN"),
    ("Timecode,BlendShapeCount,JawOpen\n00:00:00:00.000,61\n", "has 2 fields"),
    ("Timecode,BlendShapeCount,JawOpen\n12:00,61,0.5\n", "bad timecode"),
    ("Timecode,BlendShapeCount,JawOpen\n00:00:00:00.000,61,1.7\n", "outside"),
])
def test_llf_bad_input(tmp_path, content, message):
    path = tmp_path / "bad.csv"
    path.write_text(content)
    with pytest.raises(InputError, match=message):
        formats.read_llf_csv(path)


@pytest.mark.parametrize("name, content, message", [
    ("a.json", "{not json", "not valid JSON"),
    ("a.json", '{"format": "other"}', "not an arkit52"),
    ("a.json", '{"format": "arkit52", "version": 1, "fps": 25, "names": ["jawOpen", "bogus"], "frames": [[0.1, 0.2]]}', "unknown blendshape names"),
    ("a.json", '{"format": "arkit52", "version": 9, "fps": 25, "names": [], "frames": []}', "version 9"),
    ("a.npz", "not a zip", "not a valid curves NPZ"),
])
def test_bad_files(tmp_path, name, content, message):
    path = tmp_path / name
    path.write_text(content)
    with pytest.raises(InputError, match=message):
        formats.read_curves(path)


def test_missing_file_and_unknown_suffix(tmp_path):
    with pytest.raises(InputError, match="file not found"):
        formats.read_curves(tmp_path / "nope.json")
    with pytest.raises(InputError, match="unsupported curves format '.txt'"):
        formats.read_curves(tmp_path / "a.txt")


def test_failed_write_keeps_the_old_file(tmp_path):
    path = tmp_path / "keep.json"
    path.write_text("precious")

    def explode(handle):
        handle.write(b"half")
        raise RuntimeError("disk full")

    with pytest.raises(RuntimeError):
        formats.atomic_write(path, explode)
    assert path.read_text() == "precious"
    assert list(tmp_path.iterdir()) == [path]


def test_written_files_get_normal_permissions(tmp_path):
    fresh = formats.write_curves(random_curves(), tmp_path / "new.json")
    assert fresh.stat().st_mode & 0o777 == 0o666 & ~_umask()
    kept = tmp_path / "kept.csv"
    kept.write_text("old")
    kept.chmod(0o640)
    formats.write_curves(random_curves(), kept)
    assert kept.stat().st_mode & 0o777 == 0o640


def _umask() -> int:
    import os

    mask = os.umask(0)
    os.umask(mask)
    return mask


def test_write_into_missing_folder(tmp_path):
    with pytest.raises(InputError, match="does not exist"):
        formats.write_curves(random_curves(), tmp_path / "no" / "x.json")
