"""Style resolution for the EmoDiff pipeline: what a request says about emotion -> normalised styles.

Emotion specs: a preset name ("happy"), a repository preset file by name (`presets/emotions/NAME.json`,
e.g. "surprised-1") or a mix ("happy:0.7+surprised:0.3"); `style_clip` overrides the preset;
`emotion_keys` give emotion over time. Styles are `(K, P)` frames in the model's normalised space.
"""

from __future__ import annotations

import numpy as np

from ..core.errors import InputError
from ..core.request import GenerateRequest
from ..models.emodiff.conditions import StyleKey, mix_styles
from ..models.emodiff.data import PRESET_FOLDER
from ..models.emodiff.generate import preset_style
from ..models.emodiff.model import EmoDiff
from ..models.pose import curves_to_x


def named_style(model: EmoDiff, name: str) -> np.ndarray:
    """`(K, P)` normalised style of a checkpoint preset, else of `presets/emotions/NAME.json`."""
    path = PRESET_FOLDER / f"{name}.json"
    if name in model.presets or not path.is_file():
        return preset_style(model, name)
    from ..corpus.presets import read_preset

    return model.style(curves_to_x(read_preset(path).curves, model.cfg.fps))


def emotion_style(model: EmoDiff, spec: str) -> np.ndarray:
    """`(K, P)` normalised style for 'name' or 'name:weight+name:weight' (a mix of presets)."""
    parts = []
    for item in spec.split("+"):
        name, _, weight = item.strip().partition(":")
        try:
            parts.append((named_style(model, name.strip()), float(weight) if weight else 1.0))
        except ValueError:
            raise InputError(f"bad emotion mix {spec!r}; write e.g. happy:0.7+surprised:0.3") from None
    return mix_styles(parts) if len(parts) > 1 else parts[0][0]


def style_keys(model: EmoDiff, request: GenerateRequest) -> list[StyleKey]:
    """Emotion keys -> style keys (style clip, presets or mixes; each at its intensity)."""
    if request.style_clip is not None:
        clip = model.style(curves_to_x(request.style_clip, model.cfg.fps))
        return [StyleKey(0.0, clip, float(request.intensity))]
    if request.emotion_keys:
        return [StyleKey(k.time, emotion_style(model, k.emotion), float(k.intensity)) for k in request.emotion_keys]
    return [StyleKey(0.0, emotion_style(model, request.emotion), float(request.intensity))]
