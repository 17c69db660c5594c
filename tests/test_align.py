"""Phone timings: espeak-ng events, pocketsphinx forced alignment and phone recognition."""

import numpy as np
import pytest

from dreamtalk.align import ARPABET, SILENCE, PhoneSegment, phones_for
from dreamtalk.align.espeak import ESPEAK_TO_ARPABET, synthesize, to_arpabet
from dreamtalk.align.phones import tidy
from dreamtalk.align.sphinx import transcript_words
from dreamtalk.core.errors import InputError

PANGRAMS = (
    "The quick brown fox jumps over the lazy dog. Pack my box with five dozen liquor jugs. "
    "How vexingly quick daft zebras jump! Sphinx of black quartz, judge my vow. "
    "The measure of a treasure is the pleasure of the vision; choose the noisy boy's toy, "
    "thinking through the thick and thin of this weather, although the young singer would sing."
)


@pytest.fixture(scope="module")
def speech():
    return synthesize(PANGRAMS, voice="en-us+m3")


def test_synthesis_covers_the_audio(speech):
    assert speech.sample_rate == 22050 and speech.audio.dtype == np.float32
    assert 10 < speech.duration < 40 and np.abs(speech.audio).max() > 0.1
    assert speech.phones[0].start == 0.0 and speech.phones[-1].end == pytest.approx(speech.duration)
    for a, b in zip(speech.phones, speech.phones[1:]):
        assert a.end == pytest.approx(b.start) and a.end > a.start


def test_every_emitted_phoneme_maps_to_arpabet(speech):
    stress = "',%="
    for name in speech.espeak_phonemes:
        clean = name.strip(stress)
        if clean in {";", ":", "#"} or clean.startswith("_"):
            continue
        assert clean in ESPEAK_TO_ARPABET, f"espeak phoneme {name!r} has no ARPAbet entry"
    spoken = {p.phone for p in speech.phones}
    assert spoken <= ARPABET | {SILENCE}
    assert len(spoken & ARPABET) >= 35  # pangrams reach nearly the whole phone set


def test_known_words_give_known_phones():
    phones = [p.phone for p in synthesize("mob", voice="en-us").phones if p.phone != SILENCE]
    assert phones == ["M", "AA", "B"]
    assert to_arpabet("'aI") == "AY" and to_arpabet("_:") == SILENCE and to_arpabet("tS") == "CH"


def test_voices_and_prosody_parameters():
    slow = synthesize("Hello there my friend", rate=100)
    fast = synthesize("Hello there my friend", rate=300)
    assert slow.duration > 1.8 * fast.duration
    low = synthesize("Hello there my friend", voice="en-us+m3", pitch=20)
    high = synthesize("Hello there my friend", voice="en-us+f3", pitch=80)
    assert not np.array_equal(low.audio[:2000], high.audio[:2000])
    with pytest.raises(InputError, match="no voice"):
        synthesize("hello", voice="xx-nonexistent")
    with pytest.raises(InputError, match="empty"):
        synthesize("   ")


def test_forced_alignment_agrees_with_espeak_timings(speech):
    aligned = phones_for(speech.audio, speech.sample_rate, PANGRAMS)
    truth = [p for p in speech.phones if p.phone != SILENCE]
    got = [p for p in aligned if p.phone != SILENCE]
    errors = _boundary_errors(truth, got)
    assert len(errors) > 0.6 * len(truth)
    assert np.median(errors) < 0.03, np.median(errors)
    assert np.percentile(errors, 90) < 0.08


def _boundary_errors(truth, got):
    """|start difference| for phones matched in order by identity (greedy, small look-ahead)."""
    errors, j = [], 0
    for p in truth:
        for k in range(j, min(j + 3, len(got))):
            if got[k].phone == p.phone:
                errors.append(abs(got[k].start - p.start))
                j = k + 1
                break
    return np.array(errors)


def test_phone_recognition_without_transcript(speech):
    recognised = phones_for(speech.audio, speech.sample_rate)
    assert recognised[0].start == 0.0 and recognised[-1].end == pytest.approx(speech.duration, abs=0.02)
    phones = [p.phone for p in recognised]
    assert set(phones) <= ARPABET | {SILENCE}
    truth = [p.phone for p in speech.phones if p.phone != SILENCE]
    assert 0.5 * len(truth) < len([p for p in phones if p != SILENCE]) < 1.5 * len(truth)


def test_alignment_is_reproducible():
    a = synthesize("Peter picked a peck of pickled peppers", voice="en-us+f2")
    b = synthesize("A completely different sentence about boats", voice="en-us+m1")
    first = phones_for(a.audio, a.sample_rate)
    phones_for(b.audio, b.sample_rate)
    assert phones_for(a.audio, a.sample_rate) == first


def test_out_of_vocabulary_words_still_align():
    s = synthesize("The blorptastic zorbling went home", voice="en-us")
    phones = phones_for(s.audio, s.sample_rate, "The blorptastic zorbling went home")
    assert any(p.phone == "Z" for p in phones) and any(p.phone == "B" for p in phones)


@pytest.mark.parametrize("audio, message", [
    (np.zeros(0, np.float32), "empty"),
    (np.zeros(16000, np.float32), "silent"),
    (np.full(16000, np.nan, np.float32), "NaN"),
])
def test_bad_audio(audio, message):
    with pytest.raises(InputError, match=message):
        phones_for(audio, 16000, "hello")


def test_transcript_words():
    assert transcript_words("Dial 42, then press #!  It's done.") == ["dial", "four", "two", "then", "press", "it's", "done"]


def test_tidy_fills_gaps_and_merges_silence():
    segments = [PhoneSegment("B", 0.1, 0.2), PhoneSegment("SIL", 0.2, 0.3), PhoneSegment("AA", 0.35, 0.5)]
    out = tidy(segments, 0.6)
    assert [p.phone for p in out] == ["SIL", "B", "SIL", "AA", "SIL"]
    assert out[2] == PhoneSegment("SIL", 0.2, 0.35) and out[-1].end == 0.6
