"""Phone timings for any English speech with pocketsphinx 5 (en-us acoustic model from the wheel).

With a transcript: two-pass forced alignment (`Decoder.set_align_text`, then `set_alignment`). Words the
dictionary lacks get pronunciations from espeak-ng's phonemes (mapped to ARPAbet). Without a transcript,
or when alignment fails: phone recognition with the en-us phone language model (`allphone`).
Audio is padded with 0.3 s and dithered (1e-3, seeded) first: on digitally silent TTS audio pocketsphinx
otherwise fails; the padding is removed from the returned times.
"""

from __future__ import annotations

import logging
import os
import re
import unicodedata

import numpy as np

from ..core.audio import prepare_audio
from ..core.errors import InputError
from .phones import SILENCE, PhoneSegment, normalise, tidy

RATE = 16000  # Hz: the en-us acoustic model's rate
PAD = 0.3  # s of padding on each side
FRAME = 0.01  # s: pocketsphinx frame length
log = logging.getLogger(__name__)


def _model_dir() -> str:
    from pocketsphinx import get_model_path

    return os.path.join(get_model_path(), "en-us")


WIDE_BEAMS = {"beam": 1e-80, "wbeam": 1e-60, "pbeam": 1e-80}  # a second try for audio the defaults lose


def _decoder(kind: str, beams: dict | None = None):
    """A fresh decoder: 'align' (dictionary, forced alignment) or 'phones' (allphone); `beams` overrides
    pocketsphinx's pruning beams (alignment only).

    Fresh on every call (~0.2 s): a reused pocketsphinx decoder keeps state from its first utterance,
    so the same audio could get different phones on a later call; results must be reproducible."""
    from pocketsphinx import Decoder

    if kind == "phones":
        lm = os.path.join(_model_dir(), "en-us-phone.lm.bin")
        return Decoder(samprate=RATE, allphone=lm, lm=None, lw=2.0, beam=1e-20, pbeam=1e-20,
                       loglevel="FATAL")
    return Decoder(samprate=RATE, bestpath=False, loglevel="FATAL", **(beams or {}))


def _pcm(audio: np.ndarray) -> bytes:
    """Pad, dither and convert to 16-bit PCM bytes."""
    pad = np.zeros(int(PAD * RATE), np.float32)
    rng = np.random.default_rng(len(audio))
    padded = np.concatenate([pad, audio, pad])
    padded = padded + 1e-3 * rng.standard_normal(len(padded)).astype(np.float32)
    return (np.clip(padded, -1.0, 1.0) * 32767).astype(np.int16).tobytes()


def transcript_words(text: str) -> list[str]:
    """Lower-case words of a transcript: accents folded (NFKD), punctuation dropped, apostrophes kept.

    Numbers stay whole ("28.8", "500"): their pronunciation comes from espeak-ng's number reading."""
    folded = unicodedata.normalize("NFKD", text.lower()).encode("ascii", "ignore").decode()
    return [w.strip("'") for w in re.findall(r"\d+(?:[.,]\d+)*|[a-z]+(?:'[a-z]+)*", folded) if w.strip("'")]


def _ensure_words(decoder, words: list[str]) -> list[str]:
    """Add espeak-derived pronunciations (ARPAbet) for words the dictionary does not know (names, numbers);
    returns `words` without those that have none (dropped with a warning)."""
    from .espeak import synthesize

    unknown = set()
    for word in sorted(set(words)):
        if decoder.lookup_word(word) is not None:
            continue
        phones = [p.phone for p in synthesize(word).phones if p.phone != SILENCE]
        if not phones:
            log.warning("no pronunciation for %r: left out of the alignment", word)
            unknown.add(word)
            continue
        if not word.isdigit():
            log.warning("pronunciation of %r guessed from espeak-ng: %s", word, " ".join(phones))
        decoder.add_word(word, " ".join(phones), True)
    return [w for w in words if w not in unknown]


def forced_alignment(audio16: np.ndarray, transcript: str, beams: dict | None = None) -> list[PhoneSegment]:
    """Two-pass forced alignment of 16 kHz audio to `transcript` (`beams`: see `_decoder`)."""
    words = transcript_words(transcript)
    if not words:
        raise InputError("the transcript has no words")
    decoder = _decoder("align", beams)
    words = _ensure_words(decoder, words)
    if not words:
        raise InputError("no word of the transcript has a pronunciation")
    pcm = _pcm(audio16)
    decoder.set_align_text(" ".join(words))
    for second_pass in (False, True):
        if second_pass:
            decoder.set_alignment()
        decoder.start_utt()
        decoder.process_raw(pcm, full_utt=True)
        decoder.end_utt()
    segments = [
        PhoneSegment(normalise(phone.name), phone.start * FRAME - PAD, (phone.start + phone.duration) * FRAME - PAD)
        for word in decoder.get_alignment() for phone in word
    ]
    if not any(s.phone != SILENCE for s in segments):
        raise InputError("forced alignment found no speech matching the transcript")
    return segments


def forced_alignment_any_beams(audio16: np.ndarray, transcript: str) -> list[PhoneSegment]:
    """`forced_alignment` with pocketsphinx's default beams, then with `WIDE_BEAMS` for audio those lose (some
    voices fail the defaults with "Failed to set up sub-word alignment"); raises the wide try's error when
    both fail."""
    try:
        return forced_alignment(audio16, transcript)
    except (InputError, RuntimeError, ValueError):  # no path through the words within the default beams
        return forced_alignment(audio16, transcript, WIDE_BEAMS)


def phone_recognition(audio16: np.ndarray) -> list[PhoneSegment]:
    """Phones recognised without a transcript (en-us phone language model)."""
    decoder = _decoder("phones")
    decoder.start_utt()
    decoder.process_raw(_pcm(audio16), full_utt=True)
    decoder.end_utt()
    return [
        PhoneSegment(normalise(seg.word), seg.start_frame * FRAME - PAD, (seg.end_frame + 1) * FRAME - PAD)
        for seg in decoder.seg()
    ]


def align(audio: np.ndarray, sample_rate: int, transcript: str | None = None) -> list[PhoneSegment]:
    """Contiguous ARPAbet phones covering the audio; forced alignment if a transcript is given."""
    audio16, _ = prepare_audio(audio, sample_rate, RATE)
    duration = len(audio16) / RATE
    segments: list[PhoneSegment] = []
    if transcript and transcript.strip():
        try:
            segments = forced_alignment_any_beams(audio16, transcript)
        except (InputError, RuntimeError, ValueError) as exc:
            log.warning("forced alignment failed (%s); recognising phones instead", exc)
    if not segments:
        segments = phone_recognition(audio16)
    if not any(s.phone != SILENCE for s in segments):
        raise InputError("no speech found in the audio")
    return tidy(segments, duration)
