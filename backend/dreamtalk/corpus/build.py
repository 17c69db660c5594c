"""`dreamtalk corpus build`: synthesized emotional speech (+ real speech) labelled by the procedural engine.

Reproducible: utterance i of shard k depends only on (seed, k, i), so the same seed gives the same
corpus on any machine, and a build can stop and resume (complete shards are kept, missing ones built).
The corpus is the shortest prefix of synthesized shards reaching `hours`; MBROLA voices (`mbrola_hours`,
shards `mb-*`, built the same way), read sentences (`prose_hours`, shards `pr-*`: fortune-cookie sentences
from `corpus.prose` spoken by espeak-ng or MBROLA voices) and real speech come on top. Labels are
`procedural.engine.animate` on the synthesizer's phones retimed on forced alignment (`corpus.labels`; `--label-timing events` for
espeak-ng's events as before issue 18) or on forced-aligned phones (real speech), without blinks unless
asked for.
"""

from __future__ import annotations

import multiprocessing
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..core.errors import InputError
from . import store
from .labels import DEFAULT as DEFAULT_LABELS
from .labels import LabelConfig, label_phones, make_labels, of_header
from .texts import random_sentence
from .voices import sample_emotion, sample_voice, split_of, with_ending

SHARD_SIZE = 24  # utterances per synthesized shard (~70-90 s of speech)


@dataclass(frozen=True)
class BuildConfig:
    """Settings of one corpus build (all recorded in corpus.json)."""

    hours: float  # target hours of synthesized speech
    seed: int = 0  # master seed: same seed, same corpus
    workers: int = 2  # parallel processes
    real: bool = True  # add real transcribed speech (Debian asterisk-core-sounds-en) when installed
    real_limit: int | None = None  # at most this many real utterances (None: all)
    shard_size: int = SHARD_SIZE  # utterances per synthesized shard (part of the corpus identity)
    labels: LabelConfig = DEFAULT_LABELS  # label timing and blinks (part of the corpus identity)
    mbrola_hours: float = 0.0  # hours of MBROLA-voice speech on top (Debian mbrola voices; 0: none)
    prose_hours: float = 0.0  # hours of read sentences on top (espeak-ng and MBROLA voices; 0: none)


PROSE_MBROLA_SHARE = 0.5  # share of the read sentences spoken by MBROLA voices (the rest: espeak-ng)


def synth_item(seed: int, shard: int, index: int, labels: LabelConfig = DEFAULT_LABELS) -> store.Item:
    """Utterance `index` of synthesized shard `shard`: random sentence, speaker, emotion, prosody."""
    rng = np.random.default_rng([seed, shard, index])
    return espeak_item(f"syn-{seed}-{shard:05d}-{index:02d}", sample_emotion(rng), rng, labels, random_sentence)


def mbrola_item(seed: int, shard: int, index: int, labels: LabelConfig = DEFAULT_LABELS) -> store.Item:
    """Utterance `index` of MBROLA shard `shard`: as `synth_item`, spoken by an MBROLA voice."""
    rng = np.random.default_rng([seed, shard, index, 1])
    return mbrola_voice_item(f"mb-{seed}-{shard:05d}-{index:02d}", sample_emotion(rng), rng, labels, random_sentence)


def prose_item(seed: int, shard: int, index: int, labels: LabelConfig = DEFAULT_LABELS) -> store.Item:
    """Utterance `index` of read-sentence shard `shard`: a training-pool sentence of `corpus.prose`, spoken
    by an espeak-ng or an MBROLA voice."""
    from .prose import prose_sentence

    rng = np.random.default_rng([seed, shard, index, 2])
    make = mbrola_voice_item if rng.random() < PROSE_MBROLA_SHARE else espeak_item
    item = make(f"pr-{seed}-{shard:05d}-{index:02d}", sample_emotion(rng), rng, labels, prose_sentence)
    item.record["text_source"] = "prose"
    return item


def espeak_item(item_id: str, emotion: tuple, rng: np.random.Generator, labels: LabelConfig,
                sentence: Callable[[np.random.Generator], str]) -> store.Item:
    """A sampled espeak-ng voice (then a `sentence` drawn with `rng`, its ending fitted to the emotion),
    labelled."""
    from .speech import fresh_synthesize

    name, _, intensity = emotion
    voice = sample_voice(rng, name, intensity)
    text = with_ending(sentence(rng), name, rng)
    speech = fresh_synthesize(text, voice)
    audio = store.to_corpus_rate(speech.audio, speech.sample_rate)
    record = {"id": item_id, "source": "espeak", "speaker": voice.variant, "split": split_of(voice.variant),
              "voice": voice.as_dict()}
    return labelled(audio, text, speech.phones, record, emotion, rng, labels)


def mbrola_voice_item(item_id: str, emotion: tuple, rng: np.random.Generator, labels: LabelConfig,
                      sentence: Callable[[np.random.Generator], str]) -> store.Item:
    """As `espeak_item`, with a sampled MBROLA voice."""
    from . import mbrola

    name, _, intensity = emotion
    settings = mbrola.sample_settings(rng, name, intensity)
    text = with_ending(sentence(rng), name, rng)
    audio, rate, phones = mbrola.synthesize(text, settings)
    record = {"id": item_id, "source": "mbrola", "speaker": f"mbrola-{settings.voice}",
              "split": mbrola.split_of(settings.voice), "voice": settings.as_dict()}
    return labelled(store.to_corpus_rate(audio, rate), text, phones, record, emotion, rng, labels)


def labelled(audio: np.ndarray, text: str, events, record: dict, emotion: tuple, rng: np.random.Generator,
             labels: LabelConfig) -> store.Item:
    """The item with its labels: phones timed as `labels` says, the procedural engine on them (seeded)."""
    name, level, intensity = emotion
    phones, timing = label_phones(audio, store.SAMPLE_RATE, text, events, record["source"], labels)
    label_seed = int(rng.integers(2**31))
    curves = make_labels(audio, store.SAMPLE_RATE, phones, store.FPS, name, intensity, label_seed, labels)
    record |= {"text": text, "emotion": name, "level": level, "intensity": intensity, "label_seed": label_seed,
               "labels": store.LABELER, "label_timing": timing, "phones": store.encode_phones(phones),
               "phones_events": store.encode_phones(events)}
    return store.Item(audio, curves, record)


def build_synth_shard(root: str, seed: int, shard: int, size: int = SHARD_SIZE,
                      labels: LabelConfig = DEFAULT_LABELS, kind: str = "syn") -> float:
    """Build (or reuse) synthesized shard `shard` (`kind` 'syn': espeak-ng, 'mb': MBROLA, 'pr': read
    sentences); return its seconds of audio."""
    name = f"{kind}-{shard:05d}"
    if name in store.shard_names(Path(root)):
        records = store.read_records(Path(root), name)
    else:
        make = ITEM_MAKERS[kind]
        records = store.write_shard(Path(root), name, [make(seed, shard, i, labels) for i in range(size)])
    return sum(r["num_samples"] for r in records) / store.SAMPLE_RATE


ITEM_MAKERS = {"syn": synth_item, "mb": mbrola_item, "pr": prose_item}
STAGES = {"syn": "synth", "mb": "mbrola", "pr": "prose"}


def _build_synth(root: Path, cfg: BuildConfig, progress: Callable[[str, float], None], kind: str = "syn",
                 hours: float | None = None) -> int:
    """Build synthesized shards of `kind` in parallel batches until their prefix reaches `hours`."""
    target, total, shard = (cfg.hours if hours is None else hours) * 3600.0, 0.0, 0
    ctx = multiprocessing.get_context("spawn" if cfg.workers > 1 else None)
    pool = ctx.Pool(cfg.workers) if cfg.workers > 1 else None
    try:
        while total < target:
            batch = list(range(shard, shard + max(1, cfg.workers) * 2))
            args = [(str(root), cfg.seed, k, cfg.shard_size, cfg.labels, kind) for k in batch]
            seconds = pool.starmap(build_synth_shard, args) if pool else [build_synth_shard(*a) for a in args]
            for k, s in zip(batch, seconds):
                if total < target:
                    total, shard = total + s, k + 1
                progress(STAGES[kind], min(total / target, 1.0))
    finally:
        if pool:
            pool.close()
            pool.join()
    prefix = f"{kind}-"
    for extra in store.shard_names(root):  # shards past the prefix (last batch, or an earlier bigger build)
        if extra.startswith(prefix) and int(extra[len(prefix):]) >= shard:
            for suffix in (".json", ".npz"):
                (root / "shards" / f"{extra}{suffix}").unlink(missing_ok=True)
    return shard


def build(out: str | Path, cfg: BuildConfig, progress: Callable[[str, float], None] | None = None) -> dict:
    """Build or resume the corpus at `out`; return a summary (utterances, hours per split)."""
    root = Path(out)
    progress = progress or (lambda stage, fraction: None)
    if cfg.hours <= 0:
        raise InputError("--hours must be positive")
    _check_resume(root, cfg)
    root.mkdir(parents=True, exist_ok=True)
    from ..features import default_name

    store.write_header(root, {"seed": cfg.seed, "hours": cfg.hours, "shard_size": cfg.shard_size,
                              "labels": store.LABELER, "real": cfg.real, "default_frontend": default_name(),
                              "mbrola_hours": cfg.mbrola_hours, "prose_hours": cfg.prose_hours}
                      | cfg.labels.header())
    shards = _build_synth(root, cfg, progress)
    if cfg.mbrola_hours > 0:
        shards += _build_synth(root, cfg, progress, "mb", cfg.mbrola_hours)
    if cfg.prose_hours > 0:
        shards += _build_synth(root, cfg, progress, "pr", cfg.prose_hours)
    real = 0
    if cfg.real:
        from .real import build_real

        real = build_real(root, cfg, progress)
    store.write_manifest(root)
    return summary(store.Corpus(root)) | {"synth_shards": shards, "real_utterances": real}


def _check_resume(root: Path, cfg: BuildConfig) -> None:
    """Refuse to resume into a folder that is not a corpus, or one built from another seed."""
    if not root.exists():
        return
    if not root.is_dir():
        raise InputError(f"{root} exists and is not a folder")
    if not (root / "corpus.json").is_file():
        if any(root.iterdir()):
            raise InputError(f"{root} is not empty and not a corpus; choose a new folder")
        return
    header = store.Corpus(root).header
    if header.get("seed") != cfg.seed or header.get("shard_size", SHARD_SIZE) != cfg.shard_size:
        raise InputError(f"{root} was built with --seed {header.get('seed')}; resume with the same seed "
                         "or use a new folder")
    if of_header(header) != cfg.labels:
        built = of_header(header)
        raise InputError(f"{root} was built with --label-timing {built.timing}"
                         f"{' --label-blinks' if built.blinks else ''}; resume with the same or use a new folder")


def summary(corpus: store.Corpus) -> dict:
    """Utterance count and hours per split and source."""
    out: dict = {"utterances": len(corpus.records), "hours": {}}
    for r in corpus.records:
        key = f"{r['source']}/{r['split']}"
        out["hours"][key] = out["hours"].get(key, 0.0) + r["num_samples"] / store.SAMPLE_RATE / 3600.0
    out["hours"] = {k: round(v, 4) for k, v in sorted(out["hours"].items())}
    return out
