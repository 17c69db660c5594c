"""The validation protocol's figures on DEVELOPMENT material (issue 18 phase 2): what settings and
checkpoints are chosen on, so the validation sets (docs/EVAL.md) stay unseen.

Sets (from a corpus built with `dreamtalk corpus build ... --mbrola-hours H`):
  espeak-test   corpus test split, espeak-ng voices held out of training (m3, f2, benjamin, belinda)
  mbrola-val    corpus val split, MBROLA voice us3 (held out of training)
  real-dev      the 100 real prompts the harness's `--limit 100` picks (not the validation set's 24)
  espeak-prose  read sentences of the prose development pool (`corpus.prose`, never in training shards)
                spoken by the test-split espeak-ng variants at espeak's default rate, like espeak-heldout
  mbrola-prose  the same sentences (another stretch of the pool) spoken by MBROLA us3
  espeak-dense  the pool's sentences densest in p/b/m (most per word first; like the validation sets'
                bilabial-dense sentences) spoken by the test-split espeak-ng variants
  mbrola-dense  the same sentences spoken by MBROLA us3
  espeak-harvard / mbrola-harvard  40 Harvard sentences of lists 4-9 (the validation sets read lists 1-3),
                spoken by the test-split espeak-ng variants / MBROLA us3
The three word-list sets are corpus records of the random-word text source (not the read-sentence
shards). Phones: the record's (forced alignment, or the synthesizer's phones retimed on it), the same
reference as the validation sets; the prose sets are forced-aligned with their transcript here. Each
clip's emotion cycles over 8 emotions x 3 levels as in the protocol.

The read-sentence sets are also read against the synthesizer's own phones (MBROLA's .pho timings, espeak-ng's
phone events): rows "ENGINE vs the synthesizer's phones", timings the aligner did not make.
Every set also gets the reference rows of the validation protocol (a mouth that follows the phones exactly,
`lipsync.reference_gap`; `--reference-holds` adds ones whose closures are held longer, as the procedural
engine holds them) and, for the first engine, where its open-vs-closed AUC is lost (`--auc-losses`).

Usage: .venv/bin/python bench/dev_eval.py --corpus .cache/corpus-v2 --engines emodiff,emodiff-norefine
       --limit 24 [--sets espeak-test,real-dev] [--reference-holds 0,10,20] [--auc-losses] [--out .cache/dev/NAME.json]
Env: DREAMTALK_EMODIFF_CHECKPOINT / DREAMTALK_LIP_CHECKPOINT pick the checkpoints. Prints markdown.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from dreamtalk.corpus.store import Corpus, phones_of
from dreamtalk.evaluation import lipsync
from dreamtalk.evaluation.protocol import (
    ENGINES,
    REFERENCE,
    ValidationConfig,
    gaps_summary,
    reference_summary,
    run_clip,
    summarise,
)
from dreamtalk.procedural.visemes import BILABIALS, OPEN_VOWELS

SYNTH = " vs the synthesizer's phones"  # rows read against MBROLA's .pho / espeak-ng's events (read sentences)
# set: (corpus split, source, the clips it is drawn from: real-dev only the harness's 100, the others any)
SETS = {"espeak-test": ("test", "espeak", None), "mbrola-val": ("val", "mbrola", None), "real-dev": ("real", "real", 100)}
ESPEAK_TEST = ("m3", "f2", "benjamin", "belinda")
PROSE_SETS = {"espeak-prose": ("spread 0", ESPEAK_TEST), "mbrola-prose": ("spread 3", ("us3",)),
              "espeak-dense": ("densest", ESPEAK_TEST), "mbrola-dense": ("densest", ("us3",)),
              "espeak-harvard": ("harvard", ESPEAK_TEST), "mbrola-harvard": ("harvard", ("us3",))}
# Harvard sentences (IEEE 1969) of lists 4-9, none of the validation sets' (lists 1-3): the same kind of text
HARVARD_DEV = (
    "The spot on the blotter was made by green ink.", "Mud was spattered on the front of his white shirt.",
    "The cigar burned a hole in the desk top.", "The empty flask stood on the tin tray.",
    "A speedy man can beat this track mark.", "He broke a new shoelace that day.",
    "The coffee stand is too high for the couch.", "The urge to write short stories is rare.",
    "The pirates seized the crew of the lost ship.", "She sewed the torn coat quite neatly.",
    "Hoist the load to your left shoulder.", "Take the winding path to reach the lake.",
    "Note closely the size of the gas tank.", "Wipe the grease off his dirty face.",
    "Mend the coat before you go out.", "The wrist was badly strained and hung limp.",
    "The stray cat gave birth to kittens.", "The young girl gave no clear response.",
    "The meal was cooked before the bell rang.", "What joy there is in living.",
    "A king ruled the state in the early days.", "The ship was torn apart on the sharp reef.",
    "Sickness kept him home the third week.", "The wide road shimmered in the hot sun.",
    "The lazy cow lay in the cool grass.", "Lift the square stone over the fence.",
    "The rope will bind the seven books at once.", "Hop over the fence and plunge in.",
    "The friendly gang left the drug store.", "Mesh wire keeps chicks inside.",
    "The frosty air passed through the coat.", "The crooked maze failed to fool the mouse.",
    "Adding fast leads to wrong sums.", "The show was a flop from the very start.",
    "A saw is a tool used for making boards.", "The wagon moved on well oiled wheels.",
    "March the soldiers past the next hill.", "A cup of sugar makes sweet fudge.",
    "Place a rosebush near the porch steps.", "Both lost their lives in the raging storm.",
)
COLUMNS = ("closure_rate", "open_bilabial_auc", "lag_mean", "lag_abs_mean", "lag_worst", "lag_pooled",
           "blinks_per_min", "blink_complete", "emotion_accuracy", "contrast", "upper_sd")


def spread(records: list[dict], count: int) -> list[dict]:
    return [records[i] for i in np.linspace(0, len(records) - 1, min(count, len(records))).round().astype(int)]


def dev_clips(corpus: Corpus, name: str, limit: int | None) -> list[dict]:
    if name in PROSE_SETS:
        return prose_clips(name, limit or 24)
    split, source, pool = SETS[name]
    words = [r for r in corpus.select(split, source) if r.get("text_source", "words") == "words"]
    records = spread(words, pool) if pool else words  # real-dev: the harness's 100
    records = spread(records, limit) if limit else records
    return [{"id": r["id"], "set": name, "voice": r["speaker"], "text": r["text"], "phones": r["phones"],
             "audio": corpus.audio(r)} for r in records]


def prose_clips(name: str, count: int) -> list[dict]:
    """`count` sentences of the set's kind (`set_texts`) spoken by the set's voices, forced-aligned with their
    transcript."""
    from dreamtalk.evaluation.validation_set import aligned_clip

    kind, voices = PROSE_SETS[name]
    clips = []
    for i, text in enumerate(set_texts(kind, count)):
        audio, rate, spoken = speak(text, voices[i % len(voices)])
        clips.append(aligned_clip(name, i, audio, rate, text, voices[i % len(voices)]) | {"phones_synth": spoken})
    return clips


def set_texts(kind: str, count: int) -> list[str]:
    """'spread K': every 7th development-pool sentence from the K-th; 'densest': the pool's sentences with
    the most p/b/m per word; 'harvard': Harvard sentences of lists 4-9."""
    from dreamtalk.corpus.prose import pool

    if kind == "harvard":
        return list(HARVARD_DEV[:count])
    sentences = pool("dev")
    if kind == "densest":
        return sorted(sentences, key=bilabials_per_word, reverse=True)[:count]
    offset = int(kind.split()[1])
    return [sentences[(i * 7 + offset) % len(sentences)] for i in range(count)]


def bilabials_per_word(sentence: str) -> float:
    """p/b/m phones per word in the CMU dictionary's first pronunciations."""
    from dreamtalk.align.metrics import cmu_dictionary
    from dreamtalk.corpus.prose import words_of
    from dreamtalk.procedural.visemes import BILABIALS

    words, dictionary = words_of(sentence), cmu_dictionary()
    return sum(phone in BILABIALS for word in words for phone in dictionary[word][0]) / len(words)


def speak(text: str, voice: str) -> tuple[np.ndarray, int, list]:
    """(audio, rate, the synthesizer's own phones): an espeak-ng en-us variant at its default rate (its phone
    events), or an MBROLA voice at 160 wpm (its .pho timings)."""
    from dreamtalk.corpus import mbrola

    if voice in mbrola.VOICES:
        return mbrola.synthesize(text, mbrola.MbrolaSettings(voice, "m3", 160, 0.0, 1.0, 1.0))
    from dreamtalk.align.espeak import synthesize

    speech = synthesize(text, "en-us", variant=voice)
    return speech.audio, speech.sample_rate, speech.phones


def auc_losses(gap: np.ndarray, phones: list, fps: float = 25.0) -> dict[str, float]:
    """The clip's open-vs-closed AUC lost (`lipsync.open_vs_bilabial_auc`: 1 - AUC), split by what the losing
    pairs are: an open vowel shut at its centre frame against a shut p/b/m, an open vowel barely open, or a p/b/m
    left open (shut: at most `lipsync.shut_threshold`, 25% of the 95th-percentile gap); and by the vowel."""
    def centre(p) -> float:
        return float(gap[lipsync.centre_frame(p, fps, len(gap))])

    shut = lipsync.shut_threshold(gap)
    opens = [(lipsync.base_phone(p), centre(p)) for p in phones if lipsync.base_phone(p) in OPEN_VOWELS]
    closed = [centre(p) for p in phones if lipsync.base_phone(p) in BILABIALS]
    losses: dict[str, float] = {}
    for vowel, a in opens:
        for b in closed:
            lost = (1.0 if a < b else 0.5 if a == b else 0.0) / (len(opens) * len(closed))
            kind = ("p/b/m open" if b > shut else "vowel shut" if a <= shut else "vowel barely open")
            for key in (kind, vowel) if lost else ():
                losses[key] = losses.get(key, 0.0) + lost
    return losses


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--corpus", required=True)
    parser.add_argument("--engines", default="emodiff")
    parser.add_argument("--sets", default=",".join((*SETS, *PROSE_SETS)))
    parser.add_argument("--limit", type=int, default=24, help="clips per set (spread evenly)")
    parser.add_argument("--reference-holds", default="0", help="ms, comma-separated: reference rows with closures "
                        "held this much beyond their phones")
    parser.add_argument("--auc-losses", action="store_true", help="print where the first engine's AUC is lost")
    parser.add_argument("--out", help="write rows and summary as JSON here")
    args = parser.parse_args()
    from dreamtalk.evaluation.classifier import load_classifier

    corpus, classifier = Corpus(args.corpus), load_classifier()
    cfg = ValidationConfig(engines=tuple(args.engines.split(",")))
    assert all(e in ENGINES for e in cfg.engines)
    summary, rows = {}, []
    for name in args.sets.split(","):
        clips, gaps, set_rows = dev_clips(corpus, name, args.limit), {e: [] for e in cfg.engines}, []
        for index, clip in enumerate(clips):
            clip_rows, clip_gaps = run_clip(cfg, clip, index, classifier)
            set_rows += clip_rows
            for engine, gap in clip_gaps.items():
                gaps[engine].append(gap)
        phones = [phones_of(c) for c in clips]
        summary[name] = {e: summarise([r for r in set_rows if r["engine"] == e], gaps[e], phones) for e in cfg.engines}
        first = gaps[cfg.engines[0]]
        for hold in (float(h) for h in args.reference_holds.split(",")):
            label = REFERENCE + (f", closures held {hold:g} ms" if hold else "")
            summary[name][label] = reference_summary([c["id"] for c in clips], phones, [len(g) for g in first],
                                                     hold=hold / 1000.0)
        if all("phones_synth" in c for c in clips):  # read sentences: also against the synthesizer's timing
            synth = [c["phones_synth"] for c in clips]
            for engine in cfg.engines:
                summary[name][engine + SYNTH] = gaps_summary([c["id"] for c in clips], gaps[engine], synth)
        if args.auc_losses:
            losses: dict[str, float] = {}
            for gap, clip_phones in zip(first, phones):
                for key, lost in auc_losses(gap, clip_phones).items():
                    losses[key] = losses.get(key, 0.0) + lost
            total = sum(v for k, v in losses.items() if k not in OPEN_VOWELS) or 1.0
            print(f"{name}: AUC lost {total:.3f} over {len(clips)} clips: " + ", ".join(
                f"{k} {v / total:.0%}" for k, v in sorted(losses.items(), key=lambda kv: -kv[1])))
        rows += set_rows
    print("| set | engine | " + " | ".join(COLUMNS) + " |\n|" + "---|" * (len(COLUMNS) + 2))
    for name, engines in summary.items():
        for engine, fig in engines.items():
            print(f"| {name} | {engine} | " + " | ".join(
                "n/a" if fig.get(c) is None else f"{fig[c]:.3f}" if isinstance(fig[c], float) else str(fig[c])
                for c in COLUMNS) + " |")
    if args.out:
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text(json.dumps({"summary": summary, "rows": rows}, indent=1, default=str))


if __name__ == "__main__":
    main()
