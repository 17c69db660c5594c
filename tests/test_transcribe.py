"""Automatic transcripts (Whisper) for speech given without text: phones close to the truth."""

import pytest

from dreamtalk.align import phones_for, transcribe
from dreamtalk.align.espeak import synthesize
from dreamtalk.align.metrics import phone_error_rate
from dreamtalk.core.audio import prepare_audio

pytestmark = pytest.mark.skipif(not transcribe.available(), reason="whisper extra not installed")

TEXT = "Please bring me the big blue bottle from the kitchen before dinner."


@pytest.fixture(scope="module")
def speech():
    return synthesize(TEXT, voice="en-us+m3", rate=160)


def test_transcript_words(speech):
    audio16, _ = prepare_audio(speech.audio, speech.sample_rate, 16000)
    words = transcribe.transcribe(audio16).lower()
    for word in ("bring", "blue", "bottle", "kitchen", "dinner"):
        assert word in words, words


def test_phones_without_text_follow_the_speech(speech):
    truth = [p.phone for p in speech.phones]
    auto = [p.phone for p in phones_for(speech.audio, speech.sample_rate)]
    recognised = [p.phone for p in phones_for(speech.audio, speech.sample_rate, auto_transcribe=False)]
    assert phone_error_rate(truth, auto) < 0.25
    assert phone_error_rate(truth, auto) < phone_error_rate(truth, recognised)


def test_decoding_runs_in_a_helper_process_that_comes_back_when_killed(speech):
    """CTranslate2 decodes in one kept helper process (it slows PyTorch in the process it runs in); a helper
    that died is started again for the next call."""
    audio16, _ = prepare_audio(speech.audio, speech.sample_rate, 16000)
    first = transcribe.transcribe(audio16)
    helper = transcribe._HELPER
    assert helper is not None and helper.poll() is None
    assert transcribe.transcribe(audio16) == first and transcribe._HELPER is helper  # kept
    helper.kill()
    helper.wait()
    assert transcribe.transcribe(audio16) == first and transcribe._HELPER is not helper
