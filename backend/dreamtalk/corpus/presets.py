"""Emotion style presets: short ARKit clips that serve as the paper's "emotion style" condition.

File format (`presets/emotions/<emotion>-<level>.json`, readable JSON):
    {"format": "dreamtalk-preset", "version": 1, "name": ..., "emotion": ..., "intensity": 0..1,
     "level": 0..3, "fps": ..., "source": how it was made, "curves": <arkit52 JSON of core.formats>}
`dreamtalk preset from-curves CURVES --name NAME` makes one from any curves file (an animator's take).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..core.curves import Curves
from ..core.errors import InputError
from ..core.formats import atomic_write, from_json_dict, load_json_file, read_curves, to_json_dict
from ..core.request import EMOTIONS, EmotionKey
from .voices import EMOTION_PROSODY, LEVELS, VoiceSettings

FORMAT = "dreamtalk-preset"
VERSION = 1
CLIP_SECONDS = 4.0  # length of the built-in style clips
PRESET_TEXT = ("We were talking about the weather, the old boat and maybe a new home by the sea, "
               "and then everybody went back to work.")
PRESET_VOICE = ("en-us", "m1")  # a training-split speaker


@dataclass
class Preset:
    """A named emotion style clip."""

    name: str
    emotion: str  # one of EMOTIONS ("neutral" when unknown)
    intensity: float  # 0..1
    curves: Curves
    source: str = ""  # free text: how the clip was made

    @property
    def level(self) -> int:
        from .takes import level_of

        return level_of(self.emotion, self.intensity)


def write_preset(preset: Preset, path: str | Path) -> Path:
    data = {"format": FORMAT, "version": VERSION, "name": preset.name, "emotion": preset.emotion,
            "intensity": round(float(preset.intensity), 3), "level": preset.level, "fps": preset.curves.fps,
            "source": preset.source, "curves": to_json_dict(preset.curves)}
    text = json.dumps(data, indent=1)
    return atomic_write(path, lambda f: f.write(text.encode("utf-8")))


def read_preset(path: str | Path) -> Preset:
    p = Path(path)
    if not p.exists():
        raise InputError(f"preset not found: {p}")
    data = load_json_file(p)
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise InputError(f"{p} is not a {FORMAT} file")
    if data.get("version") != VERSION:
        raise InputError(f"{p} is preset version {data.get('version')}; this version reads {VERSION}")
    if data.get("emotion") not in EMOTIONS:
        raise InputError(f"{p}: unknown emotion {data.get('emotion')!r}")
    curves = from_json_dict(data["curves"], str(p))
    return Preset(str(data["name"]), data["emotion"], float(data["intensity"]), curves, data.get("source", ""))


def preset_from_curves(curves_path: str | Path, name: str, emotion: str = "neutral", intensity: float = 0.0,
                       start: float = 0.0, seconds: float | None = None) -> Preset:
    """A preset from (a stretch of) any curves file."""
    if emotion not in EMOTIONS:
        raise InputError(f"unknown emotion {emotion!r}; choose one of {', '.join(EMOTIONS)}")
    if not 0.0 <= intensity <= 1.0:
        raise InputError(f"intensity must be within 0..1, not {intensity}")
    if not name or any(c in name for c in "/\\"):
        raise InputError(f"preset name {name!r} must be non-empty without slashes")
    curves = read_curves(curves_path)
    first = int(round(start * curves.fps))
    last = curves.num_frames if seconds is None else first + int(round(seconds * curves.fps))
    if first < 0 or first >= curves.num_frames or last <= first:
        raise InputError(f"{curves_path} has {curves.duration:.2f} s; cannot take {start} s + {seconds} s")
    return Preset(name, emotion, intensity, curves.slice(first, min(last, curves.num_frames)),
                  f"from {Path(curves_path).name} at {start:g} s")


def builtin_preset(emotion: str, level: int) -> Preset:
    """The built-in clip for `emotion` at MEAD-like `level`: espeak-ng speech with the emotion's prosody,
    animated by the procedural engine (seeded), cut to CLIP_SECONDS."""
    from ..procedural.engine import animate
    from .speech import fresh_synthesize

    low, high = LEVELS[level]
    intensity = round((low + high) / 2, 3)
    rate_f, pitch_off, range_f, amp_f = EMOTION_PROSODY[emotion]
    weight = 0.0 if emotion == "neutral" else intensity
    voice = VoiceSettings(*PRESET_VOICE, int(175 * (1 + (rate_f - 1) * weight)), int(50 + pitch_off * weight),
                          int(50 * (1 + (range_f - 1) * weight)), int(100 * (1 + (amp_f - 1) * weight)))
    speech = fresh_synthesize(PRESET_TEXT, voice)
    audio = np.asarray(speech.audio, np.float32)
    curves = animate(audio, speech.sample_rate, list(speech.phones), 25.0, [EmotionKey(0.0, emotion, intensity)],
                     seed=100 + 10 * EMOTIONS.index(emotion) + level)
    frames = min(curves.num_frames, int(CLIP_SECONDS * 25))
    start = max(0, (curves.num_frames - frames) // 2)
    return Preset(f"{emotion}-{level}", emotion, intensity, curves.slice(start, start + frames),
                  f"procedural engine on espeak-ng {voice.voice}, text: {PRESET_TEXT}")


def write_builtin_presets(folder: str | Path) -> list[Path]:
    """All 8 emotions x 3 levels into `folder`."""
    Path(folder).mkdir(parents=True, exist_ok=True)
    return [write_preset(builtin_preset(e, lvl), Path(folder) / f"{e}-{lvl}.json")
            for e in EMOTIONS for lvl in (1, 2, 3)]
