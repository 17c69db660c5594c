"""Benchmark: 10 minutes of speech -> ARKit curves with the procedural engine (alignment excluded).

Baseline measured in the same run: decoding + resampling the same 10 minutes of audio from a 44.1 kHz
WAV file (the unavoidable floor every request pays). Prints a markdown table row.
Usage: .venv/bin/python bench/bench_procedural.py [--minutes 10]
"""

from __future__ import annotations

import argparse
import platform
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import soundfile

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from dreamtalk.core.audio import load_audio  # noqa: E402
from dreamtalk.core.request import EmotionKey  # noqa: E402
from dreamtalk.procedural.engine import animate  # noqa: E402


def speech(minutes: float):
    """Real espeak-ng speech with its phone timings when available, else the tests' buzz utterance."""
    try:
        from dreamtalk.align.espeak import synthesize
        from dreamtalk.corpus.texts import random_sentences
    except ImportError:
        from synthetic_speech import make_utterance

        return make_utterance(words=int(minutes * 60 * 2.2), seed=1) + ("synthetic buzz",)
    audio, phones, t = [], [], 0.0
    rng = np.random.default_rng(0)
    while t < minutes * 60:
        s = synthesize(" ".join(random_sentences(rng, 3)), voice="en-us+m3")
        phones += [type(p)(p.phone, p.start + t, p.end + t) for p in s.phones]
        audio.append(s.audio)
        t += len(s.audio) / s.sample_rate
    return np.concatenate(audio), s.sample_rate, phones, "espeak-ng"


def best_of(fn, repeats: int = 3) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--minutes", type=float, default=10.0)
    args = parser.parse_args()
    audio, rate, phones, source = speech(args.minutes)
    seconds = len(audio) / rate
    with tempfile.TemporaryDirectory() as tmp:
        wav = Path(tmp) / "speech.wav"
        from dreamtalk.core.audio import resample

        soundfile.write(wav, resample(audio, rate, 44100), 44100)
        baseline = best_of(lambda: load_audio(wav, sample_rate=16000, max_seconds=7200))
    keys = [EmotionKey(0.0, "happy", 0.8)]
    engine = best_of(lambda: animate(audio, rate, phones, 25.0, keys, seed=0))
    print(f"machine: {platform.machine()} {platform.processor() or ''}, cores: 2 assumed; audio: {source}")
    print("| audio | procedural engine (alignment excluded) | baseline: load + resample audio | ratio | real-time factor |")
    print("|---|---|---|---|---|")
    print(f"| {seconds / 60:.1f} min | {engine:.2f} s | {baseline:.2f} s | {engine / baseline:.1f}x | "
          f"{seconds / engine:.0f}x faster than real time |")


if __name__ == "__main__":
    main()
