"""`ProceduralConfig`: every tunable of the procedural engine, with its unit."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ProceduralConfig:
    """Settings of the rule-based audio-to-ARKit engine."""

    anticipation: float = 0.10  # s: how far before a phone its dominance starts rising (coarticulation)
    carryover: float = 0.07  # s: how far after a phone its dominance decays
    closure_hold: float = 0.02  # s: extra time a bilabial closure is held around the phone centre
    loudness_floor: float = 0.45  # jaw opening scale for the quietest voiced frames
    loudness_gain: float = 0.75  # extra jaw opening scale for the loudest frames
    smoothing: float = 0.025  # s: Gaussian smoothing of the mouth tracks (before closure enforcement)
    emotion_onset: float = 0.45  # s: time for an emotion to build up at the start / at a key
    emotion_fluctuation: float = 0.12  # relative slow fluctuation of emotion intensity
    blinks: bool = True  # draw blinks (False: eyelids keep their emotion level; blinks come as sampled events)
    blink_duration: float = 0.22  # s: mean blink duration (close + open)
    saccade_interval: float = 1.3  # s: mean time between gaze saccades
    gaze_amplitude: float = 0.12  # eyeLook* amplitude of saccades (0..1)
    head_amplitude: float = 0.06  # rad: typical head rotation amplitude driven by prosody
    head_smoothing: float = 0.25  # s: smoothing of head motion


@dataclass(frozen=True)
class BlinkConfig:
    """Blink events sampled over a learned engine's eyelids: each one a full close-and-open."""

    duration: float = 0.25  # s: mean blink duration (close + hold + open; 100-400 ms in people)
    duration_sd: float = 0.05  # s: spread of the duration
    min_duration: float = 0.18  # s: shortest blink (leaves at least one frame fully shut at 25 fps)
    max_duration: float = 0.4  # s: longest blink
    refractory: float = 0.8  # s: shortest time from one blink's start to the next (no flutter)
    rate_scale: float = 1.0  # factor on the emotion's blinks per minute (eyes.BLINKS_PER_MINUTE)
