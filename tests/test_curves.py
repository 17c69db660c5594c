import numpy as np
import pytest

from dreamtalk.core.curves import Curves, concatenate, zeros
from dreamtalk.core.errors import InputError


def ramp_curves(frames=50, fps=25.0):
    t = np.linspace(0, 1, frames, dtype=np.float32)
    values = np.tile(t[:, None], (1, 52))
    head = np.stack([t * 0.1, -t * 0.1, t * 0.05], axis=1)
    return Curves(fps, values, head)


def test_defaults_and_shapes():
    c = zeros(10, 30)
    assert c.values.shape == (10, 52) and c.head_pose.shape == (10, 3) and c.eye_rotation is None
    assert c.values.dtype == np.float32 and c.duration == pytest.approx(10 / 30)


@pytest.mark.parametrize("fps", [24, 25, 29.97, 30, 60])
def test_resample_keeps_duration_and_linear_values(fps):
    c = ramp_curves()
    r = c.resample(fps)
    assert r.fps == fps
    assert r.num_frames == round(c.duration * fps)
    t = np.arange(r.num_frames) / fps
    expected = np.clip(t / ((c.num_frames - 1) / c.fps), 0, 1)
    np.testing.assert_allclose(r.channel("jawOpen"), expected, atol=1e-5)


def test_slice_and_concatenate_round_trip():
    c = ramp_curves()
    joined = concatenate([c.slice(0, 20), c.slice(20, 50)])
    np.testing.assert_array_equal(joined.values, c.values)
    np.testing.assert_array_equal(joined.head_pose, c.head_pose)


def test_concatenate_rejects_mixed_fps():
    with pytest.raises(InputError, match="different fps"):
        concatenate([zeros(3, 25), zeros(3, 30)])


@pytest.mark.parametrize("bad, message", [
    (np.full((4, 52), np.nan), "NaN"),
    (np.full((4, 52), np.inf), "NaN or infinite"),
    (np.full((4, 52), 1.5), "outside \\[0, 1\\]"),
    (np.full((4, 51), 0.5), "shape \\(frames, 52\\)"),
    (np.zeros(52), "shape"),
])
def test_validation_errors(bad, message):
    with pytest.raises(InputError, match=message):
        Curves(25, bad)


def test_head_pose_length_must_match():
    with pytest.raises(InputError, match="head_pose has 3 frames but values have 4"):
        Curves(25, np.zeros((4, 52)), np.zeros((3, 3)))


@pytest.mark.parametrize("fps", [0, -5, float("nan"), "fast"])
def test_bad_fps(fps):
    with pytest.raises(InputError, match="fps"):
        Curves(fps, np.zeros((2, 52)))


def test_float_noise_is_clipped_not_rejected():
    values = np.zeros((2, 52), np.float32)
    values[0, 0] = 1.00001
    values[1, 0] = -0.00001
    c = Curves(25, values)
    assert c.values.max() == 1.0 and c.values.min() == 0.0
