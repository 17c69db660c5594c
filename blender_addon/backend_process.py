"""A local backend process (`python -m dreamtalk.server serve --bind ADDRESS`) started from Blender.

Plain Python (no bpy): the preferences show `LocalBackend.describe()`; stderr goes to a log file so
a crash at start-up is reported with its last line instead of a silent failure.
"""

from __future__ import annotations

import subprocess
import tempfile
from pathlib import Path

STOP_TIMEOUT = 5.0  # seconds to wait for a clean exit before killing


def serve_command(python: str, address: str) -> list[str]:
    """The command line that starts a backend bound to `address`."""
    return [python, "-m", "dreamtalk.server", "serve", "--bind", address]


class LocalBackend:
    """At most one backend child process per Blender session."""

    def __init__(self) -> None:
        self.process: subprocess.Popen | None = None
        self.log_path = Path(tempfile.gettempdir()) / "dreamtalk-backend.log"

    def start(self, python: str, address: str) -> None:
        """Launch the backend; ValueError when the interpreter is missing or one already runs."""
        if self.running:
            raise ValueError(f"a local backend is already running (pid {self.process.pid})")
        if not python or not Path(python).is_file():
            raise ValueError(f"backend Python not found: {python or '(not set)'}; set it in the preferences")
        with open(self.log_path, "wb") as log:
            self.process = subprocess.Popen(
                serve_command(python, address), stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            )

    def stop(self) -> None:
        """Terminate the backend (kill it if it does not exit within STOP_TIMEOUT)."""
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(STOP_TIMEOUT)

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def describe(self) -> str:
        """One line for the preferences: running / exited (with its last log line) / not started."""
        if self.process is None:
            return "not started"
        code = self.process.poll()
        if code is None:
            return f"running (pid {self.process.pid})"
        return f"exited with code {code}: {self.last_log_line() or 'no output'}"

    def last_log_line(self) -> str:
        try:
            lines = self.log_path.read_text(errors="replace").strip().splitlines()
        except OSError:
            return ""
        return lines[-1].strip() if lines else ""
