"""Accuracy and speed of phone timings (align/), written to docs/alignment.md.

1. espeak-ng + our mnemonic table vs the CMU dictionary (pocketsphinx's): phone error rate per word.
2. On espeak audio (exact phone timings known): start-boundary error of pocketsphinx forced alignment,
   and phone error rate + boundary error of phone recognition without a transcript.
3. On real speech (Debian asterisk-core-sounds-en prompts with transcripts): how many utterances forced
   alignment aligns, phones per second, and agreement of phone recognition with the forced alignment.
Seconds of compute per second of audio for each. Usage:
    .venv/bin/python bench/measure_alignment.py [--sentences 40] [--utterances 50] [--write]
"""

from __future__ import annotations

import argparse
import random
import time
from pathlib import Path

import numpy as np

from dreamtalk.align.espeak import synthesize
from dreamtalk.align.metrics import boundary_errors, cmu_dictionary, edit_alignment, phone_error_rate
from dreamtalk.align.phones import SILENCE, tidy
from dreamtalk.align.sphinx import RATE, forced_alignment, phone_recognition
from dreamtalk.core.audio import prepare_audio
from dreamtalk.corpus.texts import random_sentences, word_list

REPORT = Path(__file__).resolve().parent.parent / "docs" / "alignment.md"
MARK = "<!-- measured: bench/measure_alignment.py -->"
VOICES = ("m1", "m3", "m7", "f1", "f3", "f4")


def lexicon_per(words: list[str]) -> float:
    """Mean over words of the best phone error rate of espeak's phones against any CMU pronunciation."""
    cmu, total, errors = cmu_dictionary(), 0, 0
    for word in words:
        got = [p.phone for p in synthesize(word).phones if p.phone != SILENCE]
        errors += min(edit_alignment(list(ref), got)[0] for ref in cmu[word])
        total += len(cmu[word][0])
    return errors / total


def espeak_audio(count: int) -> dict[str, float]:
    """Forced alignment and phone recognition against espeak's exact timings."""
    rng = np.random.default_rng(7)
    fa_err, pr_err, pers, seconds, fa_time, pr_time, synth_time = [], [], [], 0.0, 0.0, 0.0, 0.0
    for i, text in enumerate(random_sentences(rng, count)):
        t = time.perf_counter()
        s = synthesize(text, variant=VOICES[i % len(VOICES)], rate=int(rng.integers(140, 210)))
        synth_time += time.perf_counter() - t
        audio, _ = prepare_audio(s.audio, s.sample_rate, RATE)
        seconds += s.duration
        t0 = time.perf_counter()
        aligned = forced_alignment(audio, text)
        t1 = time.perf_counter()
        recognised = phone_recognition(audio)
        pr_time += time.perf_counter() - t1
        fa_time += t1 - t0
        fa_err.append(boundary_errors(s.phones, aligned))
        pr_err.append(boundary_errors(s.phones, recognised))
        pers.append(phone_error_rate([p.phone for p in s.phones], [p.phone for p in recognised]))
    fa, pr = np.concatenate(fa_err), np.concatenate(pr_err)
    return {"sentences": count, "seconds": seconds, "fa_median_ms": 1000 * np.median(fa),
            "fa_p90_ms": 1000 * np.percentile(fa, 90), "fa_within_20": float(np.mean(fa <= 0.02)),
            "fa_within_40": float(np.mean(fa <= 0.04)), "pr_per": float(np.mean(pers)),
            "pr_median_ms": 1000 * np.median(pr), "pr_p90_ms": 1000 * np.percentile(pr, 90),
            "fa_rtf": fa_time / seconds, "pr_rtf": pr_time / seconds, "synth_rtf": synth_time / seconds,
            "synth_ms": 1000 * synth_time / count}


def real_speech(count: int) -> dict[str, float]:
    """Forced alignment sanity on real prompts; phone recognition measured against the alignment."""
    from dreamtalk.align.real_speech import real_utterances

    aligned = failed = 0
    rates, pers, seconds, fa_time, pr_time, words = [], [], 0.0, 0.0, 0.0, 0
    for _name, audio, rate, text in real_utterances(limit=count):
        audio16, _ = prepare_audio(audio, rate, RATE)
        duration = len(audio16) / RATE
        seconds += duration
        words += len(text.split())
        t0 = time.perf_counter()
        try:
            phones = tidy(forced_alignment(audio16, text), duration)
        except Exception:  # noqa: BLE001 - counted as a failure
            failed += 1
            continue
        t1 = time.perf_counter()
        recognised = phone_recognition(audio16)
        pr_time += time.perf_counter() - t1
        fa_time += t1 - t0
        aligned += 1
        spoken = [p for p in phones if p.phone != SILENCE]
        rates.append(len(spoken) / sum(p.duration for p in spoken))
        pers.append(phone_error_rate([p.phone for p in phones], [p.phone for p in recognised]))
    return {"utterances": aligned + failed, "aligned": aligned, "failed": failed, "seconds": seconds,
            "words": words, "phones_per_s": float(np.mean(rates)), "phones_per_s_min": float(np.min(rates)),
            "phones_per_s_max": float(np.max(rates)), "pr_vs_fa_per": float(np.mean(pers)),
            "fa_rtf": fa_time / seconds, "pr_rtf": pr_time / seconds}


def report(lex_common: float, lex_random: float, n_common: int, n_random: int, es: dict, real: dict) -> str:
    return "\n".join([
        MARK, "",
        "| measurement | value |", "|---|---|",
        f"| espeak+table vs CMU dict, {n_common} common words: phone error rate | {lex_common:.1%} |",
        f"| espeak+table vs CMU dict, {n_random} random dictionary words (many names) | {lex_random:.1%} |",
        f"| espeak audio: {es['sentences']} sentences, 6 voices, {es['seconds']:.0f} s | |",
        f"| forced alignment start-boundary error, median / p90 | {es['fa_median_ms']:.1f} ms / "
        f"{es['fa_p90_ms']:.1f} ms |",
        f"| forced alignment boundaries within 20 ms / 40 ms | {es['fa_within_20']:.0%} / {es['fa_within_40']:.0%} |",
        f"| phone recognition (no transcript) phone error rate vs truth | {es['pr_per']:.1%} |",
        f"| phone recognition boundary error of matched phones, median / p90 | {es['pr_median_ms']:.1f} ms / "
        f"{es['pr_p90_ms']:.1f} ms |",
        f"| real speech: {real['utterances']} asterisk prompts, {real['seconds']:.0f} s, {real['words']} words | |",
        f"| forced alignment succeeded | {real['aligned']}/{real['utterances']} |",
        f"| phones per second of speech (mean, min-max over utterances) | {real['phones_per_s']:.1f} "
        f"({real['phones_per_s_min']:.1f}-{real['phones_per_s_max']:.1f}) |",
        f"| phone recognition vs forced alignment, phone error rate | {real['pr_vs_fa_per']:.1%} |",
        f"| compute per second of audio: forced alignment (espeak / real) | {es['fa_rtf']:.3f} s / "
        f"{real['fa_rtf']:.3f} s |",
        f"| compute per second of audio: phone recognition (espeak / real) | {es['pr_rtf']:.3f} s / "
        f"{real['pr_rtf']:.3f} s |",
        f"| compute per second of audio: espeak synthesis with phones | {es['synth_rtf']:.4f} s "
        f"({es['synth_ms']:.1f} ms per sentence) |", "",
    ])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sentences", type=int, default=40)
    parser.add_argument("--utterances", type=int, default=50)
    parser.add_argument("--write", action="store_true", help=f"replace the measured section of {REPORT}")
    args = parser.parse_args()
    cmu = cmu_dictionary()
    common = [w for w in word_list() if w in cmu]
    rare = random.Random(0).sample(sorted(w for w in cmu if w.isalpha()), 3000)
    text = report(lexicon_per(common), lexicon_per(rare), len(common), len(rare),
                  espeak_audio(args.sentences), real_speech(args.utterances))
    print(text)
    if args.write:
        head = REPORT.read_text().split(MARK)[0] if REPORT.exists() else ""
        REPORT.write_text(head + text)


if __name__ == "__main__":
    main()
