"""Lip-sync measurements on ARKit curves against timed phones and the audio (`lip_gap`, `phone_frames`: from
`procedural`, which the articulation stage shares).

lip gap = max(0, jawOpen - mouthClose) + 0.3 * (mean mouthLowerDown + mean mouthUpperUp)
          + 0.2 * mouthFunnel   (per frame; the foundation issue's definition)
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

import numpy as np

from ..features.prosody import loudness
from ..procedural.coarticulation import lip_gap, shut_spans, shut_threshold  # noqa: F401 (lip_gap: this API's)
from ..procedural.visemes import BILABIALS, OPEN_VOWELS, centre_frame, phone_frames, shut_allowed, stressless


def base_phone(phone) -> str:
    """The phone's ARPAbet name without stress digits, upper case."""
    return stressless(phone.phone)


def closure_rate(gap: np.ndarray, phones: Sequence, fps: float) -> float:
    """Fraction of p/b/m phones whose minimum gap is <= 25% of the 95th-percentile gap."""
    threshold = shut_threshold(gap)  # a bilabial is closed when its min gap is at most this
    mins = [gap[phone_frames(p, fps, len(gap))].min() for p in phones if base_phone(p) in BILABIALS]
    return float(np.mean(np.array(mins) <= threshold)) if mins else float("nan")


def stray_closures(gap: np.ndarray, phones: Sequence, fps: float, margin: int = 2) -> int:
    """Number of spans of shut frames (gap <= 25% of the 95th-percentile gap, as `closure_rate` reads a closed
    p/b/m) with no p/b/m frame within `margin` frames and no silence among them: lips shut where nothing
    bilabial is spoken (the procedural engine shuts them only on p/b/m and in pauses)."""
    shut = gap <= shut_threshold(gap)
    allowed = shut_allowed(phones, fps, len(gap), margin)
    return sum(1 for start, end in shut_spans(shut) if not allowed[start:end].any())


def reference_gap(phones: Sequence, fps: float, num_frames: int, hold: float = 0.0) -> np.ndarray:
    """`(T,)` the lip gap of a mouth that follows the phones exactly, on two levels: shut (0) on every frame of
    a p/b/m, open (1) on every frame of an open vowel, half-open (0.5) elsewhere. What the lip measures read
    on it is what the frame grid allows on those phones at `fps` (a reference, not a strict bound: a smoother
    mouth can break its ties either way). `hold` > 0: each closure held that many seconds beyond its phone
    on either side (as the procedural engine holds them)."""
    gap = np.full(num_frames, 0.5)
    for phone in phones:
        if base_phone(phone) in OPEN_VOWELS:
            gap[phone_frames(phone, fps, num_frames)] = 1.0
    for phone in phones:  # a p/b/m wins a frame it shares
        if base_phone(phone) in BILABIALS:
            held = _Span(phone.start - hold, phone.end + hold)
            gap[np.union1d(phone_frames(held, fps, num_frames), phone_frames(phone, fps, num_frames))] = 0.0
    return gap


class _Span(NamedTuple):
    start: float
    end: float


def open_vs_bilabial_auc(gap: np.ndarray, phones: Sequence, fps: float) -> float:
    """AUC that an open vowel's gap exceeds a bilabial's (gap at the frame nearest each phone centre)."""
    def centre_gap(p) -> float:
        return float(gap[centre_frame(p, fps, len(gap))])

    opens = np.array([centre_gap(p) for p in phones if base_phone(p) in OPEN_VOWELS])
    closed = np.array([centre_gap(p) for p in phones if base_phone(p) in BILABIALS])
    if opens.size == 0 or closed.size == 0:
        return float("nan")
    greater = (opens[:, None] > closed[None, :]).mean()
    ties = (opens[:, None] == closed[None, :]).mean()
    return float(greater + 0.5 * ties)


def best_lag(audio: np.ndarray, sample_rate: int, gap: np.ndarray, fps: float, max_lag: int = 10):
    """(lag in frames, correlation) maximising corr(loudness[t], gap[t + lag]); + means lips lag."""
    loud = loudness(audio, sample_rate, fps, len(gap))
    best = (0, -1.0)
    for lag in range(-max_lag, max_lag + 1):
        a = loud[max(0, -lag): len(loud) - max(0, lag)]
        b = gap[max(0, lag): len(gap) - max(0, -lag)]
        if a.size > 3 and a.std() > 0 and b.std() > 0:
            corr = float(np.corrcoef(a, b)[0, 1])
            if corr > best[1]:
                best = (lag, corr)
    return best


def _centre_gaps(gap: np.ndarray, phones: Sequence, fps: float, shift: float, kinds) -> np.ndarray:
    """The gap (linearly interpolated) `shift` frames after the centre of each phone of `kinds`."""
    centres = np.array([(p.start + p.end) / 2 * fps + shift for p in phones if base_phone(p) in kinds])
    return np.interp(centres, np.arange(len(gap)), gap) if centres.size else np.zeros(0)


def separation(opens: np.ndarray, closed: np.ndarray) -> tuple[float, float]:
    """(AUC that an open-vowel gap exceeds a bilabial gap, mean difference over the pooled SD)."""
    if opens.size == 0 or closed.size == 0:
        return float("nan"), float("nan")
    auc = (opens[:, None] > closed[None, :]).mean() + 0.5 * (opens[:, None] == closed[None, :]).mean()
    spread = np.sqrt(0.5 * (opens.var() + closed.var())) + 1e-9
    return float(auc), float((opens.mean() - closed.mean()) / spread)


def phone_locked_lag(clips: Sequence[tuple[np.ndarray, Sequence]], fps: float, max_shift: float = 5.0,
                     resolution: float = 1.0) -> float:
    """The shift in frames (+ = lips late) of the lip gap against the phones that best separates open
    vowels from p/b/m: the gap is read `shift` frames after each phone's centre, and the shift in
    [-max_shift, max_shift] (steps of `resolution`) with the highest AUC wins. On a short clip with one or
    two p/b/m the AUC ties over several shifts; ties go to the shift at which the whole gap agrees best with
    the mouth that follows the phones exactly (`reference_agreement`), then to the smaller |shift|.
    `clips` is one or more (gap, phones); several clips are pooled with each gap divided by its 95th
    percentile. NaN without both classes."""
    scaled = [(gap / (float(np.percentile(gap, 95)) or 1.0), phones) for gap, phones in clips]
    gaps = [gap for gap, _ in scaled]
    references = [reference_gap(phones, fps, len(gap)) for gap, phones in scaled]
    best, best_key = float("nan"), None
    for shift in np.arange(-max_shift, max_shift + 1e-9, resolution):
        opens = np.concatenate([_centre_gaps(gap, phones, fps, shift, OPEN_VOWELS) for gap, phones in scaled])
        closed = np.concatenate([_centre_gaps(gap, phones, fps, shift, BILABIALS) for gap, phones in scaled])
        auc, _ = separation(opens, closed)
        if np.isnan(auc):
            return float("nan")
        agreement = reference_agreement(gaps, references, shift)
        key = (round(auc, 9), round(agreement, 9), -abs(shift))
        if best_key is None or key > best_key:
            best, best_key = float(shift), key
    return best


def reference_agreement(gaps: Sequence[np.ndarray], references: Sequence[np.ndarray], shift: float) -> float:
    """Correlation, over every frame of the clips, of each gap read `shift` frames later (linearly
    interpolated) with its `reference_gap`; -1 where either side is constant."""
    read, wanted = [], []
    for gap, reference in zip(gaps, references):
        frames = np.arange(len(gap))
        inside = (frames + shift >= 0) & (frames + shift <= len(gap) - 1)
        read.append(np.interp(frames[inside] + shift, frames, gap))
        wanted.append(reference[inside])
    x, y = np.concatenate(read), np.concatenate(wanted)
    return float(np.corrcoef(x, y)[0, 1]) if x.size > 2 and x.std() > 0 and y.std() > 0 else -1.0
