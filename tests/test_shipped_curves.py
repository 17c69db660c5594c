"""The shipped engines give the same curves for the same inputs and seeds as when the fixture was made.

`fixtures/shipped_curves.npz` was written by `fixtures/make_shipped_curves.py` before the issue-14
restructuring (engines/ pipelines, shared model pieces, protocol 2); a refactoring must not move these
curves. A deliberate behaviour change regenerates the fixture in its own commit, with the reason.
"""

from pathlib import Path

import numpy as np
import pytest

from dreamtalk.engines import generate
from fixtures.make_shipped_curves import FIXTURE, cases, locked_curves

TOLERANCE = 1e-4  # same machine: bit-identical; the margin only absorbs other CPUs' float rounding


@pytest.fixture(scope="module")
def stored():
    with np.load(FIXTURE) as data:
        return {name: data[name] for name in data.files}


def _requests(stored):
    audio = stored["audio"].astype(np.float32) / 32768.0
    rate = int(stored["sample_rate"])
    return cases(audio, rate, locked_curves(int(round(len(audio) / rate * 25.0))))


@pytest.mark.parametrize("name", ["emodiff_refined", "emodiff_alone", "emodiff_locked", "procedural"])
def test_engine_curves_match_the_fixture(stored, name, monkeypatch):
    for variable in ("DREAMTALK_EMODIFF_CHECKPOINT", "DREAMTALK_LIP_CHECKPOINT"):
        monkeypatch.delenv(variable, raising=False)  # the shipped weights
    takes = generate(_requests(stored)[name])
    expected = sorted({key.split(".")[1] for key in stored if key.startswith(f"{name}.")})
    assert len(takes) == len(expected)
    for k, take in enumerate(takes):
        for part in ("values", "head_pose", "eye_rotation"):
            key = f"{name}.{k}.{part}"
            got = getattr(take, part)
            assert (got is None) == (key not in stored), key
            if got is not None:
                np.testing.assert_allclose(got, stored[key], rtol=0, atol=TOLERANCE, err_msg=key)


def test_fixture_is_in_the_repository():
    assert Path(FIXTURE).is_file() and Path(FIXTURE).stat().st_size < 200_000
