"""Where does the lips' lag on voices that are not espeak's come from? The phone-locked lag stage by stage
(issue 18 item 2; docs/EVAL.md "The lag, stage by stage"). Lags in frames at 25 fps, + = lips late,
measured against forced-aligned phones unless noted; "pooled" = all clips of a set together at
0.25-frame resolution (`evaluation.lipsync.phone_locked_lag`).

1. reference phones: espeak-ng's own phone events vs forced alignment of the same audio (corpus test
   split): where each phone class starts and is centred, and where the acoustic closure of p/b/m begins;
2. labels: the corpus labels (procedural engine on espeak events) measured against espeak's events and
   against forced alignment;
3. features: where Whisper states sit (clicks through the encoder), and a frame-wise linear probe
   (ridge, features of one frame -> the label lip gap at that frame, trained on 300 training-split
   utterances) measured on every validation set, for each feature version;
4. models: EmoDiff without and with the lip refiner and the procedural engine on every validation set,
   from the gaps a validation run wrote (`dreamtalk eval --protocol validation --out DIR`), plus the
   refiner's own shift (the lag maximising the correlation of its output with its input gap).

Usage: .venv/bin/python bench/diagnose_lag.py --corpus .cache/corpus-2h --validation .cache/val-before
       [--stages 1,3,4]   (1 covers stages 1 and 2)
Prints markdown.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from dreamtalk.corpus.store import Corpus, phones_of
from dreamtalk.evaluation import lipsync
from dreamtalk.procedural.visemes import BILABIALS, OPEN_VOWELS

FPS = 25.0


def spread(records: list[dict], count: int) -> list[dict]:
    return [records[i] for i in np.linspace(0, len(records) - 1, min(count, len(records))).round().astype(int)]


def phone_offsets(corpus: Corpus, records: list[dict]) -> tuple[dict, list, list]:
    """Forced alignment minus espeak events (ms) per phone class, and the label gaps with each phone set."""
    from dreamtalk.align.metrics import edit_alignment
    from dreamtalk.align.sphinx import align

    offsets: dict[str, list[float]] = {}
    with_events, with_alignment = [], []
    for record in records:
        events, aligned = synth_events(record), align(corpus.audio(record), 16000, record["text"])
        spoken = [[p for p in ph if p.phone != "SIL"] for ph in (events, aligned)]
        _, pairs = edit_alignment([p.phone for p in spoken[0]], [p.phone for p in spoken[1]])
        for i, j in pairs:
            e, a = spoken[0][i], spoken[1][j]
            kind = e.phone if e.phone in BILABIALS else "open vowel" if e.phone in OPEN_VOWELS else "other"
            offsets.setdefault(f"{kind} start", []).append(1000 * (a.start - e.start))
            offsets.setdefault(f"{kind} centre", []).append(500 * (a.start + a.end - e.start - e.end))
        gap = lipsync.lip_gap(corpus.curves(record).values)
        with_events.append((gap, events))
        with_alignment.append((gap, aligned))
    return offsets, with_events, with_alignment


def synth_events(record: dict) -> list:
    """The synthesizer's own phone events (corpora timed on forced alignment keep them apart)."""
    return phones_of({"phones": record.get("phones_events", record["phones"])})


def closure_onsets() -> dict[str, float]:
    """Mean time (ms) from the acoustic closure onset (15 dB below the vowel) to espeak's p/b/m event."""
    from dreamtalk.align.espeak import synthesize

    found: dict[str, list[float]] = {}
    for variant in ("m3", "f2", "m1", "f3", "benjamin", "belinda"):
        s = synthesize("ah pah, ah bah, ah mah, ah pah, ah bah, ah mah.", "en-us", variant=variant)
        hop, win = int(0.002 * s.sample_rate), int(0.01 * s.sample_rate)
        level = 20 * np.log10(np.array([np.sqrt(np.mean(s.audio[i:i + win] ** 2)) for i in
                                        range(0, len(s.audio) - win, hop)]) + 1e-6)
        times = (np.arange(len(level)) * hop + win / 2) / s.sample_rate
        for k, p in enumerate(s.phones[1:], start=1):
            if p.phone in BILABIALS:
                vowel = s.phones[k - 1]
                floor = np.median(level[(times > vowel.start) & (times < vowel.end)]) - 15
                quiet = np.flatnonzero((times > (vowel.start + vowel.end) / 2) & (level < floor))
                if quiet.size:
                    found.setdefault(p.phone, []).append(1000 * (p.start - times[quiet[0]]))
    return {phone: float(np.mean(v)) for phone, v in found.items()}


def reference_and_labels(corpus: Corpus, count: int) -> list[str]:
    records = spread(corpus.select("test", "espeak"), count)
    offsets, with_events, with_alignment = phone_offsets(corpus, records)
    lines = ["### 1. Reference phones: forced alignment minus espeak events, corpus test split "
             f"({count} utterances)", "", "| phone class | matched phones | start (ms) | centre (ms) |", "|---|---|---|---|"]
    for kind in ("P", "B", "M", "open vowel", "other"):
        if f"{kind} start" in offsets:
            s, c = offsets[f"{kind} start"], offsets[f"{kind} centre"]
            lines.append(f"| {kind} | {len(s)} | {np.mean(s):+.1f} (median {np.median(s):+.1f}) | "
                         f"{np.mean(c):+.1f} (median {np.median(c):+.1f}) |")
    onsets = closure_onsets()
    lines += ["", "espeak's p/b/m event after the acoustic closure onset (6 voices, 'ah pah / bah / mah'): "
              + ", ".join(f"{k} {v:+.0f} ms" for k, v in onsets.items()), "",
              "### 2. Labels (procedural engine on the corpus' label phones), same utterances", "",
              "| measured against | pooled lag | per-utterance mean |", "|---|---|---|"]
    timed = ([] if "phones_events" not in records[0] else
             [("the phones they were made on", [(g, phones_of(r)) for (g, _), r in zip(with_events, records)])])
    for name, clips in [("espeak events", with_events), ("forced alignment", with_alignment)] + timed:
        per = [lipsync.phone_locked_lag([c], FPS) for c in clips]
        lines.append(f"| {name} | {lipsync.phone_locked_lag(clips, FPS, 5, 0.25):+.2f} | {np.nanmean(per):+.2f} |")
    return lines


def click_offsets(version: str, trials: int = 40) -> tuple[float, float, float]:
    """Quartiles (ms) of (time the most changed state is placed at) - (click time), whole encoder."""
    from dreamtalk.features import whisper

    rng, found = np.random.default_rng(0), []
    for _ in range(trials):
        base = 0.01 * rng.standard_normal(3 * 16000).astype(np.float32)
        base[3200:6400] += 0.9 * np.sin(2 * np.pi * 440 * np.arange(3200) / 16000)
        start = int(rng.uniform(0.8, 2.6) * 16000)
        clicked = base.copy()
        clicked[start: start + 32] += 0.3 * np.hanning(32)
        change = np.linalg.norm(whisper.encode(clicked, version) - whisper.encode(base, version), axis=1)
        found.append(whisper.state_centres(len(change), version)[np.argmax(change)] - (start + 16) / 16000)
    return tuple(1000 * np.percentile(found, [25, 50, 75]))


def realigned_label_gap(corpus: Corpus, record: dict) -> np.ndarray:
    """The lip gap of the record's label remade on forced-aligned phones instead of espeak's events
    (same engine, emotion, intensity and label seed as `corpus.build`)."""
    from dreamtalk.align.sphinx import align
    from dreamtalk.core.request import EmotionKey
    from dreamtalk.procedural.engine import animate

    audio = corpus.audio(record)
    curves = animate(audio, 16000, align(audio, 16000, record["text"]), FPS,
                     [EmotionKey(0.0, record["emotion"], record["intensity"])], seed=record["label_seed"])
    return lipsync.lip_gap(curves.values)[: record["num_frames"]]


def probe(corpus: Corpus, version: str, count: int, realigned: bool = False, alpha: float = 1000.0) -> np.ndarray:
    """Ridge weights (D + 1,) from one frame's features (z-scored per utterance) to the label lip gap
    (the corpus label, or with `realigned` the label remade on forced-aligned phones)."""
    from dreamtalk.features import get_frontend

    frontend = get_frontend("whisper", version)
    gram, cross = 0.0, 0.0
    for record in spread(corpus.select("train", "espeak"), count):
        y = realigned_label_gap(corpus, record) if realigned else lipsync.lip_gap(corpus.curves(record).values)
        x = zscore(corpus.features(record, frontend))[: len(y)]
        gram, cross = gram + x.T @ x, cross + x.T @ y[: len(x)]
    penalty = alpha * np.eye(len(gram))
    penalty[-1, -1] = 0.0
    return np.linalg.solve(gram + penalty, cross)


def zscore(features: np.ndarray) -> np.ndarray:
    z = (features - features.mean(0)) / (features.std(0) + 1e-5)
    return np.concatenate([z, np.ones((len(z), 1), z.dtype)], axis=1)


def feature_lines(corpus: Corpus, count: int) -> list[str]:
    from dreamtalk.evaluation.validation_set import SETS, load_set
    from dreamtalk.features import get_frontend, whisper

    quartiles = {v: click_offsets(v) for v in whisper.VERSIONS}
    lines = ["### 3. Features", "", "Clicks through the whole encoder (40 clicks): the most changed state is placed "
             + ", ".join(f"{q[1]:+.0f} ms after the click (quartiles {q[0]:+.0f} / {q[2]:+.0f} ms; {v})"
                         for v, q in quartiles.items())
             + ". Through the convolutions alone the change peaks exactly at the state centred on the click "
             "(tests/test_whisper_encoder.py); base-ct2-1 places states 10 ms later than that.", "", "Frame-wise linear probe (features of frame t -> label lip gap at t), pooled lag:", "",
             "| set | " + " | ".join(f"{v}, corpus labels" for v in whisper.VERSIONS)
             + f" | {whisper.VERSION_EXACT}, labels remade on forced-aligned phones |", "|---|---|---|---|"]
    weights = [(v, probe(corpus, v, count)) for v in whisper.VERSIONS]
    weights.append((whisper.VERSION_EXACT, probe(corpus, whisper.VERSION_EXACT, count, realigned=True)))
    for voice_set in SETS:
        if voice_set.kind == "long":
            continue
        clips, cells = load_set(voice_set), []
        for version, w in weights:
            fe = get_frontend("whisper", version)
            pooled = [(zscore(fe(c["audio"], 16000, FPS, int(round(len(c["audio"]) / 16000 * FPS)))) @ w,
                       phones_of(c)) for c in clips]
            cells.append(f"{lipsync.phone_locked_lag(pooled, FPS, 5, 0.25):+.2f}")
        lines.append(f"| {voice_set.name} | " + " | ".join(cells) + " |")
    return lines


def xcorr_lag(out: np.ndarray, given: np.ndarray, max_lag: int = 4) -> int:
    """Lag (frames, + = output later) maximising the correlation of `out` with `given`."""
    scores = {k: np.corrcoef(out[max(0, k): len(out) + min(0, k)], given[max(0, -k): len(given) - max(0, k)])[0, 1]
              for k in range(-max_lag, max_lag + 1)}
    return max(scores, key=scores.get)


def model_lines(folder: Path) -> list[str]:
    from dreamtalk.evaluation.validation_set import SETS, load_set

    gaps = np.load(folder / "validation_gaps.npz")
    engines = ("emodiff-norefine", "emodiff", "procedural")
    lines = ["### 4. Models (pooled lag; per-clip mean in brackets)", "",
             "| set | " + " | ".join(engines) + " | refiner's own shift (median over clips) |", "|---|---|---|---|---|"]
    for voice_set in SETS:
        clips = load_set(voice_set)
        cells = []
        for engine in engines:
            pairs = [(gaps[f"{voice_set.name}/{engine}/{i}"], phones_of(c)) for i, c in enumerate(clips)]
            per = [lipsync.phone_locked_lag([p], FPS) for p in pairs]
            cells.append(f"{lipsync.phone_locked_lag(pairs, FPS, 5, 0.25):+.2f} ({np.nanmean(per):+.2f})")
        shift = [xcorr_lag(gaps[f"{voice_set.name}/emodiff/{i}"], gaps[f"{voice_set.name}/emodiff-norefine/{i}"])
                 for i in range(len(clips))]
        lines.append(f"| {voice_set.name} | " + " | ".join(cells) + f" | {np.median(shift):+.0f} |")
    if "espeak-heldout/emodiff/0" in gaps:
        clips = load_set(SETS[0])
        for engine in engines:
            pairs = [(gaps[f"espeak-heldout/{engine}/{i}"], phones_of({"phones": c["phones_espeak"]}))
                     for i, c in enumerate(clips)]
            lines.append(f"| espeak-heldout, against espeak's events | {engine}: "
                         f"{lipsync.phone_locked_lag(pairs, FPS, 5, 0.25):+.2f} | | | |")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--corpus", required=True)
    parser.add_argument("--validation", required=True, help="output folder of a validation run")
    parser.add_argument("--utterances", type=int, default=30, help="corpus test utterances for stages 1-2")
    parser.add_argument("--probe-utterances", type=int, default=300, help="training utterances for the probe")
    parser.add_argument("--stages", default="1,3,4", help="1: reference phones and labels, 3: features, 4: models")
    args = parser.parse_args()
    corpus, stages = Corpus(args.corpus), args.stages.split(",")
    blocks = {"1": lambda: reference_and_labels(corpus, args.utterances),
              "3": lambda: feature_lines(corpus, args.probe_utterances),
              "4": lambda: model_lines(Path(args.validation))}
    for stage in stages:
        print("\n".join(blocks[stage]()) + "\n")


if __name__ == "__main__":
    main()
