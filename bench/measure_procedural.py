"""Acceptance figures of the procedural engine (foundation issue), written to docs/procedural_engine.md.

1. Lip sync on REAL speech no rule was tuned on: Debian's asterisk-core-sounds-en prompts (one female
   voice, CC-BY-SA-3.0) with their transcripts, phones by pocketsphinx forced alignment. Pooled over all
   utterances: p/b/m closure rate, open-vowel vs bilabial AUC, audio-loudness / lip-gap best lag.
   The same figures under every emotion preset.
2. Emotion signature contrast vs neutral on the same audio and seed (intensity 1.0 and 0.6).
Usage: .venv/bin/python bench/measure_procedural.py [--utterances 120] [--write]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

from dreamtalk.core.arkit import INDEX
from dreamtalk.core.request import EMOTIONS, EmotionKey
from dreamtalk.evaluation.lipsync import best_lag, closure_rate, lip_gap, open_vs_bilabial_auc
from dreamtalk.procedural.emotion import SIGNATURES
from dreamtalk.procedural.engine import animate

FPS = 25.0
REPORT = Path(__file__).resolve().parent.parent / "docs" / "procedural_engine.md"
MARK = "<!-- measured: bench/measure_procedural.py -->"


def load_real(limit: int):
    """[(audio 16 kHz, phones)] for up to `limit` real utterances, force-aligned with their transcripts."""
    from dreamtalk.align import phones_for
    from dreamtalk.align.real_speech import real_utterances
    from dreamtalk.core.audio import prepare_audio

    items, failed = [], 0
    for _name, audio, rate, transcript in real_utterances(limit=limit):
        audio, rate = prepare_audio(audio, rate, 16000)
        try:
            items.append((audio, phones_for(audio, rate, transcript)))
        except Exception:  # an utterance the aligner cannot handle is counted, not hidden
            failed += 1
    return items, failed


def pooled_lip_figures(items, emotion_name: str, intensity: float):
    gaps, louds_audio, phones_all, offset = [], [], [], 0.0
    for i, (audio, phones) in enumerate(items):
        curves = animate(audio, 16000, phones, FPS, [EmotionKey(0.0, emotion_name, intensity)], seed=i)
        gap = lip_gap(curves.values)
        gaps.append(gap)
        louds_audio.append(audio[: int(round(len(gap) / FPS * 16000))])
        phones_all += [type(p)(p.phone, p.start + offset, p.end + offset) for p in phones]
        offset += len(gap) / FPS
    gap = np.concatenate(gaps)
    audio = np.concatenate([np.pad(a, (0, int(round(len(g) / FPS * 16000)) - len(a))) for a, g in zip(louds_audio, gaps)])
    closure = np.mean([closure_rate(g, p, FPS) for g, (_, p) in zip(gaps, items) if _has_bilabial(p)])
    bilabials = sum(1 for p in phones_all if p.phone in ("P", "B", "M"))
    lag, corr = best_lag(audio, 16000, gap, FPS)
    return closure, open_vs_bilabial_auc(gap, phones_all, FPS), lag, corr, bilabials


def _has_bilabial(phones) -> bool:
    return any(p.phone in ("P", "B", "M") for p in phones)


def signature_contrast(items, intensity: float) -> dict[str, float]:
    """Mean over signature channels of mean(emotion - neutral), pooled over utterances."""
    neutral = [animate(a, 16000, p, FPS, [EmotionKey(0, "neutral", 0)], seed=i).values for i, (a, p) in enumerate(items)]
    out = {}
    for name in EMOTIONS[1:]:
        moved = [animate(a, 16000, p, FPS, [EmotionKey(0, name, intensity)], seed=i).values
                 for i, (a, p) in enumerate(items)]
        diff = np.concatenate(moved) - np.concatenate(neutral)
        if name == "contempt":
            v = np.concatenate(moved)
            left = v[:, INDEX["mouthSmileLeft"]] + v[:, INDEX["mouthDimpleLeft"]]
            right = v[:, INDEX["mouthSmileRight"]] + v[:, INDEX["mouthDimpleRight"]]
            out[name] = float(np.mean(np.abs(left - right)))
        else:
            out[name] = float(np.mean([diff[:, INDEX[c]].mean() for c in SIGNATURES[name]]))
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--utterances", type=int, default=120)
    parser.add_argument("--write", action="store_true", help=f"write the tables into {REPORT}")
    args = parser.parse_args()
    start = time.time()
    items, failed = load_real(args.utterances)
    seconds = sum(len(a) for a, _ in items) / 16000
    lines = [MARK, "", f"Real speech: {len(items)} asterisk-core-sounds-en utterances ({seconds / 60:.1f} min), "
             f"{failed} left out because forced alignment failed; phones by pocketsphinx forced alignment with the transcripts.", "",
             "| emotion (intensity 1.0) | p/b/m closure (target >= 95%) | open vs bilabial AUC (>= 0.95) | best lag, frames (within +-2) | corr | bilabials |",
             "|---|---|---|---|---|---|"]
    for name in EMOTIONS:
        closure, auc, lag, corr, count = pooled_lip_figures(items, name, 1.0 if name != "neutral" else 0.0)
        lines.append(f"| {name} | {closure * 100:.1f}% | {auc:.3f} | {lag:+d} | {corr:.2f} | {count} |")
    lines += ["", "| emotion | signature channels | contrast vs neutral @1.0 (target >= 0.15) | @0.6 |", "|---|---|---|---|"]
    full, default = signature_contrast(items, 1.0), signature_contrast(items, 0.6)
    for name in EMOTIONS[1:]:
        channels = "left/right mouth asymmetry (target >= 0.1)" if name == "contempt" else " + ".join(SIGNATURES[name])
        lines.append(f"| {name} | {channels} | {full[name]:.3f} | {default[name]:.3f} |")
    lines += ["", f"Measured in {time.time() - start:.0f} s on this machine (2 cores)."]
    text = "\n".join(lines)
    print(text)
    if args.write:
        body = REPORT.read_text().split(MARK)[0] if REPORT.exists() else ""
        REPORT.write_text(body + text + "\n")


if __name__ == "__main__":
    main()
