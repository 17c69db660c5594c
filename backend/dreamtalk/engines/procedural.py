"""`--engine procedural`: align the speech once, then animate it with the rule engine per take.

    request -> audio at 16 kHz -> timed phones (`align.phones_for`: the transcript when given, else
            Whisper's, forced-aligned by pocketsphinx) -> `procedural.engine.animate` per take (seed + k)
"""

from __future__ import annotations

from ..core.audio import prepare_audio
from ..core.curves import Curves
from ..core.request import EmotionKey, GenerateRequest
from ..procedural import emotion
from ..procedural.engine import ANALYSIS_RATE, animate


def request_keys(request: GenerateRequest) -> list[EmotionKey]:
    """The emotion keys of a request: its explicit keys, else its emotion at its intensity."""
    if request.emotion_keys:
        return list(request.emotion_keys)
    return [EmotionKey(0.0, request.emotion, request.intensity)]


def run(request: GenerateRequest, progress) -> list[Curves]:
    """Engine entry point (see `dreamtalk.engines`): align once, then one `animate` per take."""
    from ..align import phones_for  # deferred: pocketsphinx loads only when needed

    for key in request_keys(request):
        emotion.emotion_vector(key.emotion, key.intensity)  # validates names before slow work
    audio, rate = prepare_audio(request.audio, request.sample_rate, ANALYSIS_RATE)
    progress("align", 0.0)
    phones = phones_for(audio, rate, request.transcript)
    takes = []
    for take in range(request.takes):
        progress("animate", take / request.takes)
        takes.append(animate(audio, rate, phones, request.fps, request_keys(request), request.seed + take))
    return takes
