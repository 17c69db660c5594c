"""EmoDiff takes of training utterances: the refiner's most realistic inputs to correct."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from ...core.errors import InputError
from ..emodiff.conditions import StyleKey, fit_style
from ..emodiff.data import Clip
from ..emodiff.generate import generate
from ..emodiff.model import EmoDiff


def emodiff_takes(model: EmoDiff, clips: Sequence[Clip], fe_name: str, seed: int = 0,
                  report: Callable[[int, int], None] | None = None) -> list[np.ndarray]:
    """Per clip, one raw `(T, P)` EmoDiff take styled by another clip of the same emotion and level."""
    if model.front_end != fe_name:
        raise InputError(f"EmoDiff uses {model.front_end!r} features but the clips have {fe_name!r}")
    rng = np.random.default_rng(seed)
    k = model.cfg.style_frames
    groups: dict[str, list[Clip]] = {}
    for clip in clips:
        groups.setdefault(clip.style_group, []).append(clip)
    takes = []
    for i, clip in enumerate(clips):
        other = groups[clip.style_group][int(rng.integers(len(groups[clip.style_group])))]
        start = int(rng.integers(0, max(1, len(other.x) - k + 1)))
        style = fit_style(model.normalize(other.x[start: start + k]), k)
        takes.append(generate(model, clip.features, model.sampler, [StyleKey(0.0, style, 1.0)], 1, seed + i)[0])
        if report is not None:
            report(i + 1, len(clips))
    return takes
