"""The audio front ends by name and by tag, and the one place that names the default front end.

`DEFAULT` is what training and corpus features use unless told otherwise (`default_name`,
`default_tag`); a checkpoint records the tag of its front end and `by_tag` gives it back.
"""

from __future__ import annotations

from collections.abc import Callable

from ..core.errors import InputError
from .frontend import SEPARATOR, FrontEnd, part_tags, side_by_side


def _logmel(version: str | None = None, device: str = "cpu") -> FrontEnd:
    from . import logmel  # numpy on the CPU whatever the device

    return FrontEnd("logmel", logmel.VERSION, logmel.DIM, logmel.features)


def _whisper(version: str | None = None, device: str = "cpu") -> FrontEnd:
    from . import whisper

    return whisper.frontend(version, device)


_FACTORIES: dict[str, Callable[[str | None, str], FrontEnd]] = {"logmel": _logmel, "whisper": _whisper}
DEFAULT = "whisper"  # chosen by the synthesized -> real transfer comparison (docs/EVAL.md)
FALLBACK = "logmel"  # used where the whisper extra is not installed
SAMPLE_RATE = 16000  # Hz: the learned engines resample audio to this rate before extracting features


def default_name() -> str:
    """DEFAULT when its extra is installed, else FALLBACK (checkpoints record which one they used)."""
    import importlib.util

    return DEFAULT if importlib.util.find_spec("faster_whisper") is not None else FALLBACK


def default_tag() -> str:
    """The tag (`name-version`) of the default front end: what training uses unless told otherwise."""
    return get_frontend(default_name()).tag


def available() -> list[str]:
    return list(_FACTORIES)


def get_frontend(name: str, version: str | None = None, device: str = "cpu") -> FrontEnd:
    """The front end called `name`, at `version` when the front end has several (else its default),
    running on torch `device` where it runs on torch (the Whisper encoder); raises InputError for an
    unknown name or version or a missing extra."""
    if name not in _FACTORIES:
        raise InputError(f"unknown audio front end {name!r}; choose one of {', '.join(_FACTORIES)}")
    return _FACTORIES[name](version, str(device))


def by_tag(tag: str, device: str = "cpu") -> FrontEnd:
    """The front end with this `name-version` tag (a checkpoint's record; tags joined by ',' read those front
    ends side by side), on `device`; a one-line error when this build's version of that front end differs."""
    if SEPARATOR in tag:
        return side_by_side([by_tag(part, device) for part in part_tags(tag)])
    name, _, version = tag.partition("-")  # name-version; versions may hold dashes (base-ct2-1)
    fe = get_frontend(name, version or None, device)
    if fe.tag != tag:
        raise InputError(f"this model needs audio features {tag!r}; this build provides {fe.tag!r} (retrain)")
    return fe
