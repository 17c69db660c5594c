"""Audio front ends: frame-aligned features at the curves' frame rate, cached per utterance."""

from .frontend import DEFAULT, FrontEnd, available, get_frontend

__all__ = ["DEFAULT", "FrontEnd", "available", "get_frontend"]
