"""Audio features for the learned engines, reused when the same audio comes again.

Regenerating with other settings (emotion, seed, guidance) sends the same audio; its features (the
Whisper encoder is the slow part) are kept: the last `FEATURE_CACHE_SIZE` feature arrays (a request reads one
per front end: EmoDiff's, and the articulation detector's other one). The server runs
engines in threads, so the cache is guarded by a lock.
"""

from __future__ import annotations

import hashlib
import threading

import numpy as np

from ..features import by_tag, part_tags

FEATURE_CACHE_SIZE = 8
_FEATURES: dict[tuple, np.ndarray] = {}  # the last few feature arrays (same audio, other emotion or seed)
_FEATURES_LOCK = threading.Lock()


def audio_features(tag: str, audio: np.ndarray, rate: int, fps: float, frames: int, device: str = "cpu") -> np.ndarray:
    """`(frames, D)` features of front end `tag` (run on `device`) for `audio`, from the cache when it was
    seen before (on any device: they agree to float rounding). Front ends read side by side are cached per
    part, so a detector reading the model's features plus another front end computes only the other one."""
    digest = hashlib.sha1(np.ascontiguousarray(audio).tobytes()).hexdigest()
    parts = [_features(part, digest, audio, rate, fps, frames, device) for part in part_tags(tag)]
    return parts[0] if len(parts) == 1 else np.concatenate(parts, axis=1)


def _features(tag: str, digest: str, audio: np.ndarray, rate: int, fps: float, frames: int, device: str) -> np.ndarray:
    key = (tag, digest, rate, fps, frames)
    with _FEATURES_LOCK:
        cached = _FEATURES.get(key)
    if cached is not None:
        return cached
    feats = by_tag(tag, device)(audio, rate, fps, frames)
    with _FEATURES_LOCK:
        while len(_FEATURES) >= FEATURE_CACHE_SIZE:
            _FEATURES.pop(next(iter(_FEATURES)))
        _FEATURES[key] = feats
    return feats
