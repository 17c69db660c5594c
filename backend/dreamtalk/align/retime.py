"""Synthesizer phones retimed on forced alignment: the synthesizer's phone sequence, the aligner's clock.

A synthesizer's phone events (espeak-ng's, MBROLA's .pho) give the phones it spoke exactly, but not
where their sounds are: espeak-ng reports a /p/ 30-45 ms after its closure silence has begun
(docs/EVAL.md, "The lag, stage by stage"). Forced alignment of the same audio (pocketsphinx, the
yardstick's phone timings for every other voice) places boundaries on the acoustics. `retime` keeps the
synthesizer's phones and moves every boundary by the aligner's offset, read at the matched phones
(identical phones on the best edit path) and interpolated in between; a matched boundary more than
`max_offset` away from the event is not trusted (a misalignment), and an utterance with too few trusted
matches keeps its events (`retime` returns None).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from .metrics import edit_alignment
from .phones import SILENCE, PhoneSegment

MAX_OFFSET = 0.12  # s: a matched boundary further than this from its event is not trusted
MIN_MATCHED = 0.6  # fraction of spoken phones whose start must be a trusted match
MIN_DURATION = 0.005  # s: shortest phone after retiming


def boundary_offsets(events: Sequence[PhoneSegment], aligned: Sequence[PhoneSegment],
                     max_offset: float = MAX_OFFSET) -> tuple[np.ndarray, np.ndarray, float]:
    """(event times, aligned minus event offsets, fraction of spoken phones with a trusted start).

    Knots are the starts of matched phones, and the ends of matched phones that no matched start shares."""
    spoken = [p for p in events if p.phone != SILENCE]
    heard = [p for p in aligned if p.phone != SILENCE]
    _, pairs = edit_alignment([p.phone for p in spoken], [p.phone for p in heard])
    starts: dict[float, float] = {}
    ends: dict[float, float] = {}
    for i, j in pairs:
        if abs(heard[j].start - spoken[i].start) <= max_offset:
            starts[round(spoken[i].start, 6)] = heard[j].start - spoken[i].start
        if abs(heard[j].end - spoken[i].end) <= max_offset:
            ends[round(spoken[i].end, 6)] = heard[j].end - spoken[i].end
    knots = ends | starts  # a start wins where a phone's end is the next one's start
    times = np.array(sorted(knots), np.float64)
    offsets = np.array([knots[t] for t in sorted(knots)], np.float64)
    return times, offsets, len(starts) / max(len(spoken), 1)


def retime(events: Sequence[PhoneSegment], aligned: Sequence[PhoneSegment], max_offset: float = MAX_OFFSET,
           min_matched: float = MIN_MATCHED) -> list[PhoneSegment] | None:
    """`events` (contiguous, covering the audio) with every inner boundary moved by the aligner's offset
    there; the first start and the last end stay. None when fewer than `min_matched` of the spoken
    phones start at a trusted match."""
    times, offsets, matched = boundary_offsets(events, aligned, max_offset)
    if not times.size or matched < min_matched:
        return None
    bounds = np.array([p.start for p in events] + [events[-1].end], np.float64)
    inner = bounds[1:-1] + np.interp(bounds[1:-1], times, offsets)
    return _ordered(events, np.concatenate([[bounds[0]], inner, [bounds[-1]]]))


# ms by which forced alignment starts a phone before espeak-ng's event for it: medians over the trusted
# matches of 150 training-split utterances of the seed-0 corpus (voiceless stops: the closure silence
# comes before espeak's event). Used when an utterance cannot be aligned (`shift_events`).
EVENT_LEAD_MS: dict[str, float] = {
    "P": 46, "T": 43, "K": 47, "CH": 42, "B": 22, "L": 29, "UW": 20, "NG": 19, "IY": 15, "Y": 15,
    "R": 15, "D": 14, "IH": 12, "TH": 12, "AA": 12, "AO": 12, "N": 12, "OY": 11,
}
CONSONANT_LEAD_MS, VOWEL_LEAD_MS = 16.0, 10.0  # every other consonant / vowel
_VOWELS = frozenset("AA AE AH AO AW AY EH ER EY IH IY OW OY UH UW".split())


def shift_events(events: Sequence[PhoneSegment]) -> list[PhoneSegment]:
    """espeak-ng events moved to where forced alignment would put them on average: each inner boundary
    moves earlier by the lead of the phone starting there (of the phone ending there before a pause)."""
    def lead(phone: str) -> float:
        return EVENT_LEAD_MS.get(phone, VOWEL_LEAD_MS if phone in _VOWELS else CONSONANT_LEAD_MS) / 1000.0

    times = [p.start for p in events] + [events[-1].end]
    shifts = [0.0] + [lead(b.phone if b.phone != SILENCE else a.phone) if not (a.phone == b.phone == SILENCE)
                      else 0.0 for a, b in zip(events[:-1], events[1:])] + [0.0]
    moved = np.array(times) - np.array(shifts)
    return _ordered(events, moved)


def _ordered(events: Sequence[PhoneSegment], moved: np.ndarray) -> list[PhoneSegment]:
    """Segments on the boundaries `moved` (first and last fixed), kept in order with MIN_DURATION."""
    for k in range(1, len(moved) - 1):
        moved[k] = max(moved[k], moved[k - 1] + MIN_DURATION)
    for k in range(len(moved) - 2, 0, -1):
        moved[k] = min(moved[k], moved[k + 1] - MIN_DURATION)
    return [PhoneSegment(p.phone, float(a), float(b)) for p, a, b in zip(events, moved[:-1], moved[1:])]
