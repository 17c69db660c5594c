"""Alignment accuracy and speed on espeak-ng speech, where espeak's own phone events are the truth.

Forced alignment (with the text) and phone recognition (without) against espeak's timings, over several
voices; plus forced alignment success on the real asterisk prompts. Prints markdown for docs/alignment.md.
Usage: .venv/bin/python bench/measure_alignment.py [--sentences 40]
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from dreamtalk.align import SILENCE
from dreamtalk.align.espeak import synthesize
from dreamtalk.align.phones import boundary_errors
from dreamtalk.align.sphinx import align
from dreamtalk.corpus.texts import random_sentences

VOICES = ("en-us+m3", "en-us+f3", "en+m1", "en-us+f5")


def edit_distance(a: list[str], b: list[str]) -> int:
    row = list(range(len(b) + 1))
    for i, x in enumerate(a, 1):
        prev, row[0] = row[0], i
        for j, y in enumerate(b, 1):
            prev, row[j] = row[j], min(row[j] + 1, row[j - 1] + 1, prev + (x != y))
    return row[-1]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sentences", type=int, default=40)
    args = parser.parse_args()
    rng = np.random.default_rng(11)
    forced_err, matched, total, per_num, per_den, seconds = [], 0, 0, 0, 0, 0.0
    t_forced = t_recog = 0.0
    for i in range(args.sentences):
        text = " ".join(random_sentences(rng, 2))
        speech = synthesize(text, voice=VOICES[i % len(VOICES)])
        truth = [p for p in speech.phones if p.phone != SILENCE]
        start = time.perf_counter()
        forced = [p for p in align(speech.audio, speech.sample_rate, text) if p.phone != SILENCE]
        t_forced += time.perf_counter() - start
        start = time.perf_counter()
        recog = [p.phone for p in align(speech.audio, speech.sample_rate) if p.phone != SILENCE]
        t_recog += time.perf_counter() - start
        errors = boundary_errors(truth, forced)
        forced_err += errors
        matched, total = matched + len(errors), total + len(truth)
        per_num += edit_distance([p.phone for p in truth], recog)
        per_den += len(truth)
        seconds += speech.duration
    e = np.array(forced_err) * 1000
    print(f"espeak-ng speech: {args.sentences} utterances, {seconds / 60:.1f} min, voices {', '.join(VOICES)}\n")
    print("| method | figure | value |\n|---|---|---|")
    print(f"| forced alignment | phones matched to espeak's | {matched / total * 100:.1f}% |")
    print(f"| forced alignment | boundary error median / 90th pct | {np.median(e):.0f} ms / {np.percentile(e, 90):.0f} ms |")
    print(f"| forced alignment | within 40 ms | {np.mean(e <= 40) * 100:.1f}% |")
    print(f"| forced alignment | time per second of audio | {t_forced / seconds * 1000:.0f} ms |")
    print(f"| phone recognition | phone error rate vs espeak | {per_num / per_den * 100:.1f}% |")
    print(f"| phone recognition | time per second of audio | {t_recog / seconds * 1000:.0f} ms |")


if __name__ == "__main__":
    main()
