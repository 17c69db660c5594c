"""Synthetic training data without footage: part-1 renders of an analysed portrait under varied curves,
written in the prepared-data layout (for tests, the CPU benchmark and trying the pipeline out).

Each "video" is a random take (jaw, smile, pucker, blinks, brows, gaze, head turns) rendered by part 1;
its landmarks are the ones part 1 drove (no re-detection), its masks part 1's warped person mask. The
training pairs are then rendered exactly as `dreamtalk renderer prepare` renders them for real videos.
What a network learns here is to undo part 1 re-warping its own output, so it is a pipeline check,
not a substitute for real footage.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ...core.arkit import INDEX
from ..analysis import Portrait
from ..renderer import GeometricRenderer
from .config import PrepareConfig, config_to_dict
from .driving import driven_landmarks, frame_pose
from .pairs import render_pairs, resize_clip
from .store import ClipArrays, ClipInfo, DatasetWriter

MOVING_KEYS = {"jawOpen": 0.6, "mouthSmileLeft": 0.6, "mouthSmileRight": 0.6, "mouthFunnel": 0.5,
               "mouthPucker": 0.5, "browInnerUp": 0.6, "eyeLookOutLeft": 0.5, "eyeLookInRight": 0.5}
POSE_RANGE = np.array([0.25, 0.12, 0.1])  # yaw, pitch, roll amplitude in radians


def random_take(frames: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """(frames, 52) weights and (frames, 3) head pose: smooth random motion with one or two blinks."""
    t = np.linspace(0.0, 1.0, frames)

    def wave(amplitude: float) -> np.ndarray:
        freq, phase = rng.uniform(0.5, 2.5), rng.uniform(0, 2 * np.pi)
        return amplitude * (0.5 + 0.5 * np.sin(2 * np.pi * freq * t + phase))

    weights = np.zeros((frames, 52))
    for key, amplitude in MOVING_KEYS.items():
        weights[:, INDEX[key]] = wave(amplitude * rng.uniform(0.3, 1.0))
    for centre in rng.uniform(0.1, 0.9, size=rng.integers(1, 3)):
        blink = np.exp(-((t - centre) / 0.04) ** 2)
        weights[:, INDEX["eyeBlinkLeft"]] = np.maximum(weights[:, INDEX["eyeBlinkLeft"]], blink)
        weights[:, INDEX["eyeBlinkRight"]] = np.maximum(weights[:, INDEX["eyeBlinkRight"]], blink)
    pose = np.stack([wave(2 * a) - a for a in POSE_RANGE], 1)
    return weights, pose


def synthetic_clip(portrait: Portrait, frames: int, config: PrepareConfig, rng: np.random.Generator) -> ClipArrays:
    """One random take of `portrait` through part 1, with its training pairs, at `config.size`."""
    renderer = GeometricRenderer(portrait)
    weights, pose = random_take(frames, rng)
    images, landmarks, masks = [], [], []
    for w, p in zip(weights, pose):
        geometry = renderer.geometry(w, p)
        images.append(renderer.render_geometry(geometry))
        landmarks.append(driven_landmarks(renderer, geometry))
        masks.append(renderer.person_mask(geometry))
    images, landmarks = np.stack(images), np.stack(landmarks).astype(np.float32)
    poses = np.stack([frame_pose(points) for points in landmarks]).astype(np.float32)
    sources, warped = render_pairs(images, landmarks, poses, masks.__getitem__, config.sources_per_clip,
                                   config.pairs_per_frame, rng)
    return resize_clip(ClipArrays(images, landmarks, poses, sources, warped), config.size)


def write_synthetic_data(out: str | Path, portraits: dict[str, Portrait], videos_per_portrait: int, frames: int,
                         config: PrepareConfig) -> dict:
    """A prepared-data folder of synthetic videos; the last video of each portrait is held out ("val")."""
    writer = DatasetWriter(out, config.size, {"synthetic": True, **config_to_dict(config)})
    rng = np.random.default_rng(config.seed)
    val = set()
    for name, portrait in portraits.items():
        for index in range(videos_per_portrait):
            arrays = synthetic_clip(portrait, frames, config, rng)
            video = f"{name}_{index}"
            writer.add_clip(ClipInfo(video, video, len(arrays), 25.0, (0.0, 0.0, float(portrait.image.shape[0]))), arrays)
            if index == videos_per_portrait - 1 and videos_per_portrait > 1:
                val.add(video)
    return writer.finish([], val)
