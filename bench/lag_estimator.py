"""How well the per-clip phone-locked lag (`evaluation.lipsync.phone_locked_lag`) recovers a KNOWN shift, on
DEVELOPMENT material (the sets of bench/dev_eval.py; the validation sets stay unseen).

The mouth: the procedural engine animating each clip's reference phones (`procedural.engine.animate`, the
phones the lag is read against), delayed by k = -3..3 frames (edge-padded). A reading's error is the lag
read minus k. Two estimators, the same AUC criterion, different tie-breaks (on a 2-4 s clip with one or two
p/b/m the AUC ties over several shifts):
  current   ties -> agreement of the whole gap with the mouth that follows the phones exactly
            (`lipsync.reference_agreement`), then the smaller |shift|
  previous  ties -> the larger open-vs-closed contrast (mean difference over pooled SD) at the phone
            centres, then the smaller |shift| (the estimator before issue 18's session 25)
The procedural mouth is not a perfect zero itself (its closures are held 20 ms either side, its vowels
swell with loudness), so part of each estimator's error is the mouth's; the two are compared on the same
mouths. `--pipeline` also reads the shipped pipeline (EmoDiff + lip refinement) with both.

Usage: .venv/bin/python bench/lag_estimator.py --corpus .cache/corpus-v2 [--limit 100] [--sets ...] [--pipeline]
Prints markdown.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

from dreamtalk.corpus.store import Corpus, phones_of
from dreamtalk.evaluation import lipsync
from dreamtalk.evaluation.protocol import MAX_LAG, ValidationConfig, run_clip
from dreamtalk.evaluation.validation_set import RATE
from dreamtalk.procedural.engine import animate
from dreamtalk.procedural.visemes import BILABIALS, OPEN_VOWELS

sys.path.insert(0, str(Path(__file__).resolve().parent))
from dev_eval import PROSE_SETS, SETS, dev_clips  # noqa: E402

FPS = 25.0
SHIFTS = range(-3, 4)
DEFAULT_SETS = (*SETS, *(name for name in PROSE_SETS if "harvard" not in name))  # the development tables' seven


def previous_lag(gap: np.ndarray, phones: list, max_shift: float = MAX_LAG) -> float:
    """The per-clip lag as read before: AUC, ties to the larger centre contrast, then the smaller |shift|."""
    scaled = gap / (float(np.percentile(gap, 95)) or 1.0)
    best, best_key = float("nan"), None
    for shift in np.arange(-max_shift, max_shift + 1e-9, 1.0):
        auc, contrast = lipsync.separation(lipsync._centre_gaps(scaled, phones, FPS, shift, OPEN_VOWELS),
                                           lipsync._centre_gaps(scaled, phones, FPS, shift, BILABIALS))
        if np.isnan(auc):
            return float("nan")
        key = (round(auc, 9), round(contrast, 9), -abs(shift))
        if best_key is None or key > best_key:
            best, best_key = float(shift), key
    return best


def current_lag(gap: np.ndarray, phones: list) -> float:
    return lipsync.phone_locked_lag([(gap, phones)], FPS, MAX_LAG)


ESTIMATORS = {"current": current_lag, "previous": previous_lag}


def delayed(gap: np.ndarray, frames: int) -> np.ndarray:
    """`gap` `frames` frames late (negative: early), edge-padded."""
    if frames > 0:
        return np.concatenate([np.full(frames, gap[0]), gap[:-frames]])
    if frames < 0:
        return np.concatenate([gap[-frames:], np.full(-frames, gap[-1])])
    return gap.copy()


def errors(estimator, mouths: list[tuple[np.ndarray, list]]) -> np.ndarray:
    """Lag read minus the known delay, over every mouth and delay (clips without both classes left out)."""
    out = np.array([estimator(delayed(gap, k), phones) - k for gap, phones in mouths for k in SHIFTS])
    return out[np.isfinite(out)]


def readings(estimator, mouths: list[tuple[np.ndarray, list]]) -> np.ndarray:
    out = np.array([estimator(gap, phones) for gap, phones in mouths])
    return out[np.isfinite(out)]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--corpus", required=True)
    parser.add_argument("--sets", default=",".join(DEFAULT_SETS))
    parser.add_argument("--limit", type=int, default=100, help="clips per set (spread evenly)")
    parser.add_argument("--pipeline", action="store_true", help="also read the shipped pipeline's lags")
    args = parser.parse_args()
    corpus = Corpus(args.corpus)
    known = ["| set | clips | estimator | mean abs error | share beyond 1 frame | worst |", "|---|---|---|---|---|---|"]
    shipped = ["| set | estimator | mean abs lag | share beyond 1 frame | worst clip |", "|---|---|---|---|---|"]
    pooled: dict[str, list] = {name: [] for name in ESTIMATORS}
    for name in args.sets.split(","):
        clips = dev_clips(corpus, name, args.limit)
        mouths = [(lipsync.lip_gap(animate(c["audio"], RATE, phones_of(c), FPS, seed=i).values), phones_of(c))
                  for i, c in enumerate(clips)]
        for label, estimator in ESTIMATORS.items():
            err = errors(estimator, mouths)
            pooled[label].append(err)
            known.append(f"| {name} | {len(clips)} | {label} | {np.abs(err).mean():.2f} | "
                         f"{np.mean(np.abs(err) > 1):.3f} | {np.abs(err).max():.0f} |")
        if args.pipeline:
            cfg = ValidationConfig(engines=("emodiff",), takes=1)
            generated = [(run_clip(cfg, c, i, _NoClassifier())[1]["emodiff"], phones_of(c)) for i, c in enumerate(clips)]
            for label, estimator in ESTIMATORS.items():
                lags = np.abs(readings(estimator, generated))
                shipped.append(f"| {name} | {label} | {lags.mean():.2f} | {np.mean(lags > 1):.3f} | {lags.max():.0f} |")
    for label, parts in pooled.items():
        err = np.concatenate(parts)
        known.append(f"| all | {sum(len(p) for p in parts) // len(SHIFTS)} | {label} | {np.abs(err).mean():.2f} | "
                     f"{np.mean(np.abs(err) > 1):.3f} | {np.abs(err).max():.0f} |")
    print("Known delays (-3..3 frames) of the procedural mouth on the reference phones:\n\n" + "\n".join(known))
    if args.pipeline:
        print("\nThe shipped pipeline's per-clip lags:\n\n" + "\n".join(shipped))


class _NoClassifier:
    """`run_clip` asks for an emotion prediction; the lag study does not need one."""

    def predict(self, curves) -> str:
        return ""


if __name__ == "__main__":
    main()
