"""Which audio front end transfers from synthesized voices to real ones? A ridge-regression probe.

What is trained: for each front end, one linear map (ridge regression, closed form) from the features
of 7 consecutive frames (t-3..t+3, 280 ms), each z-scored per utterance (cepstral mean/variance
normalisation), to the 27 mouth-group ARKit labels (jaw/mouth/tongue) at frame t. Trained on
synthesized speech of training voices only; the ridge penalty is picked on held-out validation voices;
then measured on held-out synthesized test voices and on real speech (one female speaker, never seen).
Reported: mouth-group MAE, correlation of the predicted lip gap with the label lip gap, and the lip
metrics (bilabial closure rate, open-vowel vs bilabial AUC) of the predicted curves on the true phones.
"""

from __future__ import annotations

import numpy as np

from ..core.arkit import MOUTH, NUM_BLENDSHAPES, indices
from ..corpus.store import Corpus, phones_of
from ..features import get_frontend
from . import lipsync

CONTEXT = 3  # frames each side
ALPHAS = (1.0, 10.0, 100.0, 1000.0, 10000.0)
MOUTH_COLS = indices(MOUTH)


def design(features: np.ndarray) -> np.ndarray:
    """`(T, D * (2 * CONTEXT + 1) + 1)`: per-utterance z-scored features with context and a bias column."""
    z = (features - features.mean(0)) / (features.std(0) + 1e-5)
    padded = np.pad(z, ((CONTEXT, CONTEXT), (0, 0)), mode="edge")
    stacked = [padded[k: k + len(z)] for k in range(2 * CONTEXT + 1)]
    return np.concatenate([*stacked, np.ones((len(z), 1), z.dtype)], axis=1)


def dataset(corpus: Corpus, records: list[dict], frontend) -> tuple[list[np.ndarray], list[np.ndarray]]:
    xs = [design(corpus.features(r, frontend)) for r in records]
    ys = [corpus.curves(r).values[:, MOUTH_COLS] for r in records]
    return xs, ys


def fit_ridge(xs: list[np.ndarray], ys: list[np.ndarray], alphas=ALPHAS) -> dict[float, np.ndarray]:
    """Closed-form ridge solutions `(F, 27)` for each penalty (bias not penalised)."""
    gram = sum(x.T @ x for x in xs)
    cross = sum(x.T @ y for x, y in zip(xs, ys))
    out = {}
    for alpha in alphas:
        penalty = alpha * np.eye(gram.shape[0])
        penalty[-1, -1] = 0.0
        out[alpha] = np.linalg.solve(gram + penalty, cross)
    return out


def score(weights: np.ndarray, xs, ys, records: list[dict]) -> dict:
    """Mouth MAE, lip-gap correlation, closure rate and AUC of the predictions."""
    maes, corrs, closures, aucs = [], [], [], []
    for x, y, record in zip(xs, ys, records):
        pred = np.clip(x @ weights, 0.0, 1.0)
        maes.append(np.abs(pred - y).mean())
        full_pred = np.zeros((len(pred), NUM_BLENDSHAPES), np.float32)
        full_true = np.zeros_like(full_pred)
        full_pred[:, MOUTH_COLS], full_true[:, MOUTH_COLS] = pred, y
        gap_p, gap_t = lipsync.lip_gap(full_pred), lipsync.lip_gap(full_true)
        if gap_p.std() > 0 and gap_t.std() > 0:
            corrs.append(np.corrcoef(gap_p, gap_t)[0, 1])
        closures.append(lipsync.closure_rate(gap_p, phones_of(record), 25.0))
        aucs.append(lipsync.open_vs_bilabial_auc(gap_p, phones_of(record), 25.0))
    return {"utterances": len(records), "mouth_mae": float(np.mean(maes)), "gap_corr": float(np.mean(corrs)),
            "closure_rate": float(np.nanmean(closures)), "open_bilabial_auc": float(np.nanmean(aucs))}


def _spread(records: list[dict], limit: int | None) -> list[dict]:
    if limit is None or limit >= len(records):
        return records
    return [records[i] for i in np.linspace(0, len(records) - 1, limit).round().astype(int)]


def compare(corpus: Corpus, names: list[str], train_limit: int = 600, test_limit: int = 150) -> dict:
    """Train and score the probe for each front end; returns {name: {tag, alpha, test, real}}."""
    train = _spread(corpus.select("train", "espeak"), train_limit)
    val = _spread(corpus.select("val", "espeak"), max(20, train_limit // 8))
    test = _spread(corpus.select("test", "espeak"), test_limit)
    real = corpus.select("real", "real")
    results = {}
    for name in names:
        frontend = get_frontend(name)
        solutions = fit_ridge(*dataset(corpus, train, frontend))
        val_x, val_y = dataset(corpus, val, frontend)
        alpha = min(solutions, key=lambda a: score(solutions[a], val_x, val_y, val)["mouth_mae"])
        entry = {"tag": frontend.tag, "dim": frontend.dim, "alpha": alpha, "train_utterances": len(train),
                 "test": score(solutions[alpha], *dataset(corpus, test, frontend), test)}
        if real:
            entry["real"] = score(solutions[alpha], *dataset(corpus, real, frontend), real)
        results[name] = entry
    return results


def markdown(results: dict) -> str:
    lines = ["| front end | split | utterances | mouth MAE | lip-gap corr | closure rate | open/bilabial AUC |",
             "|---|---|---|---|---|---|---|"]
    for entry in results.values():
        for split in ("test", "real"):
            if split in entry:
                s = entry[split]
                lines.append(f"| {entry['tag']} | {split} | {s['utterances']} | {s['mouth_mae']:.4f} | "
                             f"{s['gap_corr']:.3f} | {s['closure_rate']:.3f} | {s['open_bilabial_auc']:.3f} |")
    return "\n".join(lines)
