"""The add-on's WAV reader for Blender builds without audaspace, checked against libsndfile."""

from __future__ import annotations

import addon_support  # noqa: F401  (sys.path + Blender user folder before anything imports bpy)
import numpy as np
import pytest
import soundfile

from blender_addon.wav import read_wav


@pytest.mark.parametrize(("fmt", "subtype", "tolerance"), [
    ("WAV", "PCM_16", 1 / 32768), ("WAV", "PCM_24", 1 / 2**23), ("WAV", "PCM_32", 1 / 2**31),
    ("WAV", "PCM_U8", 1 / 128), ("WAV", "FLOAT", 0.0), ("WAV", "DOUBLE", 1e-7), ("WAVEX", "PCM_16", 1 / 32768),
])
def test_encodings_read_like_libsndfile(tmp_path, fmt, subtype, tolerance):
    rng = np.random.default_rng(0)
    stereo = (0.8 * rng.uniform(-1, 1, (4001, 2))).astype(np.float32)
    path = tmp_path / "voice.wav"
    soundfile.write(path, stereo, 22050, format=fmt, subtype=subtype)
    samples, rate = read_wav(path)
    expected, _ = soundfile.read(path, dtype="float32")
    assert rate == 22050 and samples.shape == (4001, 2) and samples.dtype == np.float32
    np.testing.assert_allclose(samples, expected, atol=tolerance + 1e-7)


def test_broken_files_are_refused_with_one_line(tmp_path):
    path = tmp_path / "cut.wav"
    soundfile.write(path, np.zeros(16000, np.float32), 16000, subtype="PCM_16")
    path.write_bytes(path.read_bytes()[:20000])
    with pytest.raises(ValueError, match="cut.wav is truncated: its data chunk claims 32000 bytes, 19956 are there"):
        read_wav(path)
    (tmp_path / "noise.wav").write_bytes(b"not audio at all")
    with pytest.raises(ValueError, match="noise.wav is not a WAV file"):
        read_wav(tmp_path / "noise.wav")
    soundfile.write(tmp_path / "alaw.wav", np.zeros(100, np.float32), 8000, subtype="ALAW")
    with pytest.raises(ValueError, match="WAV encoding 6 at 8 bits is not supported"):
        read_wav(tmp_path / "alaw.wav")
