"""A small frozen emotion classifier that judges generated ARKit sequences (8 MEAD classes).

Model: multinomial logistic regression (softmax, L2-regularised, fitted by L-BFGS) on window statistics:
for each 2 s window (hop 1 s) the per-channel mean and standard deviation of the 52 blendshapes and the
3 head-pose angles, z-scored with training statistics. An utterance's prediction averages the windows'
log-probabilities. Trained once on corpus labels (train split), then frozen in a self-describing .npz
(config JSON, ARKit name order, format version, arrays only).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from ..core.arkit import ARKIT_NAMES
from ..core.curves import Curves
from ..core.errors import InputError
from ..core.formats import atomic_write
from ..core.request import EMOTIONS

FORMAT = "dreamtalk-emotion-classifier"
VERSION = 1
DEFAULT_PATH = Path(__file__).parent / "data" / "emotion_classifier.npz"


@dataclass(frozen=True)
class ClassifierConfig:
    """Settings of the emotion classifier."""

    fps: float = 25.0  # curves are resampled to this rate first
    window: float = 2.0  # s: window length
    hop: float = 1.0  # s: window hop
    l2: float = 1e-3  # L2 penalty on the weights (per training window)


def window_features(curves: Curves, cfg: ClassifierConfig) -> np.ndarray:
    """`(W, 110)` mean and std of the 52 values + 3 head angles over each window."""
    if curves.fps != cfg.fps:
        curves = curves.resample(cfg.fps)
    track = np.concatenate([curves.values, curves.head_pose], axis=1)  # (T, 55)
    size, hop = int(cfg.window * cfg.fps), int(cfg.hop * cfg.fps)
    starts = range(0, max(1, len(track) - size + 1), hop)
    rows = [track[s: s + size] for s in starts]
    return np.stack([np.concatenate([r.mean(0), r.std(0)]) for r in rows]).astype(np.float64)


@dataclass
class EmotionClassifier:
    """Frozen softmax regression over window statistics."""

    cfg: ClassifierConfig
    mean: np.ndarray  # (110,)
    std: np.ndarray  # (110,)
    weights: np.ndarray  # (110, 8)
    bias: np.ndarray  # (8,)

    def log_probs(self, curves: Curves) -> np.ndarray:
        """`(8,)` mean window log-probabilities over EMOTIONS."""
        x = (window_features(curves, self.cfg) - self.mean) / self.std
        logits = x @ self.weights + self.bias
        logits -= logits.max(axis=1, keepdims=True)
        return (logits - np.log(np.exp(logits).sum(axis=1, keepdims=True))).mean(axis=0)

    def predict(self, curves: Curves) -> str:
        return EMOTIONS[int(np.argmax(self.log_probs(curves)))]

    def save(self, path: str | Path) -> Path:
        meta = {"format": FORMAT, "version": VERSION, "config": asdict(self.cfg), "classes": list(EMOTIONS),
                "arkit_names": list(ARKIT_NAMES), "features": "window mean+std of 52 values and 3 head angles"}
        arrays = {"meta": np.array(json.dumps(meta)), "mean": self.mean, "std": self.std,
                  "weights": self.weights, "bias": self.bias}
        return atomic_write(path, lambda f: np.savez_compressed(f, **arrays))


def load_classifier(path: str | Path = DEFAULT_PATH) -> EmotionClassifier:
    """Rebuild the classifier from its checkpoint; refuses another format, version or name order."""
    if not Path(path).is_file():
        raise InputError(f"emotion classifier not found: {path}")
    with np.load(path, allow_pickle=False) as data:
        meta = json.loads(str(data["meta"]))
        if meta.get("format") != FORMAT or meta.get("version") != VERSION:
            raise InputError(f"{path} is not a {FORMAT} v{VERSION} checkpoint")
        if meta["arkit_names"] != list(ARKIT_NAMES) or meta["classes"] != list(EMOTIONS):
            raise InputError(f"{path} was trained with another ARKit or emotion order")
        return EmotionClassifier(ClassifierConfig(**meta["config"]), data["mean"], data["std"],
                                 data["weights"], data["bias"])


def fit(samples: list[tuple[Curves, str]], cfg: ClassifierConfig | None = None) -> EmotionClassifier:
    """Fit softmax regression on the windows of labelled curves (L-BFGS on the mean cross-entropy)."""
    from scipy.optimize import minimize

    cfg = cfg or ClassifierConfig()
    feats = [window_features(c, cfg) for c, _ in samples]
    x = np.concatenate(feats)
    y = np.concatenate([np.full(len(f), EMOTIONS.index(label)) for f, (_, label) in zip(feats, samples)])
    mean, std = x.mean(0), x.std(0) + 1e-6
    x = (x - mean) / std
    onehot = np.eye(len(EMOTIONS))[y]
    dim, classes = x.shape[1], len(EMOTIONS)

    def loss(theta: np.ndarray) -> tuple[float, np.ndarray]:
        w, b = theta[: dim * classes].reshape(dim, classes), theta[dim * classes:]
        logits = x @ w + b
        logits -= logits.max(axis=1, keepdims=True)
        p = np.exp(logits)
        p /= p.sum(axis=1, keepdims=True)
        value = -np.mean(np.log(p[np.arange(len(y)), y] + 1e-12)) + cfg.l2 * np.sum(w * w)
        grad_logits = (p - onehot) / len(y)
        grad_w = x.T @ grad_logits + 2 * cfg.l2 * w
        return value, np.concatenate([grad_w.ravel(), grad_logits.sum(0)])

    theta = minimize(loss, np.zeros(dim * classes + classes), jac=True, method="L-BFGS-B",
                     options={"maxiter": 500}).x
    return EmotionClassifier(cfg, mean, std, theta[: dim * classes].reshape(dim, classes), theta[dim * classes:])


def confusion(classifier: EmotionClassifier, samples: list[tuple[Curves, str]]) -> np.ndarray:
    """`(8, 8)` counts: rows are true EMOTIONS, columns predicted."""
    matrix = np.zeros((len(EMOTIONS), len(EMOTIONS)), np.int64)
    for curves, label in samples:
        matrix[EMOTIONS.index(label), EMOTIONS.index(classifier.predict(curves))] += 1
    return matrix


def confusion_markdown(matrix: np.ndarray) -> str:
    short = [e[:4] for e in EMOTIONS]
    lines = ["| true \\ predicted | " + " | ".join(short) + " |", "|---" * (len(EMOTIONS) + 1) + "|"]
    for name, row in zip(EMOTIONS, matrix):
        lines.append(f"| {name} | " + " | ".join(str(int(v)) for v in row) + " |")
    return "\n".join(lines)
