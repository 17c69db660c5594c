"""Bounded reading of one socket's messages: whole-message limits before anything is copied, and a
bounded number of frames per call so that one message never holds the I/O loop for long.

libzmq delivers a multipart message only once all of its frames have arrived and checks
`ZMQ_MAXMSGSIZE` per frame, not per message, so these limits are the service's own: frames are
received one at a time without copying (`zmq.Frame`), counted and measured as they come. A message
that breaks a limit keeps only its first small frames (to name the request in the refusal) and the
rest is received and dropped, `slice_frames` at a time; between slices the I/O loop serves everyone
else (worker results, heartbeats, timeouts).
"""

from __future__ import annotations

from dataclasses import dataclass

import zmq

from ..core.protocol import MAX_JSON_BYTES

HEAD_FRAMES = 6  # envelope + delimiter + header + ...: what a refusal needs to name the request


@dataclass
class Incoming:
    """One message read off a socket: all of its frames, or (refused) its first frames only."""

    frames: list  # zmq.Frame (frames dropped from a refused message's head are b"")
    refusal: tuple[str, str] | None = None  # (error code, text) when the message broke a limit


class FrameReader:
    """Reads `sock` frame by frame within `max_bytes` / `max_frames` per message."""

    def __init__(self, sock: zmq.Socket, max_bytes: int, max_frames: int, slice_frames: int = 20_000) -> None:
        self.sock, self.max_bytes, self.max_frames = sock, int(max_bytes), int(max_frames)
        self.slice_frames = max(1, int(slice_frames))
        self.frames_read = 0  # frames received over the reader's life
        self._reset()

    @property
    def mid_message(self) -> bool:
        """True while a message is partly read (its remaining frames are already queued in libzmq)."""
        return self._count > 0

    def read(self, budget: int | None = None) -> Incoming | None:
        """Receive at most `budget` (default `slice_frames`) frames; the message they complete, or None
        when the socket has nothing more or the message is not finished yet (call again)."""
        left = self.slice_frames if budget is None else max(1, budget)
        while left > 0 and self._refusal is None:
            try:
                frame = self.sock.recv(zmq.NOBLOCK, copy=False)
            except zmq.Again:
                return None
            left -= 1
            self.frames_read += 1
            self._take(frame)
            if not frame.more:
                return self._done()
        return self._drop(left) if left > 0 else None

    def _drop(self, left: int) -> Incoming | None:
        """The rest of a refused message, at most `left` frames now: received and dropped at once."""
        recv, count = self.sock.recv, 0
        try:
            while count < left:
                count += 1
                if not recv(zmq.NOBLOCK, False).more:
                    return self._done()
        except zmq.Again:  # cannot happen mid-message (libzmq delivers messages whole); be safe
            count -= 1
            self._reset()
        finally:
            self.frames_read += count
        return None

    def _done(self) -> Incoming:
        incoming = Incoming(self._frames, self._refusal)
        self._reset()
        return incoming

    def _take(self, frame: zmq.Frame) -> None:
        self._count += 1
        self._bytes += len(frame)
        if self._refusal is None:
            if self._count > self.max_frames:
                self._refuse("bad_message", f"message has more than {self.max_frames} frames")
            elif self._bytes > self.max_bytes:
                self._refuse("too_large", f"message is over {self.max_bytes} bytes (the server's limit)")
            else:
                self._frames.append(frame)

    def _refuse(self, code: str, text: str) -> None:
        """Keep the head of the message (big frames blanked, positions kept) and drop the rest."""
        self._refusal = (code, text)
        self._frames = [f if len(f) <= MAX_JSON_BYTES else b"" for f in self._frames[:HEAD_FRAMES]]

    def _reset(self) -> None:
        self._frames: list = []
        self._count = self._bytes = 0
        self._refusal: tuple[str, str] | None = None
