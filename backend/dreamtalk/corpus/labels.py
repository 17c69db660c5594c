"""How corpus labels are made: which phones time them, and whether they carry blinks.

Issue 18: labels timed on espeak-ng's phone events taught the models lips half a frame late against the
acoustic phones (forced alignment, the yardstick's timings for every other voice). By default a
synthesized utterance's labels are timed on its synthesizer's phones retimed on forced alignment of its
own audio (`align.retime`); an utterance the aligner cannot follow keeps its phones, moved by espeak's
average lead per phone (`align.retime.shift_events`; MBROLA's phones are exact and stay). And the labels
leave the eyelids without blinks: learned engines draw blinks as sampled events
(`procedural.eyes.blink_events`), so the models learn only the emotion's eyelid level.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

import numpy as np

from ..core.curves import Curves
from ..core.errors import InputError
from ..core.request import EmotionKey

if TYPE_CHECKING:
    from ..procedural.config import ProceduralConfig

HOLD = 0.02  # s: the closure hold of every corpus built so far (the procedural engine's default)


@dataclass(frozen=True)
class LabelConfig:
    """Label settings of a corpus build (recorded in corpus.json)."""

    timing: Literal["aligned", "events"] = "aligned"  # phones on forced alignment, or the synthesizer's events
    blinks: bool = False  # draw blinks into the labels (False: the engines sample blink events)
    closure_hold: float = HOLD  # s a p/b/m closure is held beyond its phone (ProceduralConfig.closure_hold)

    def header(self) -> dict:
        return {"label_timing": self.timing, "label_blinks": self.blinks, "label_closure_hold": self.closure_hold}

    def with_hold(self, closure_hold: float | None) -> LabelConfig:
        """These settings with closures held `closure_hold` s (None: as they are)."""
        from dataclasses import replace

        return self if closure_hold is None else replace(self, closure_hold=closure_hold)

    def procedural(self) -> ProceduralConfig:
        """The procedural engine's settings that make these labels."""
        from dataclasses import replace

        from ..procedural.config import ProceduralConfig

        return replace(ProceduralConfig(), blinks=self.blinks, closure_hold=self.closure_hold)


DEFAULT = LabelConfig()  # what a build does unless told otherwise
LEGACY = LabelConfig("events", True)  # corpora built before these settings were recorded


def of_header(header: dict) -> LabelConfig:
    """The label settings a corpus was built with."""
    if "label_timing" not in header:
        return LEGACY
    return LabelConfig(header["label_timing"], bool(header.get("label_blinks", True)),
                       float(header.get("label_closure_hold", HOLD)))


def label_phones(audio: np.ndarray, rate: int, text: str, events: Sequence, source: str,
                 cfg: LabelConfig) -> tuple[list, str]:
    """(phones the labels are timed on, how: 'events', 'aligned' or 'shifted')."""
    from ..align.phones import PhoneSegment
    from ..align.retime import retime, shift_events
    events = [PhoneSegment(p.phone, p.start, p.end) for p in events]
    if cfg.timing == "events":
        return events, "events"
    aligned = _aligned(_at_16k(audio, rate), text)
    retimed = retime(events, aligned) if aligned else None
    if retimed is not None:
        return retimed, "aligned"
    return (shift_events(events), "shifted") if source == "espeak" else (events, "events")


def _aligned(audio16: np.ndarray, text: str) -> list:
    """Forced alignment with pocketsphinx's default beams, else wide ones ([] when both fail)."""
    from ..align import aligned_phones

    try:
        return aligned_phones(audio16, 16000, text)
    except InputError:
        return []


def _at_16k(audio: np.ndarray, rate: int) -> np.ndarray:
    from ..core.audio import resample

    return audio if rate == 16000 else resample(audio, rate, 16000)


def make_labels(audio: np.ndarray, rate: int, phones: Sequence, fps: float, emotion: str, intensity: float,
                seed: int, cfg: LabelConfig) -> Curves:
    """The procedural engine's curves for the utterance (seeded; blinks and closure hold as `cfg` says)."""
    from ..procedural.engine import animate

    return animate(audio, rate, phones, fps, [EmotionKey(0.0, emotion, intensity)], seed=seed, cfg=cfg.procedural())


def remade_labels(corpus, record: dict, cfg: LabelConfig) -> Curves:
    """A stored utterance's labels made again with `cfg` (its phones, emotion and label seed; with the
    corpus' own settings they are its stored labels to storage precision)."""
    from .store import FPS, SAMPLE_RATE, phones_of

    return make_labels(corpus.audio(record), SAMPLE_RATE, phones_of(record), FPS, record["emotion"],
                       record["intensity"], record["label_seed"], cfg)
