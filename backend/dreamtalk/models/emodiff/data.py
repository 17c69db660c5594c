"""Training data: clips of (audio features, x = ARKit + head pose, emotion) and random windows.

Interim corpus format (until the corpus issue's reader lands): a folder of `.npz` clips, each with
`audio (S,) float32`, `sample_rate`, `values (T, 52)`, `head_pose (T, 3)`, `fps`, `emotion` (str).
A training item is one window of N frames: normalised x, audio features, and the condition track
(frame 0 = the window's first frame as initial state; style frames = a K-frame clip of the same
emotion taken from elsewhere in the corpus, as DREAM-Talk pairs audio with a style of its emotion).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import torch

from ...core.errors import InputError
from ...features import by_tag, default_tag
from .conditions import condition_tracks
from .config import DenoiserConfig

if TYPE_CHECKING:
    from ...procedural.config import ProceduralConfig


@dataclass
class Clip:
    """One recording: per-frame audio features and targets at the model's frame rate."""

    features: np.ndarray  # (T, F) float32
    x: np.ndarray  # (T, P) float32: 52 ARKit values + yaw, pitch, roll
    emotion: str  # emotion label
    style_group: str = ""  # clips of one group may serve as each other's style (default: the emotion)
    closure: np.ndarray | None = None  # (T,) 1 where a p/b/m closes the lips (from the phones), if known

    def __post_init__(self) -> None:
        self.style_group = self.style_group or self.emotion


def load_clip(path: Path, fe_name: str, fps: float) -> Clip:
    """Read one `.npz` clip and compute its audio features at `fps`."""
    with np.load(path, allow_pickle=False) as data:
        if abs(float(data["fps"]) - fps) > 1e-6:
            raise InputError(f"{path} is at {float(data['fps']):g} fps; the model trains at {fps:g}")
        x = np.concatenate([data["values"], data["head_pose"]], axis=1).astype(np.float32)
        feats = by_tag(fe_name)(data["audio"].astype(np.float32), int(data["sample_rate"]), fps, len(x))
        return Clip(feats, x, str(data["emotion"]))


def load_store(root: Path, fe_name: str, fps: float, split: str, limit: int | None = None,
               augment: int = 0, closure_hold: float | None = None) -> list[Clip]:
    """Clips of one split of a `dreamtalk corpus build` corpus (docs/CORPUS.md); style groups are
    emotion + level, so a style clip shows the same emotion at a similar intensity. `augment` N adds N
    clips per utterance with the features of its augmented copies (same labels; `corpus.augment`).
    `closure_hold` (s): labels of utterances with phones made again with closures held that long beyond
    their p/b/m instead of the corpus' (`corpus.labels.remade_labels`)."""
    from ...corpus.labels import of_header, remade_labels
    from ...corpus.store import Corpus, phones_of

    corpus = Corpus(root)
    if abs(float(corpus.header.get("fps", fps)) - fps) > 1e-6:
        raise InputError(f"{root} is at {corpus.header.get('fps')} fps; the model trains at {fps:g}")
    records = corpus.select(split)
    if not records:
        raise InputError(f"{root} has no utterances in split {split!r}")
    if limit and limit < len(records):
        records = [records[i] for i in np.linspace(0, len(records) - 1, limit).round().astype(int)]
    fe = by_tag(fe_name)
    labels = of_header(corpus.header)
    used = labels.with_hold(closure_hold)  # the settings of the labels read: the corpus', or remade ones
    remade = used if used != labels else None
    procedural = used.procedural()  # the closures of the labels read, for the closure weights
    clips = []
    for r in records:
        curves = remade_labels(corpus, r, remade) if remade and phones_of(r) else corpus.curves(r)
        x = np.concatenate([curves.values, curves.head_pose], axis=1).astype(np.float32)
        closure = closure_frames(r, len(x), fps, procedural)
        for copy in range(augment + 1):
            clips.append(Clip(corpus.features(r, fe, copy), x, r["emotion"], f"{r['emotion']}-{r.get('level', 0)}",
                              closure))
    return clips


def closure_frames(record: dict, frames: int, fps: float, cfg: ProceduralConfig | None = None) -> np.ndarray | None:
    """`(T,)` 1 on the frames where the labels close the lips for a p/b/m (the closure frames of the
    procedural engine at `cfg`, default settings when None, on the record's phones; approach frames 0.5),
    None for a record without phones."""
    from ...corpus.store import phones_of
    from ...procedural.coarticulation import closure_weights
    from ...procedural.config import ProceduralConfig

    phones = phones_of(record)
    return closure_weights(phones, fps, frames, cfg or ProceduralConfig()) if phones else None


def load_corpus(
    folder: str | Path, fe_name: str | None = None, fps: float = 25.0, split: str = "train",
    limit: int | None = None, augment: int = 0, closure_hold: float | None = None,
) -> list[Clip]:
    """A built corpus (folder with corpus.json: `split`, `limit`, `augment` copies, labels remade with
    `closure_hold`: `load_store`) or a folder of `.npz` clips, with the features of front end `fe_name` (a
    tag; None: the default front end)."""
    fe_name = fe_name or default_tag()
    folder = Path(folder)
    if not folder.is_dir():
        raise InputError(f"corpus folder not found: {folder}")
    if (folder / "corpus.json").is_file():
        return load_store(folder, fe_name, fps, split, limit, augment, closure_hold)
    if closure_hold is not None:
        raise InputError(f"{folder} is a folder of clips, not a built corpus: its labels cannot be remade")
    paths = sorted(folder.glob("*.npz"))
    if not paths:
        raise InputError(f"no .npz clips in {folder}")
    return [load_clip(p, fe_name, fps) for p in paths]


def emotion_presets(clips: Sequence[Clip], frames: int) -> dict[str, np.ndarray]:
    """Per emotion, a raw `(frames, P)` style: the centre of that emotion's longest clip."""
    best: dict[str, Clip] = {}
    for clip in clips:
        if len(clip.x) >= frames and (clip.emotion not in best or len(clip.x) > len(best[clip.emotion].x)):
            best[clip.emotion] = clip
    return {name: c.x[(len(c.x) - frames) // 2:(len(c.x) - frames) // 2 + frames].copy() for name, c in best.items()}


PRESET_FOLDER = Path(__file__).resolve().parents[4] / "presets" / "emotions"  # the repository's presets


def builtin_presets(frames: int, folder: Path = PRESET_FOLDER, level: int = 3) -> dict[str, np.ndarray]:
    """Per emotion, the centred `frames` raw frames of the repository preset `EMOTION-LEVEL.json`."""
    from ...corpus.presets import read_preset

    out = {}
    for path in sorted(folder.glob(f"*-{level}.json")) if folder.is_dir() else []:
        preset = read_preset(path)
        c = preset.curves.resample(25.0)
        x = np.concatenate([c.values, c.head_pose], axis=1).astype(np.float32)
        start = max(0, (len(x) - frames) // 2)
        out[preset.emotion] = x[start:start + frames].copy()
    return out


class WindowSampler:
    """Random training windows (normalised) from clips of at least N frames."""

    def __init__(self, clips: Sequence[Clip], cfg: DenoiserConfig, mean: np.ndarray, std: np.ndarray) -> None:
        self.clips = [c for c in clips if len(c.x) >= cfg.window]
        if not self.clips:
            raise InputError(f"no clip is at least {cfg.window} frames long")
        self.cfg, self.mean, self.std = cfg, mean, std
        lengths = np.array([len(c.x) - cfg.window + 1 for c in self.clips], np.float64)
        self.weights = lengths / lengths.sum()
        self.by_group: dict[str, list[int]] = {}
        for i, c in enumerate(self.clips):
            self.by_group.setdefault(c.style_group, []).append(i)

    def _window(self, rng: np.random.Generator, index: int, frames: int) -> tuple[np.ndarray, np.ndarray]:
        clip = self.clips[index]
        start = int(rng.integers(0, len(clip.x) - frames + 1))
        return (clip.x[start:start + frames] - self.mean) / self.std, clip.features[start:start + frames]

    def batch(self, rng: np.random.Generator, size: int) -> dict[str, torch.Tensor]:
        """`x (B, N, P)`, `audio (B, N, F)`, `track (B, N, P + 1)` (initial state and style valid)."""
        n, k = self.cfg.window, self.cfg.style_frames
        xs, feats, styles, initials = [], [], [], []
        for index in rng.choice(len(self.clips), size=size, p=self.weights):
            x, f = self._window(rng, int(index), n)
            style, _ = self._window(rng, int(rng.choice(self.by_group[self.clips[index].style_group])), k)
            xs.append(x), feats.append(f), styles.append(style), initials.append(x[0])
        tracks = np.stack([condition_tracks(s[None], i, self.cfg)[0] for s, i in zip(styles, initials)])
        return {
            "x": torch.from_numpy(np.stack(xs).astype(np.float32)),
            "audio": torch.from_numpy(np.stack(feats).astype(np.float32)),
            "track": torch.from_numpy(tracks),
        }
