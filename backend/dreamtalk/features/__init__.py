"""Audio front ends: frame-aligned features at the curves' frame rate, cached per utterance."""

from .frontend import FrontEnd, part_tags
from .registry import (
    DEFAULT,
    FALLBACK,
    SAMPLE_RATE,
    available,
    by_tag,
    default_name,
    default_tag,
    get_frontend,
)

__all__ = [
    "DEFAULT", "FALLBACK", "SAMPLE_RATE", "FrontEnd", "available", "by_tag", "default_name", "default_tag",
    "get_frontend", "part_tags",
]
