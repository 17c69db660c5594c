import numpy as np
import pytest
import soundfile

from dreamtalk.core.audio import load_audio, prepare_audio
from dreamtalk.core.errors import InputError


def tone(seconds=1.0, rate=44100, channels=2):
    t = np.arange(int(seconds * rate)) / rate
    mono = 0.5 * np.sin(2 * np.pi * 220 * t)
    return np.stack([mono] * channels, axis=1) if channels > 1 else mono


@pytest.mark.parametrize("fmt, suffix", [("WAV", ".wav"), ("FLAC", ".flac"), ("OGG", ".ogg"), ("MP3", ".mp3")])
def test_load_formats_mono_resampled(tmp_path, fmt, suffix):
    path = tmp_path / f"tone{suffix}"
    soundfile.write(path, tone(), 44100, format=fmt)
    audio, rate = load_audio(path, sample_rate=16000)
    assert rate == 16000 and audio.ndim == 1 and audio.dtype == np.float32
    assert abs(len(audio) - 16000) < 1200  # mp3 adds encoder padding
    spectrum = np.abs(np.fft.rfft(audio[:16000] if len(audio) >= 16000 else audio))
    peak_hz = np.argmax(spectrum) * 16000 / (2 * (len(spectrum) - 1))
    assert abs(peak_hz - 220) < 5


def test_keep_native_rate(tmp_path):
    path = tmp_path / "a.wav"
    soundfile.write(path, tone(rate=22050), 22050)
    assert load_audio(path, sample_rate=None)[1] == 22050


def test_missing_file(tmp_path):
    with pytest.raises(InputError, match="audio file not found"):
        load_audio(tmp_path / "nope.wav")


def test_not_audio(tmp_path):
    path = tmp_path / "fake.wav"
    path.write_bytes(b"this is not audio at all" * 10)
    with pytest.raises(InputError, match="not a readable audio file"):
        load_audio(path)


def test_empty_audio(tmp_path):
    path = tmp_path / "empty.wav"
    soundfile.write(path, np.zeros((0, 1)), 16000)
    with pytest.raises(InputError, match="no audio|empty"):
        load_audio(path)


def test_silent_audio(tmp_path):
    path = tmp_path / "silent.wav"
    soundfile.write(path, np.zeros(16000), 16000)
    with pytest.raises(InputError, match="silent"):
        load_audio(path)


def test_too_long(tmp_path):
    path = tmp_path / "long.wav"
    soundfile.write(path, tone(seconds=3, rate=8000, channels=1), 8000)
    with pytest.raises(InputError, match="3.0 s long; the limit is 2 s"):
        load_audio(path, max_seconds=2)


def test_nan_samples():
    data = tone(channels=1).astype(np.float32)
    data[100] = np.nan
    with pytest.raises(InputError, match="NaN"):
        prepare_audio(data, 44100)


def test_error_messages_are_one_line(tmp_path):
    path = tmp_path / "fake.mp3"
    path.write_bytes(b"\x00\x01garbage")
    with pytest.raises(InputError) as info:
        load_audio(path)
    assert "\n" not in str(info.value)
