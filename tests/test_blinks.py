"""Issue 18 item 4: blinks as sampled events at the emotion's rate, each a full close-and-open."""

import numpy as np
import pytest

from dreamtalk.core.arkit import INDEX
from dreamtalk.core.curves import Curves
from dreamtalk.core.request import EmotionKey, GenerateRequest
from dreamtalk.engines.blinks import add_blinks, rate_track, spec_rate
from dreamtalk.evaluation.dynamics import blink_episodes, blink_stats
from dreamtalk.procedural.eyes import BLINKS_PER_MINUTE, blink_events

FPS = 25.0


@pytest.mark.parametrize("rate", [10.0, 17.0, 26.0])
def test_blink_events_come_at_the_asked_rate_and_every_one_is_a_full_close_and_open(rate):
    blink = blink_events(np.full(int(FPS * 600), rate, np.float32), FPS, np.random.default_rng(0))
    episodes = blink_episodes(blink)
    counted = sum(e["closings"] > 0 for e in episodes) / 10.0
    assert counted == pytest.approx(rate, rel=0.1)
    assert all(e["closings"] == 1 and e["reopened"] and e["peak"] == 1.0 for e in episodes)


def test_blink_events_on_short_clips_stay_near_the_rate_and_keep_off_locked_frames():
    rng, count = np.random.default_rng(1), 0
    for _ in range(400):
        count += sum(e["closings"] > 0 for e in blink_episodes(blink_events(np.full(75, 17.0), FPS, rng)))
    assert 13.0 < count / (400 * 3 / 60) < 21.0
    free = np.ones(2500, bool)
    free[1000:1500] = False
    blink = blink_events(np.full(2500, 26.0), FPS, np.random.default_rng(2), free=free)
    assert blink[1000:1500].max() == 0.0 and blink.max() == 1.0


def test_spec_rates_follow_emotion_intensity_and_mixes():
    assert spec_rate("neutral", 0.9) == BLINKS_PER_MINUTE["neutral"]
    assert spec_rate("fear", 1.0) == BLINKS_PER_MINUTE["fear"] and spec_rate("surprised-1", 1.0) == 10.0
    assert spec_rate("fear", 0.5) == pytest.approx((17.0 + 26.0) / 2)
    assert spec_rate("happy:0.5+angry:0.5", 1.0) == pytest.approx((19.0 + 12.0) / 2)
    assert spec_rate("ana-take", 1.0) == BLINKS_PER_MINUTE["neutral"]  # not an emotion: neutral rate
    request = GenerateRequest(np.zeros(16000 * 4, np.float32), 16000, emotion_keys=[
        EmotionKey(0.0, "fear", 1.0), EmotionKey(2.0, "surprised", 1.0)])
    rates = rate_track(request, 100, FPS)
    assert rates[0] == 28.0 and rates[60] == 13.0  # speaking rates: x 1.3, kept in 12-28 a minute


def test_add_blinks_gives_each_take_its_own_blinks_over_the_model_eyelids():
    takes = np.zeros((3, 750, 55), np.float32)
    takes[..., INDEX["eyeWideLeft"]] = 0.5
    takes[..., INDEX["eyeBlinkLeft"]] = 0.1  # the model's emotion level stays under the blinks
    request = GenerateRequest(np.zeros(16000 * 30, np.float32), 16000, emotion="happy", intensity=0.6, seed=4)
    out = add_blinks(takes, request, FPS)
    lids = out[..., INDEX["eyeBlinkLeft"]]
    assert lids.min() == pytest.approx(0.1) and lids.max() == 1.0
    assert not np.allclose(lids[0], lids[1]) and not np.allclose(lids[1], lids[2])
    shut = lids[0] == 1.0
    assert out[0, shut, INDEX["eyeWideLeft"]].max() == 0.0  # eyes cannot be wide while shut
    again = add_blinks(takes[:1], request, FPS)
    assert np.array_equal(again[0], out[0])  # take k does not depend on how many takes were asked for
    stats = blink_stats(Curves(FPS, out[0, :, :52], out[0, :, 52:]))
    assert 8 <= stats["blinks_per_min"] <= 30 and stats["blink_complete"] == 1.0


def test_lines_generated_with_one_seed_blink_at_different_moments():
    """Every request of a batch of short lines used to draw the same blink times (same seed, same draws):
    on 24 clips of about 2 s with one seed the protocol counted 9 blinks a minute where 16 were asked."""
    takes = np.zeros((1, 60, 55), np.float32)
    starts = set()
    for line in range(12):
        audio = np.random.default_rng(line).normal(0, 0.1, 16000 * 2).astype(np.float32)
        lids = add_blinks(takes, GenerateRequest(audio, 16000, seed=2000), FPS)[0, :, INDEX["eyeBlinkLeft"]]
        starts.add(int(np.argmax(lids > 0.6)) if lids.max() > 0.6 else -1)
    assert len(starts) >= 6
