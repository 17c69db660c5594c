"""Small deterministic engines for the service tests (registered in-process or via --engine-plugin).

`echo`: curves derived from the audio and options, so a result can be checked against the request
that produced it (correctness and no crossing between clients). `slow`: runs `steps` x 20 ms with
progress calls and records how it ended. `crash`: raises. All are deterministic.
"""

from __future__ import annotations

import threading
import time

import numpy as np
from dreamtalk import engines
from dreamtalk.core.arkit import INDEX, NUM_BLENDSHAPES
from dreamtalk.core.curves import Curves
from dreamtalk.core.request import GenerateRequest

EVENTS: list[tuple[str, str]] = []  # (engine outcome, seed) recorded by `slow`, for in-process tests
STARTED = threading.Event()  # set when a `slow` job starts


def echo(request: GenerateRequest, progress: engines.Progress) -> list[Curves]:
    """jawOpen = mean |audio| per frame; smile = intensity; brow = take seed encoded; head yaw = seed."""
    frames = max(1, int(round(request.duration * request.fps)))
    edges = np.linspace(0, len(request.audio), frames + 1).astype(int)
    level = np.array([np.abs(request.audio[a:b]).mean() if b > a else 0.0 for a, b in zip(edges[:-1], edges[1:], strict=True)])
    takes = []
    for take in range(request.takes):
        progress("echo", take / request.takes)
        values = np.zeros((frames, NUM_BLENDSHAPES), np.float32)
        values[:, INDEX["jawOpen"]] = np.clip(level, 0, 1)
        values[:, INDEX["mouthSmileLeft"]] = request.intensity
        values[:, INDEX["browInnerUp"]] = ((request.seed + take) % 1000) / 1000
        head = np.zeros((frames, 3), np.float32)
        head[:, 0] = request.seed * 1e-3
        takes.append(Curves(request.fps, values, head))
    return takes


def slow(request: GenerateRequest, progress: engines.Progress) -> list[Curves]:
    """`steps` (default 100) ticks of 20 ms; records 'cancelled' or 'finished' in EVENTS."""
    STARTED.set()
    steps = request.steps or 100
    try:
        for step in range(steps):
            progress("slow", step / steps)
            time.sleep(0.02)
    except engines.Cancelled:
        EVENTS.append(("cancelled", str(request.seed)))
        raise
    EVENTS.append(("finished", str(request.seed)))
    return echo(request, progress)


def crash(request: GenerateRequest, progress: engines.Progress) -> list[Curves]:
    raise RuntimeError("deliberate test failure")


def register() -> None:
    """Plugin entry point: `--engine-plugin server_engines:register`."""
    engines.register("echo", echo)
    engines.register("slow", slow)
    engines.register("crash", crash)
