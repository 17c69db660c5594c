"""Audio front end of EmoDiff: the corpus' versioned front ends (`dreamtalk.features`), named by tag.

A checkpoint records the tag (`name-version`, e.g. `logmel-1`) of the front end it was trained with;
`front_end(tag)` returns that front end or stops with a one-line error when this build's differs.
"""

from __future__ import annotations

from ...core.errors import InputError
from ...features import FrontEnd, get_frontend

SAMPLE_RATE = 16000  # Hz: audio is resampled to this rate before feature extraction
DEFAULT_FRONT_END = "logmel-1"  # the corpus' default front end (docs/EVAL.md, front-end comparison)


def front_end(tag: str) -> FrontEnd:
    """The front end with this `name-version` tag."""
    name, _, version = tag.partition("-")  # name-version; versions may hold dashes (base-ct2-1)
    fe = get_frontend(name, version or None)
    if fe.tag != tag:
        raise InputError(f"this model needs audio features {tag!r}; this build provides {fe.tag!r} (retrain)")
    return fe
