"""The foundation issue's lip-sync figures on REAL speech (Debian's asterisk-core-sounds-en prompts).

The full measurement over every prompt is bench/measure_procedural.py; this test runs a 30-utterance
slice so CI catches a regression in alignment or the engine on speech no rule was tuned on.
"""

import numpy as np
import pytest

from dreamtalk.align.phones import tidy
from dreamtalk.align.sphinx import forced_alignment
from dreamtalk.core.audio import prepare_audio
from dreamtalk.core.errors import DreamTalkError
from dreamtalk.core.request import EmotionKey
from dreamtalk.evaluation.lipsync import best_lag, closure_rate, lip_gap, open_vs_bilabial_auc
from dreamtalk.procedural.engine import animate


@pytest.fixture(scope="module")
def real():
    from dreamtalk.align.real_speech import real_utterances

    try:
        utterances = list(real_utterances(limit=30))
    except DreamTalkError as exc:
        pytest.skip(f"real speech unavailable here: {exc}")
    items = []
    for _name, audio, rate, text in utterances:
        audio, rate = prepare_audio(audio, rate, 16000)
        items.append((audio, tidy(forced_alignment(audio, text), len(audio) / rate)))
    return items


@pytest.mark.parametrize("emotion", ["neutral", "disgusted", "surprised"])
def test_lip_sync_on_real_speech(real, emotion):
    gaps, audios, phones, offset = [], [], [], 0.0
    for i, (audio, ph) in enumerate(real):
        gap = lip_gap(animate(audio, 16000, ph, 25.0, [EmotionKey(0, emotion, 1.0)], seed=i).values)
        gaps.append(gap)
        audios.append(np.pad(audio, (0, max(0, len(gap) * 640 - len(audio))))[: len(gap) * 640])
        phones += [type(p)(p.phone, p.start + offset, p.end + offset) for p in ph]
        offset += len(gap) / 25.0
    closures = [closure_rate(g, ph, 25.0) for g, (_, ph) in zip(gaps, real) if any(p.phone in {"P", "B", "M"} for p in ph)]
    gap = np.concatenate(gaps)
    assert np.mean(closures) >= 0.95
    assert open_vs_bilabial_auc(gap, phones, 25.0) >= 0.95
    lag, corr = best_lag(np.concatenate(audios), 16000, gap, 25.0)
    assert abs(lag) <= 2 and corr > 0.2
