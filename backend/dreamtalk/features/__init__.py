"""Audio front ends: frame-aligned features at the curves' frame rate, cached per utterance."""

from .frontend import FrontEnd, available, get_frontend

__all__ = ["FrontEnd", "available", "get_frontend"]
