"""Blinks as sampled events over a learned engine's eyelids (issue 18 item 4).

Models trained on blink-free labels (`corpus.labels`) give the eyelids their emotion's level only; this
stage draws blinks over them: full close-and-open events (`procedural.eyes.blink_events`) at the
emotion's spontaneous rate (`procedural.eyes.BLINKS_PER_MINUTE`, 10-26 a minute, mixed by intensity as
the procedural engine mixes it) raised to a speaking rate (x 1.3, kept in 12-28 a minute), following emotion keys over time, on any voice and any length. Each
take has its own seed, so takes blink at different moments; locked frames are left alone.
"""

from __future__ import annotations

import zlib

import numpy as np

from ..core.request import EMOTIONS, GenerateRequest
from ..procedural.config import BlinkConfig
from ..procedural.eyes import BLINKS_PER_MINUTE, apply_blinks, blink_events

NEUTRAL_RATE = BLINKS_PER_MINUTE["neutral"]
SPEAKING_SCALE = 1.3  # people blink more while they talk (about 26 a minute in conversation against 17 at
# rest, Bentivoglio et al. 1997): the emotion's rate times this, chosen on development sets (bench/dev_eval.py)
SPEAKING_RANGE = (12.0, 28.0)  # blinks per minute: the scaled rate is kept inside (human 10-30 while talking)


def spec_rate(spec: str, intensity: float) -> float:
    """Blinks per minute for an emotion spec ('happy', 'surprised-1', 'happy:0.7+sad:0.3') at `intensity`:
    the parts' rates mixed by weight (a name that is not one of the 8 emotions counts as neutral), then
    moved from the neutral rate by the intensity."""
    total, weight_sum = 0.0, 0.0
    for item in spec.split("+"):
        name, _, weight = item.strip().partition(":")
        base = name.strip().rsplit("-", 1)[0] if name.strip() not in EMOTIONS else name.strip()
        w = float(weight) if weight else 1.0
        total, weight_sum = total + w * BLINKS_PER_MINUTE.get(base, NEUTRAL_RATE), weight_sum + w
    mixed = total / weight_sum if weight_sum > 0 else NEUTRAL_RATE
    strength = float(np.clip(intensity, 0.0, 1.0))
    return (1.0 - strength) * NEUTRAL_RATE + strength * mixed


def rate_track(request: GenerateRequest, frames: int, fps: float) -> np.ndarray:
    """`(T,)` blinks per minute while speaking over the request's frames: the emotion's resting rate (emotion
    keys hold until the next key; a style clip counts as neutral) x `SPEAKING_SCALE`, kept in `SPEAKING_RANGE`."""
    keys = request.emotion_keys or []
    if request.style_clip is not None:
        rates = np.full(frames, NEUTRAL_RATE, np.float64)
    elif not keys:
        rates = np.full(frames, spec_rate(request.emotion, request.intensity), np.float64)
    else:
        times = np.arange(frames) / fps
        rates = np.full(frames, spec_rate(keys[0].emotion, keys[0].intensity), np.float64)
        for key in sorted(keys, key=lambda k: k.time)[1:]:
            rates[times >= key.time] = spec_rate(key.emotion, key.intensity)
    return np.clip(rates * SPEAKING_SCALE, *SPEAKING_RANGE).astype(np.float32)


def add_blinks(takes: np.ndarray, request: GenerateRequest, fps: float, mask: np.ndarray | None = None,
               cfg: BlinkConfig | None = None) -> np.ndarray:
    """`(S, T, P)` raw takes (52 ARKit + head pose) with blink events over their eyelids; take k is drawn
    with seed request.seed + k (as EmoDiff's takes) and a digest of the audio, so the same request blinks
    the same way and other lines with the same seed do not; blinks stay clear of locked frames (`mask`)."""
    rates = rate_track(request, takes.shape[1], fps)
    free = None if mask is None else ~np.asarray(mask, bool)
    out = takes.copy()
    line = zlib.crc32(request.audio.tobytes())  # lines generated with one seed do not all blink at one moment
    for k in range(takes.shape[0]):
        rng = np.random.default_rng([request.seed + k, 0xB11, line])
        blink = blink_events(rates, fps, rng, cfg, free)
        out[k, :, :52] = apply_blinks(takes[k, :, :52], blink)
    return out
