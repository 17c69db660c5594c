"""Timed phones in ARPAbet (CMU 39 phones, no stress digits) plus SIL for pauses."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

ARPABET: frozenset[str] = frozenset(
    "AA AE AH AO AW AY B CH D DH EH ER EY F G HH IH IY JH K L M N NG OW OY P R S SH T TH UH UW V W Y Z ZH".split()
)
SILENCE = "SIL"


@dataclass(frozen=True)
class PhoneSegment:
    """One phone from `start` to `end` seconds."""

    phone: str
    start: float
    end: float

    @property
    def duration(self) -> float:
        return self.end - self.start


def normalise(phone: str) -> str:
    """'AH0' -> 'AH', 'sil'/'+NSN+' -> 'SIL'; anything outside ARPAbet counts as silence."""
    base = phone.strip().upper().rstrip("012")
    return base if base in ARPABET else SILENCE


def tidy(segments: Iterable[PhoneSegment], duration: float, min_length: float = 1e-3) -> list[PhoneSegment]:
    """Sorted, contiguous segments covering [0, duration]: gaps become SIL, equal neighbours of SIL merge."""
    out: list[PhoneSegment] = []
    cursor = 0.0
    for seg in sorted(segments, key=lambda s: s.start):
        start, end = max(seg.start, cursor), min(seg.end, duration)
        if end - start < min_length:
            continue
        if start - cursor >= min_length:
            _append(out, PhoneSegment(SILENCE, cursor, start))
        _append(out, PhoneSegment(seg.phone, start, end))
        cursor = end
    if duration - cursor >= min_length or not out:
        _append(out, PhoneSegment(SILENCE, cursor, max(duration, cursor + min_length)))
    elif out:
        out[-1] = PhoneSegment(out[-1].phone, out[-1].start, duration)
    return out


def _append(out: list[PhoneSegment], seg: PhoneSegment) -> None:
    if out and seg.phone == SILENCE and out[-1].phone == SILENCE:
        out[-1] = PhoneSegment(SILENCE, out[-1].start, seg.end)
    else:
        out.append(seg)
