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


def setup_logging(level: str = "info") -> None:
    """Send dreamtalk.server logs to stderr as JSON lines (idempotent)."""
    if not any(isinstance(h.formatter, JsonFormatter) for h in LOGGER.handlers):
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(JsonFormatter())
        LOGGER.addHandler(handler)
    LOGGER.setLevel(level.upper())
    LOGGER.propagate = False


def log_event(event: str, level: int = logging.INFO, exc_info: bool = False, **fields: object) -> None:
    """Log `event` with structured `fields`."""
    LOGGER.log(level, event, extra={"fields": fields}, exc_info=exc_info)


def now() -> float:
    return time.monotonic()
