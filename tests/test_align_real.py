"""Phone alignment on REAL speech: Debian's asterisk-core-sounds-en prompts (one female voice, 8 kHz).

Skipped only where the Debian packages cannot be fetched (no apt); fetched once into the cache.
"""

import numpy as np
import pytest

from dreamtalk.align import ARPABET, SILENCE, phones_for
from dreamtalk.align.real_speech import MIN_WORDS, real_utterances
from dreamtalk.align.sphinx import RATE, forced_alignment
from dreamtalk.core.audio import prepare_audio
from dreamtalk.core.errors import DreamTalkError


@pytest.fixture(scope="module")
def utterances():
    try:
        return list(real_utterances(limit=12))
    except DreamTalkError as exc:
        pytest.skip(f"real speech unavailable here: {exc}")


def test_real_utterances_are_sentences_with_audio(utterances):
    assert len(utterances) == 12
    names = [u[0] for u in utterances]
    assert names == sorted(names) and len(set(names)) == len(names)
    for _name, audio, rate, text in utterances:
        assert rate == 8000 and audio.dtype == np.float32 and audio.ndim == 1
        assert 0.5 < len(audio) / rate < 60 and np.abs(audio).max() > 0.05
        assert len(text.split()) >= MIN_WORDS and "[" not in text


def test_forced_alignment_of_real_speech(utterances):
    """Every prompt aligns (no fallback), at a human speaking rate, with speech where the audio is loud."""
    for _name, audio, rate, text in utterances:
        audio16, _ = prepare_audio(audio, rate, RATE)
        aligned = forced_alignment(audio16, text)
        spoken = [p for p in aligned if p.phone != SILENCE]
        assert {p.phone for p in spoken} <= ARPABET
        rate_ps = len(spoken) / sum(p.duration for p in spoken)
        assert 6 < rate_ps < 18, rate_ps  # measured 7.5-14.8 phones/s over 50 prompts
        assert _loudness_ratio(audio16, aligned) > 10  # measured 15-690 on these prompts


def _loudness_ratio(audio: np.ndarray, phones) -> float:
    """RMS inside phones / RMS inside SIL segments (longer than 0.1 s): alignment puts speech on speech."""
    def rms(segs):
        parts = [audio[int(p.start * RATE): int(p.end * RATE)] for p in segs]
        parts = [x for x in parts if x.size]
        return float(np.sqrt(np.mean(np.concatenate(parts) ** 2))) if parts else 0.0

    silence = [p for p in phones if p.phone == SILENCE and p.duration > 0.1 and p.start >= 0]
    if not silence:
        return np.inf
    return rms([p for p in phones if p.phone != SILENCE]) / max(rms(silence), 1e-6)


def test_phones_for_real_speech_cover_the_audio(utterances):
    _name, audio, rate, text = utterances[0]
    for transcript in (text, None):
        phones = phones_for(audio, rate, transcript)
        assert phones[0].start == 0.0 and phones[-1].end == pytest.approx(len(audio) / rate, abs=0.02)
        for a, b in zip(phones, phones[1:]):
            assert a.end == pytest.approx(b.start) and a.end > a.start
