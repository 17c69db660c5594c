"""The validation sets of the lip-sync protocol (docs/EVAL.md, "Validation protocol"): voices and speakers
that no model trains on and no setting is tuned on, each clip with its transcript and phone timings from
forced alignment with that transcript (pocketsphinx, `align.sphinx.align`) - the same for every voice,
synthesized or real. Built once into `$DREAMTALK_CACHE/validation/VERSION/` (audio at 16 kHz + records).

Sentences: 30 Harvard sentences (IEEE 1969, lists 1-3, public domain) and 6 written for this set, dense
in p/b/m; none comes from the corpus text generator (random common words).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np

from ..align.debian import cache_dir
from ..core.audio import prepare_audio
from ..core.formats import atomic_write

VERSION = "2"  # 2: long-flite carries its text (precise mode and the procedural engine get the transcript)
RATE = 16000
BILABIAL_DENSE = ("Maybe the baby will bring a map to the big market by the pub.",
                  "Please put the purple blanket back before my mother comes home.",
                  "Bob bought a bamboo boat and paddled past the pier.",
                  "My mom made pumpkin pie for the members of the band.",
                  "Peter promised to bring more maple syrup by Monday.",
                  "The bumblebee buzzed above the pale pink blossoms.")
HARVARD = ("The birch canoe slid on the smooth planks.", "Glue the sheet to the dark blue background.",
           "It's easy to tell the depth of a well.", "These days a chicken leg is a rare dish.",
           "Rice is often served in round bowls.", "The juice of lemons makes fine punch.",
           "The box was thrown beside the parked truck.", "The hogs were fed chopped corn and garbage.",
           "Four hours of steady work faced us.", "A large size in stockings is hard to sell.",
           "The boy was there when the sun rose.", "A rod is used to catch pink salmon.",
           "The source of the huge river is the clear spring.", "Kick the ball straight and follow through.",
           "Help the woman get back to her feet.", "A pot of tea helps to pass the evening.",
           "Smoky fires lack flame and heat.", "The soft cushion broke the man's fall.",
           "The salt breeze came across from the sea.", "The girl at the booth sold fifty bonds.",
           "The small pup gnawed a hole in the sock.", "The fish twisted and turned on the bent hook.",
           "Press the pants and sew a button on the vest.", "The swan dive was far short of perfect.",
           "The beauty of the view stunned the young boy.", "Two blue fish swam in the tank.",
           "Her purse was full of useless trash.", "The colt reared and threw the tall rider.",
           "It snowed, rained, and hailed the same morning.", "Read verse out loud for pleasure.")
# a bilabial-dense sentence every sixth place, so every set of 6 or more clips has some
SENTENCES = tuple(s for k in range(6) for s in (BILABIAL_DENSE[k], *HARVARD[5 * k: 5 * k + 5]))


@dataclass(frozen=True)
class VoiceSet:
    """One validation set: a voice family (or a real speaker) and how many clips."""

    name: str  # set name (table row)
    family: str  # what it is, for the tables
    kind: Literal["espeak", "flite", "pico", "librivox", "allison", "long"]  # where the audio comes from
    voices: tuple[str, ...]  # voices cycled over the clips (synthesized kinds)
    clips: int  # number of clips


SETS = (
    VoiceSet("espeak-heldout", "espeak-ng, held-out variants (the training family)", "espeak",
             ("m3", "f2", "benjamin", "belinda"), 24),
    VoiceSet("flite", "Flite (kal16, awb, rms, slt)", "flite", ("kal16", "awb", "rms", "slt"), 32),
    VoiceSet("pico", "SVOX Pico (en-US, en-GB)", "pico", ("en-US", "en-GB"), 24),
    VoiceSet("real-librivox", "real: LibriVox reader, male (pocketsphinx-testdata)", "librivox", (), 5),
    VoiceSet("real-allison", "real: asterisk prompts, female, outside the harness's 100", "allison", (), 24),
    VoiceSet("long-flite", "5 min continuous, Flite awb", "long", ("awb",), 1),
)
LONG_SECONDS = 300.0


def _synthesize(kind: str, text: str, voice: str) -> tuple[np.ndarray, int, list | None]:
    """(audio, rate, espeak's own phones or None)."""
    from . import other_voices

    if kind == "espeak":
        from ..align.espeak import synthesize

        s = synthesize(text, "en-us", variant=voice)
        return s.audio, s.sample_rate, s.phones
    if kind == "pico":
        return (*other_voices.pico(text, voice), None)
    return (*other_voices.flite(text, voice), None)


def aligned_clip(set_name: str, index: int, audio, rate: int, text: str, voice: str, espeak_phones=None) -> dict:
    """Clip `index` of a set: the audio at 16 kHz and its phones forced-aligned with `text` (plus espeak's
    own phones when given)."""
    from ..align.sphinx import align
    from ..corpus.store import encode_phones

    audio16, _ = prepare_audio(audio, rate, RATE)
    clip = {"id": f"{set_name}-{index:03d}", "set": set_name, "voice": voice, "text": text,
            "audio": audio16.astype(np.float32), "phones": encode_phones(align(audio16, RATE, text))}
    if espeak_phones is not None:
        clip["phones_espeak"] = encode_phones(espeak_phones)
    return clip


def allison_rest(count: int) -> list[tuple[str, np.ndarray, int, str]]:
    """`count` asterisk prompts spread over those the harness's `--limit 100` real runs did not use
    (the lip refiner's variants were chosen on those 100)."""
    from ..corpus.real import _prompts

    prompts = _prompts(None)
    used = set(np.linspace(0, len(prompts) - 1, 100).round().astype(int))
    rest = [p for i, p in enumerate(prompts) if i not in used]
    return [rest[i] for i in np.linspace(0, len(rest) - 1, count).round().astype(int)]


def _long_clip(set_: VoiceSet) -> dict:
    """Paragraphs of 12 sentences (shuffled per pass) read by one voice, joined with 0.4 s pauses; the reference
    phones are aligned paragraph by paragraph, the text is the whole transcript."""
    from ..align.sphinx import align

    rng, parts, phones, texts, total = np.random.default_rng(0), [], [], [], 0.0
    while total < LONG_SECONDS:
        order = rng.permutation(len(SENTENCES))
        for k in range(0, len(order), 12):
            text = " ".join(SENTENCES[i] for i in order[k: k + 12])
            audio, rate, _ = _synthesize("flite", text, set_.voices[0])
            audio16 = np.concatenate([prepare_audio(audio, rate, RATE)[0], np.zeros(int(0.4 * RATE), np.float32)])
            phones += [[p.phone, round(p.start + total, 4), round(p.end + total, 4)] for p in align(audio16, RATE, text)]
            parts.append(audio16)
            texts.append(text)
            total += len(audio16) / RATE
    return {"id": f"{set_.name}-000", "set": set_.name, "voice": set_.voices[0], "text": " ".join(texts),
            "audio": np.concatenate(parts), "phones": phones}


def build_set(set_: VoiceSet) -> list[dict]:
    """The clips of one set (audio at 16 kHz, forced-aligned phones)."""
    from .other_voices import librivox

    if set_.kind == "long":
        return [_long_clip(set_)]
    if set_.kind in ("librivox", "allison"):
        source = librivox() if set_.kind == "librivox" else allison_rest(set_.clips)
        return [aligned_clip(set_.name, i, audio, rate, text, name) for i, (name, audio, rate, text) in enumerate(source)]
    clips = []
    for i in range(set_.clips):
        voice, text = set_.voices[i % len(set_.voices)], SENTENCES[i % len(SENTENCES)]
        audio, rate, own = _synthesize(set_.kind, text, voice)
        clips.append(aligned_clip(set_.name, i, audio, rate, text, voice, own))
    return clips


def load_set(set_: VoiceSet, root: Path | None = None) -> list[dict]:
    """The set's clips from the cache, built (and cached atomically) on first use."""
    folder = root or cache_dir() / "validation" / VERSION
    records, arrays = folder / f"{set_.name}.json", folder / f"{set_.name}.npz"
    if not (records.exists() and arrays.exists()):
        clips = build_set(set_)
        folder.mkdir(parents=True, exist_ok=True)
        atomic_write(arrays, lambda f: np.savez(f, **{c["id"]: c["audio"] for c in clips}))
        meta = [{k: v for k, v in c.items() if k != "audio"} for c in clips]
        atomic_write(records, lambda f: f.write(json.dumps(meta, indent=1).encode("utf-8")))
    audio = np.load(arrays)
    return [dict(meta, audio=audio[meta["id"]]) for meta in json.loads(records.read_text(encoding="utf-8"))]
