"""Shared fixtures of the render tests: the two offline portraits, analysed once per test session."""

from __future__ import annotations

from functools import cache

import numpy as np

from dreamtalk.core.arkit import INDEX
from dreamtalk.core.curves import Curves
from dreamtalk.render.analysis import Portrait, analyse
from dreamtalk.render.portraits import offline_portraits
from dreamtalk.render.renderer import GeometricRenderer


@cache
def portrait(name: str) -> Portrait:
    return analyse(offline_portraits()[name])


@cache
def renderer(name: str) -> GeometricRenderer:
    return GeometricRenderer(portrait(name))


def weights(**keys: float) -> np.ndarray:
    w = np.zeros(52)
    for key, value in keys.items():
        w[INDEX[key]] = value
    return w


def talking_curves(frames: int = 30, fps: float = 25.0) -> Curves:
    """A short take: the jaw opening and closing, one blink, a small head turn."""
    t = np.arange(frames) / fps
    values = np.zeros((frames, 52), np.float32)
    values[:, INDEX["jawOpen"]] = 0.25 * (1 - np.cos(2 * np.pi * 2.0 * t)) / 2
    blink = np.exp(-((t - t[frames // 2]) / 0.06) ** 2)
    values[:, INDEX["eyeBlinkLeft"]] = values[:, INDEX["eyeBlinkRight"]] = blink
    pose = np.zeros((frames, 3), np.float32)
    pose[:, 0] = 0.06 * np.sin(2 * np.pi * 0.5 * t)
    return Curves(fps, values, pose)
