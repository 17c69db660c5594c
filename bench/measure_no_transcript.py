"""Speech WITHOUT a transcript: how much do automatic transcripts (Whisper) help the procedural engine?

On real prompts (asterisk-core-sounds-en), the reference phones come from forced alignment to the true
transcript. The engine is driven by phones from (a) pocketsphinx phone recognition, (b) Whisper's
transcript + forced alignment, (c) the true transcript (the ceiling); lip figures are measured against
the reference phones. Prints markdown for docs/alignment.md.
Usage: .venv/bin/python bench/measure_no_transcript.py [--utterances 100]
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from dreamtalk.align.phones import tidy
from dreamtalk.align.real_speech import real_utterances
from dreamtalk.align.sphinx import align, forced_alignment, phone_recognition
from dreamtalk.align.transcribe import transcribe
from dreamtalk.core.audio import prepare_audio
from dreamtalk.evaluation.lipsync import closure_rate, lip_gap, open_vs_bilabial_auc
from dreamtalk.procedural.engine import animate

FPS = 25.0


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--utterances", type=int, default=100)
    args = parser.parse_args()
    rows = {"phone recognition (no text)": [], "Whisper transcript + forced alignment": [],
            "true transcript + forced alignment (ceiling)": []}
    seconds = {"phone recognition (no text)": 0.0, "Whisper transcript + forced alignment": 0.0}
    total = 0.0
    for _name, audio, rate, text in real_utterances(limit=args.utterances):
        audio, _ = prepare_audio(audio, rate, 16000)
        duration = len(audio) / 16000
        total += duration
        reference = tidy(forced_alignment(audio, text), duration)
        start = time.perf_counter()
        recognised = tidy(phone_recognition(audio), duration)
        seconds["phone recognition (no text)"] += time.perf_counter() - start
        start = time.perf_counter()
        whisper = align(audio, 16000, transcribe(audio))
        seconds["Whisper transcript + forced alignment"] += time.perf_counter() - start
        for label, phones in zip(rows, (recognised, whisper, reference)):
            gap = lip_gap(animate(audio, 16000, phones, FPS).values)
            rows[label].append((closure_rate(gap, reference, FPS), gap, reference))
    print(f"{args.utterances} real prompts ({total / 60:.1f} min); figures against true-transcript phones\n")
    print("| phones driving the engine | p/b/m closure | open vs bilabial AUC | alignment time per s of audio |")
    print("|---|---|---|---|")
    for label, results in rows.items():
        closures = [c for c, _, _ in results if not np.isnan(c)]
        gap = np.concatenate([g for _, g, _ in results])
        phones, offset = [], 0.0
        for _, g, ref in results:
            phones += [type(p)(p.phone, p.start + offset, p.end + offset) for p in ref]
            offset += len(g) / FPS
        cost = f"{seconds[label] / total * 1000:.0f} ms" if label in seconds else "-"
        print(f"| {label} | {np.mean(closures) * 100:.1f}% | {open_vs_bilabial_auc(gap, phones, FPS):.3f} | {cost} |")


if __name__ == "__main__":
    main()
