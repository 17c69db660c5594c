"""Structured logs: one JSON object per line on stderr (`{"ts", "level", "event", ...fields}`)."""

from __future__ import annotations

import json
import logging
import sys
import time

LOGGER = logging.getLogger("dreamtalk.server")


class JsonFormatter(logging.Formatter):
    """Formats records logged through `log_event` as JSON lines."""

    def format(self, record: logging.LogRecord) -> str:
        body = {"ts": round(record.created, 3), "level": record.levelname.lower(), "event": record.getMessage()}
        body.update(getattr(record, "fields", {}))
        if record.exc_info:
            body["traceback"] = self.formatException(record.exc_info)
        return json.dumps(body, default=str)


class StderrHandler(logging.StreamHandler):
    """A stream handler on whatever `sys.stderr` is when it writes (as `logging.lastResort`), not on the stream
    it was made with, which may have been replaced and closed since."""

    def __init__(self) -> None:
        logging.Handler.__init__(self)

    @property
    def stream(self):
        return sys.stderr

    @stream.setter
    def stream(self, _value) -> None:  # StreamHandler.setStream; the stream is always the current stderr
        pass


def setup_logging(level: str = "info") -> None:
    """Send dreamtalk.server logs to stderr as JSON lines (idempotent)."""
    if not any(isinstance(h.formatter, JsonFormatter) for h in LOGGER.handlers):
        handler = StderrHandler()
        handler.setFormatter(JsonFormatter())
        LOGGER.addHandler(handler)
    LOGGER.setLevel(level.upper())
    LOGGER.propagate = False


def log_event(event: str, level: int = logging.INFO, exc_info: bool = False, **fields: object) -> None:
    """Log `event` with structured `fields`."""
    LOGGER.log(level, event, extra={"fields": fields}, exc_info=exc_info)


def now() -> float:
    return time.monotonic()


class RateLimitedLog:
    """Logs repeated events (refusals, failures) at most once per kind and `interval` seconds; what it
    held back is logged as counts per interval: `{"event": "events_held_back", "counts": {...}}`.
    Used from the I/O thread only."""

    def __init__(self, interval: float) -> None:
        self.interval = float(interval)
        self._counts: dict[str, int] = {}
        self._since = now()

    def event(self, event: str, kind: str, level: int = logging.INFO, exc_info: bool = False, **fields: object) -> None:
        """Log `event` unless an event of this `kind` (e.g. its error code) was logged this interval."""
        key = f"{event}:{kind}"
        seen = self._counts.get(key, 0)
        self._counts[key] = seen + 1
        if seen == 0:
            log_event(event, level, exc_info, **fields)

    def flush(self, force: bool = False) -> None:
        """At the end of an interval (or when `force`d): log the counts held back, start a new interval."""
        moment = now()
        if not force and moment - self._since < self.interval:
            return
        held = {key: count - 1 for key, count in self._counts.items() if count > 1}
        if held:
            log_event("events_held_back", interval=round(moment - self._since, 1), counts=held)
        self._counts.clear()
        self._since = moment
