import numpy as np
import pytest

from dreamtalk.core.arkit import INDEX
from dreamtalk.core.request import EMOTIONS, EmotionKey
from dreamtalk.evaluation.lipsync import best_lag, closure_rate, lip_gap, open_vs_bilabial_auc
from dreamtalk.procedural import coarticulation, emotion
from dreamtalk.procedural.config import ProceduralConfig
from dreamtalk.procedural.engine import animate
from synthetic_speech import make_utterance


@pytest.fixture(scope="module")
def utterance():
    return make_utterance(words=60, seed=3)


def run(utterance, emotion_name="neutral", intensity=1.0, seed=0, fps=25.0):
    audio, rate, phones = utterance
    return animate(audio, rate, phones, fps, [EmotionKey(0.0, emotion_name, intensity)], seed=seed)


def test_same_seed_same_curves(utterance):
    a, b = run(utterance, seed=5), run(utterance, seed=5)
    np.testing.assert_array_equal(a.values, b.values)
    np.testing.assert_array_equal(a.head_pose, b.head_pose)


def test_other_seed_changes_eyes_and_head_not_lips(utterance):
    a, b = run(utterance, seed=1), run(utterance, seed=2)
    mouth = [INDEX["jawOpen"], INDEX["mouthClose"]]
    np.testing.assert_allclose(a.values[:, mouth], b.values[:, mouth], atol=1e-6)
    assert np.abs(a.head_pose - b.head_pose).mean() > 0.005
    assert np.abs(a.channel("eyeBlinkLeft") - b.channel("eyeBlinkLeft")).max() > 0.5


@pytest.mark.parametrize("fps", [24.0, 25.0, 30.0, 60.0])
def test_lip_sync_figures_on_synthetic_speech(utterance, fps):
    audio, rate, phones = utterance
    c = run(utterance, fps=fps)
    gap = lip_gap(c.values)
    assert closure_rate(gap, phones, fps) >= 0.95
    assert open_vs_bilabial_auc(gap, phones, fps) >= 0.95
    lag, corr = best_lag(audio, rate, gap, fps)
    assert abs(lag) <= 2 * fps / 25 and corr > 0.3


def test_coarticulation_anticipates_rounding():
    """The lips start rounding for /UW/ before it begins (anticipation), not as a step."""
    from synthetic_speech import Phone

    phones = [Phone("SIL", 0, 0.3), Phone("T", 0.3, 0.4), Phone("UW", 0.4, 0.6), Phone("SIL", 0.6, 1.0)]
    loud = np.full(100, 0.8, np.float32)
    track = coarticulation.mouth_track(phones, loud, 100.0, 100, ProceduralConfig())
    pucker = track[:, INDEX["mouthPucker"]]
    assert 0.05 < pucker[35] < pucker[45]  # inside /T/ already rounding, less than in /UW/
    assert np.all(np.abs(np.diff(pucker)) < 0.2)  # smooth, no step


def test_bilabial_closure_is_a_hard_constraint():
    values = np.zeros((5, 52), np.float32)
    values[:, INDEX["jawOpen"]] = 0.6
    values[:, INDEX["mouthUpperUpLeft"]] = 0.5
    out = coarticulation.enforce_closures(values, np.array([0, 0, 1, 0, 0], np.float32))
    assert lip_gap(out)[2] == pytest.approx(0.0, abs=1e-6)
    assert lip_gap(out)[0] > 0.3


@pytest.mark.parametrize("name", [e for e in EMOTIONS if e in emotion.SIGNATURES])
def test_emotion_signature_contrast(utterance, name):
    neutral, moved = run(utterance, "neutral"), run(utterance, name)
    columns = [INDEX[n] for n in emotion.SIGNATURES[name]]
    contrast = (moved.values[:, columns] - neutral.values[:, columns]).mean(axis=0)
    assert contrast.min() >= 0.15, dict(zip(emotion.SIGNATURES[name], contrast.round(3)))


def test_contempt_is_asymmetric(utterance):
    c = run(utterance, "contempt")
    left = c.channel("mouthSmileLeft") + c.channel("mouthDimpleLeft")
    right = c.channel("mouthSmileRight") + c.channel("mouthDimpleRight")
    assert np.mean(np.abs(left - right)) >= 0.1


@pytest.mark.parametrize("name", EMOTIONS)
def test_no_emotion_breaks_closures(utterance, name):
    audio, rate, phones = utterance
    assert closure_rate(lip_gap(run(utterance, name).values), phones, 25.0) >= 0.95


def test_intensity_scales_the_emotion(utterance):
    low, high = run(utterance, "sad", 0.3), run(utterance, "sad", 1.0)
    assert high.channel("browInnerUp").mean() > low.channel("browInnerUp").mean() + 0.2


def test_emotion_keys_change_over_time(utterance):
    audio, rate, phones = utterance
    keys = [EmotionKey(0.0, "happy", 1.0), EmotionKey(4.0, "angry", 1.0)]
    c = animate(audio, rate, phones, 25.0, keys, seed=0)
    early, late = slice(25, 90), slice(125, 175)
    assert c.channel("mouthSmileLeft")[early].mean() > c.channel("mouthSmileLeft")[late].mean() + 0.3
    assert c.channel("browDownLeft")[late].mean() > c.channel("browDownLeft")[early].mean() + 0.3
    assert np.abs(np.diff(c.channel("browDownLeft"))).max() < 0.2  # cross-fade, not a jump


def test_blink_rate_is_human(utterance):
    audio, rate, phones = make_utterance(words=400, seed=9)
    c = animate(audio, rate, phones, 25.0, [], seed=4)
    blink = c.channel("eyeBlinkLeft")
    onsets = np.sum((blink[1:] >= 0.5) & (blink[:-1] < 0.5))
    per_minute = onsets / (c.duration / 60)
    assert 8 <= per_minute <= 30, per_minute


def test_head_pose_moves_with_prosody(utterance):
    c = run(utterance)
    assert 0.005 < np.abs(c.head_pose).mean() < 0.2
    assert np.abs(np.diff(c.head_pose, axis=0)).max() < 0.05  # smooth per 40 ms frame
