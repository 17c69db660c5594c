"""Session-wide runtime state (not saved in .blend files): the job runners and the local backend."""

from __future__ import annotations

from .backend_process import LocalBackend
from .jobs import JobRunner

GENERATE = JobRunner()  # Generate / Regenerate range / Render
HELLO = JobRunner()  # "Test connection"
LOCAL_BACKEND = LocalBackend()
