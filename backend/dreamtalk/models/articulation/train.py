"""Train the articulation detector on a built corpus: frame phone classes from each utterance's phones
(forced-aligned, `labels.frame_classes`), features of its clean and augmented copies; the checkpoint with the
best held-out p/b/m and open-vowel frame AUC is kept."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn

from ...core.errors import InputError
from .config import ArticulationConfig, ArticulationTrainConfig
from .labels import BILABIAL_CLASSES, OPEN_CLASSES, PHONES, frame_classes
from .model import ArticulationModel, bilabial, open_vowel
from .network import ArticulationNet


@dataclass
class Utterance:
    """Features `(T, D)` and frame classes `(T,)` of one utterance (or augmented copy)."""

    features: np.ndarray
    classes: np.ndarray


def load_utterances(corpus_root: str | Path, front_end: str, split: str, augment: int = 0,
                    limit: int | None = None, speed: int = 0) -> list[Utterance]:
    """Utterances of one split of a built corpus that have timed phones, with `augment` augmented copies and
    `speed` speed copies each (phones timed to the changed speed); front ends read side by side come from each
    part's feature cache."""
    from ...corpus.augment import scaled_phones, speed_of
    from ...corpus.store import Corpus, phones_of
    from ...features import by_tag, part_tags

    root = Path(corpus_root)
    if not (root / "corpus.json").is_file():
        raise InputError(f"{root} is not a built corpus (no corpus.json): the detector learns from timed phones")
    corpus, parts = Corpus(root), [by_tag(tag) for tag in part_tags(front_end)]
    records = [r for r in corpus.select(split) if r.get("phones")]
    if not records:
        raise InputError(f"{root} has no utterances with phones in split {split!r}")
    if limit and limit < len(records):
        records = [records[i] for i in np.linspace(0, len(records) - 1, limit).round().astype(int)]
    out, fps = [], corpus.header.get("fps", 25.0)
    for record in records:
        phones = phones_of(record)
        for copy in range(augment + 1):
            feats = np.concatenate([corpus.features(record, fe, copy) for fe in parts], axis=1)
            out.append(Utterance(feats, frame_classes(phones, len(feats), fps)))
        for copy in range(1, speed + 1):
            feats = np.concatenate([corpus.features(record, fe, speed=copy) for fe in parts], axis=1)
            timed = scaled_phones(phones, speed_of(record["id"], copy))
            out.append(Utterance(feats, frame_classes(timed, len(feats), fps)))
    return out


def rank_auc(truth: np.ndarray, score: np.ndarray) -> float:
    """Area under the ROC curve (ties averaged); NaN without both classes."""
    truth = np.asarray(truth, bool)
    positives, negatives = int(truth.sum()), int((~truth).sum())
    if not positives or not negatives:
        return float("nan")
    order = np.argsort(score, kind="mergesort")
    ranks = np.empty(len(score))
    sorted_scores = np.asarray(score)[order]
    _, first, counts = np.unique(sorted_scores, return_index=True, return_counts=True)
    ranks[order] = np.repeat(first + (counts + 1) / 2.0, counts)
    return float((ranks[truth].sum() - positives * (positives + 1) / 2) / (positives * negatives))


def evaluate(model: ArticulationModel, utterances: list[Utterance]) -> dict[str, float]:
    """Held-out frame figures: phone accuracy, p/b/m AUC and open-vowel AUC."""
    probs = [model.probabilities(u.features) for u in utterances]
    classes = np.concatenate([u.classes for u in utterances])
    p = np.concatenate(probs)
    return {"accuracy": float((p.argmax(-1) == classes).mean()),
            "bilabial_auc": rank_auc(np.isin(classes, BILABIAL_CLASSES), bilabial(p)),
            "open_auc": rank_auc(np.isin(classes, OPEN_CLASSES), open_vowel(p))}


def statistics(utterances: list[Utterance]) -> tuple[np.ndarray, np.ndarray]:
    stacked = np.concatenate([u.features for u in utterances]).astype(np.float64)
    return stacked.mean(0).astype(np.float32), np.maximum(stacked.std(0), 1e-5).astype(np.float32)


def windows(utterances: list[Utterance], tcfg: ArticulationTrainConfig, rng: np.random.Generator
            ) -> tuple[np.ndarray, np.ndarray]:
    """`(batch, window, D)` features and `(batch, window)` classes (-1 pads short utterances)."""
    feats, classes = [], []
    for i in rng.integers(len(utterances), size=tcfg.batch):
        x, y = utterances[i].features, utterances[i].classes
        if len(x) < tcfg.window:
            pad = tcfg.window - len(x)
            x, y = np.pad(x, ((0, pad), (0, 0))), np.pad(y, (0, pad), constant_values=-1)
        start = rng.integers(len(x) - tcfg.window + 1)
        feats.append(x[start:start + tcfg.window])
        classes.append(y[start:start + tcfg.window])
    return np.stack(feats), np.stack(classes)


def train(utterances: list[Utterance], front_end: str, out: str | Path, cfg: ArticulationConfig | None = None,
          tcfg: ArticulationTrainConfig | None = None, val: list[Utterance] | None = None,
          report: Callable[[int, int, float, dict | None], None] | None = None) -> ArticulationModel:
    """Train from scratch and write the checkpoint to `out` (the best on `val` when given, else the last)."""
    tcfg = tcfg or ArticulationTrainConfig()
    cfg = cfg or ArticulationConfig()
    cfg.audio_dim = int(utterances[0].features.shape[1])
    torch.manual_seed(tcfg.seed)
    rng = np.random.default_rng(tcfg.seed)
    mean, std = statistics(utterances)
    model = ArticulationModel(ArticulationNet(cfg), mean, std, front_end)
    optimizer = torch.optim.AdamW(model.net.parameters(), lr=tcfg.lr, weight_decay=tcfg.weight_decay)
    class_weights = torch.ones(len(PHONES))
    class_weights[list(BILABIAL_CLASSES)] = tcfg.bilabial_weight
    best = -np.inf
    for step in range(1, tcfg.steps + 1):
        model.net.train()
        feats, classes = windows(utterances, tcfg, rng)
        z = torch.from_numpy((feats - mean) / std)
        z = z + tcfg.feature_noise * torch.randn_like(z)
        logits = model.net(z)
        loss = nn.functional.cross_entropy(logits.reshape(-1, len(PHONES)), torch.from_numpy(classes).reshape(-1),
                                           weight=class_weights, ignore_index=-1)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        figures = None
        if val and (step % tcfg.val_every == 0 or step == tcfg.steps):
            figures = evaluate(model, val)
            score = figures["bilabial_auc"] + figures["open_auc"]
            if score > best:
                best = score
                model.save(out, {"validation": figures, "step": step})
        if report:
            report(step, tcfg.steps, loss.item(), figures)
    if not val:
        model.save(out, {"step": tcfg.steps})
    return ArticulationModel.load(out)
