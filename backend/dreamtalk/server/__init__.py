"""The DREAM-Talk backend service: a ZeroMQ ROUTER server, broker and workers (docs/protocol.md)."""

from .config import ServerConfig
from .service import Service

__all__ = ["ServerConfig", "Service"]
