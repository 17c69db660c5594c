"""Locked frames at any rate: resampled to an engine's rate and back, exact where locked, eased beside."""

from __future__ import annotations

import numpy as np
import pytest
from dreamtalk.core.curves import Curves
from dreamtalk.core.errors import InputError
from dreamtalk.core.locking import keep_locked, resample_locked
from dreamtalk.core.request import GenerateRequest
from dreamtalk.engines import generate, register


def wave(fps: float, frames: int, level: float = 0.5) -> Curves:
    t = np.arange(frames)[:, None] / fps
    values = level + 0.3 * np.sin(2.0 * t + np.arange(52)[None, :] * 0.2)
    return Curves(fps, values.astype(np.float32), (0.1 * np.sin(t + np.arange(3))).astype(np.float32))


@pytest.mark.parametrize("fps", [24.0, 30.0, 30 / 1.001, 60.0])
def test_resampling_keeps_time_and_never_shrinks_a_free_span(fps):
    frames = int(round(3.0 * fps))
    mask = np.ones(frames, bool)
    mask[int(1.0 * fps): int(2.0 * fps)] = False  # seconds 1..2 free
    at25, mask25 = resample_locked(wave(fps, frames), mask, 25.0, 75)
    np.testing.assert_allclose(at25.values, wave(25.0, 75).values, atol=2e-3)
    free = np.flatnonzero(~mask) / fps  # seconds of the free source frames
    t = np.arange(75) / 25.0
    assert not mask25[(t >= free[0]) & (t <= free[-1])].any()  # free where the source is free ...
    assert mask25[(t <= free[0] - 1 / fps) | (t >= free[-1] + 1 / fps)].all()  # ... and locked where locked


def test_kept_frames_are_exact_and_the_generated_ones_meet_them_smoothly():
    locked, mask = wave(24.0, 72, level=0.3), np.ones(72, bool)
    mask[24:48] = False
    take = wave(25.0, 75, level=0.65)  # a take 0.35 away from the kept keys, at the engine's rate
    out = keep_locked(take, locked, mask)
    assert out.fps == 24.0 and out.num_frames == 72
    np.testing.assert_array_equal(out.values[mask], locked.values[mask])
    steps = np.abs(np.diff(out.values, axis=0)).max(axis=1)
    natural = np.abs(np.diff(locked.values, axis=0)).max()
    assert steps[[23, 47]].max() <= natural + 0.01  # at both edges: no pop (0.35 without easing)
    assert steps.max() <= 0.12 and np.abs(out.values[36] - take.resample(24.0).values[36]).max() < 1e-5


def test_every_engine_gets_locked_frames_at_any_rate():
    register("constant", lambda request, progress: [Curves(request.fps, np.full((3 * 30, 52), 0.9, np.float32))])
    locked, mask = wave(30.0, 90, level=0.3), np.ones(90, bool)
    mask[30:60] = False
    request = GenerateRequest(np.zeros(48000, np.float32), 16000, engine="constant", fps=30.0, locked=locked,
                              locked_mask=mask)
    (out,) = generate(request)
    np.testing.assert_array_equal(out.values[mask], locked.values[mask])
    steps = np.abs(np.diff(out.values, axis=0)).max(axis=1)
    assert steps[[29, 59]].max() <= np.abs(np.diff(locked.values, axis=0)).max() + 0.01  # edges: no pop
    assert steps.max() <= 0.15 and out.values[45].min() > 0.89  # eased over 0.32 s, then the engine's own
    with pytest.raises(InputError, match="locked_mask has 80 entries for 90 locked frames"):
        generate(GenerateRequest(request.audio, 16000, engine="constant", locked=locked, locked_mask=mask[:80]))
    with pytest.raises(InputError, match="locked frames must cover the audio"):
        generate(GenerateRequest(request.audio, 16000, engine="constant", locked=locked.slice(0, 40),
                                 locked_mask=mask[:40]))
