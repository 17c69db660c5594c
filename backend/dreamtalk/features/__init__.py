"""Audio front ends: frame-aligned features at the curves' frame rate, cached per utterance."""

from .frontend import DEFAULT, FALLBACK, FrontEnd, available, default_name, get_frontend

__all__ = ["DEFAULT", "FALLBACK", "FrontEnd", "available", "default_name", "get_frontend"]
