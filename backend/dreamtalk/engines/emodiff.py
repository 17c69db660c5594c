"""`--engine emodiff`, the default pipeline: EmoDiff, then lip refinement (DREAM-Talk's two stages).

    request -> styles (`styles`) -> audio features (`feature_cache`) -> EmoDiff takes (raw x)
            -> lip refiner over the MOUTH group (when `request.refine` and a refiner is installed)
            -> articulation: lips opened on heard open vowels, closed on heard p/b/m (the same condition);
               with a transcript, on the open vowels and p/b/m of its forced alignment instead (precise mode;
               `request.precise` without a transcript: Whisper's transcript of the speech)
            -> blink events over the eyelids (models trained on blink-free labels: `blinks`)
            -> curves at the request's fps

Which checkpoints run is decided in `installed` (environment variables, else the shipped files); where,
by the calling thread's `placement` (EmoDiff, the lip refiner, the articulation detector and the Whisper
encoder all on its device; concurrent requests on one device share sampling calls through `batching`).
"""

from __future__ import annotations

import logging
from dataclasses import replace

import numpy as np

from ..core.audio import prepare_audio
from ..core.curves import Curves
from ..core.errors import InputError
from ..core.locking import check_mask, ease_into_locked, resample_locked
from ..core.request import GenerateRequest
from ..features import SAMPLE_RATE
from ..models.emodiff.conditions import StyleKey, window_styles
from ..models.emodiff.config import SamplerConfig
from ..models.emodiff.generate import neutral_style, plan
from ..models.emodiff.model import EmoDiff
from ..models.pose import curves_to_x
from . import batching, placement
from .blinks import add_blinks
from .feature_cache import audio_features
from .installed import installed_articulation, installed_emodiff, installed_refiner, refinement_off
from .styles import style_keys

log = logging.getLogger(__name__)


def locked_frames(model: EmoDiff, request: GenerateRequest, frames: int):
    """Raw locked frames `(T, P)` and mask `(T,)` of the request, or (None, None)."""
    if request.locked is None or request.locked_mask is None:
        return None, None
    locked, mask = resample_locked(request.locked, check_mask(request.locked, request.locked_mask), model.cfg.fps,
                                   frames)  # any rate in, the model's out (engines.generate brings it back)
    return curves_to_x(locked, model.cfg.fps), mask


def sampler_settings(model: EmoDiff, request: GenerateRequest) -> SamplerConfig:
    """The checkpoint's tuned sampler settings, with the request's steps and guidance when it sets them."""
    tuned = model.sampler
    return replace(tuned, steps=request.steps or tuned.steps,
                   guidance=tuned.guidance if request.guidance is None else float(request.guidance))


def refine_takes(model: EmoDiff, request: GenerateRequest, keys: list[StyleKey], feats: np.ndarray,
                 audio: np.ndarray, rate: int, takes: np.ndarray, cfg: SamplerConfig, locked=None,
                 mask=None, device: str = "cpu") -> np.ndarray:
    """Lip refinement of every take (when `request.refine`), on `device`: the lip refiner, then the
    articulation stage (`articulation_probabilities`: the transcript's aligned phones, Whisper's with
    `precise`, else the articulation detector when installed); locked frames stay as given and the refined
    mouth is eased onto them like EmoDiff's output."""
    from ..models.lip.model import MOUTH_INDEX

    if not request.refine or refinement_off():
        return takes
    lip, detector = installed_refiner(device), installed_articulation(device)
    refined = takes if lip is None else run_refiner(lip, model, keys, feats, audio, rate, takes, cfg, device)
    probabilities = articulation_probabilities(request, model, detector, feats, audio, rate, refined.shape[1], device)
    if probabilities is not None:
        refined = articulate_all(refined, *probabilities, detector)
    if locked is None or (lip is None and probabilities is None):
        return refined
    eased = ease_into_locked(np.where(mask[None, :, None], locked[None], refined), mask, cfg.lock_ease)
    refined[..., MOUTH_INDEX] = eased[..., MOUTH_INDEX]  # the rest is EmoDiff's, already eased
    return refined


def run_refiner(lip, model: EmoDiff, keys: list[StyleKey], feats: np.ndarray, audio: np.ndarray, rate: int,
                takes: np.ndarray, cfg: SamplerConfig, device: str) -> np.ndarray:
    """The lip refiner over every take, with the style of each of its windows."""
    from ..models.lip.refine import refine, window_centres

    if lip.front_end != model.front_end:
        feats = audio_features(lip.front_end, audio, rate, lip.cfg.fps, takes.shape[1], device)
    z_styles = window_styles(keys, window_centres(lip, takes.shape[1]), neutral_style(model), cfg.transition)
    return refine(lip, feats, takes, model.denormalize(z_styles))


def detected_probabilities(detector, model: EmoDiff, feats: np.ndarray, audio: np.ndarray, rate: int, frames: int,
                           device: str) -> tuple[np.ndarray, np.ndarray]:
    """(p(p/b/m), p(open vowel)) of every frame, as the articulation detector hears them."""
    from ..models.articulation.model import bilabial, open_vowel

    if detector.front_end != model.front_end:
        feats = audio_features(detector.front_end, audio, rate, detector.cfg.fps, frames, device)
    probabilities = detector.probabilities(feats)
    return bilabial(probabilities), open_vowel(probabilities)


def articulation_probabilities(request: GenerateRequest, model: EmoDiff, detector, feats: np.ndarray,
                               audio: np.ndarray, rate: int, frames: int, device: str):
    """(p(p/b/m), p(open vowel), where shut lips are allowed or None) of every frame for the articulation stage,
    or None (no stage): 1 and 0 on the forced-aligned phones of the transcript (precise mode; shut lips allowed
    only near its p/b/m and in its silences); with `precise` and no transcript, on those of Whisper's, except
    around the words Whisper doubts, which get the detector's; else the detector's."""
    from ..models.articulation.labels import doubtful_frames, phone_probabilities
    from ..procedural.visemes import shut_allowed

    heard = whisper_transcript(audio, rate) if request.precise and not request.transcript else None
    text = request.transcript or (heard.text if heard else None)
    phones = transcript_phones(audio, rate, text) if text else None
    detected = None
    if detector is not None and (phones is None or heard is not None):
        detected = detected_probabilities(detector, model, feats, audio, rate, frames, device)
    if phones is None:
        return None if detected is None else (*detected, None)
    aligned = phone_probabilities(phones, frames, model.cfg.fps)
    if heard is None:  # the user's transcript: trusted everywhere
        return (*aligned, shut_allowed(phones, model.cfg.fps, frames, articulation_settings(detector).stray_margin))
    if detected is None:
        return (*aligned, None)
    doubtful = doubtful_frames(heard.words, frames, model.cfg.fps, detector.cfg.doubt_below, detector.cfg.doubt_pad)
    return (*(np.where(doubtful, d, a) for d, a in zip(detected, aligned)), None)


def articulation_settings(detector):
    """The articulation stage's settings: the detector's, or the defaults when none is installed."""
    from ..models.articulation.config import ArticulationConfig

    return detector.cfg if detector is not None else ArticulationConfig()


def articulate_all(takes: np.ndarray, p_bilabial: np.ndarray, p_open: np.ndarray, shut_allowed, detector
                   ) -> np.ndarray:
    """Every take opened where p(open vowel) and closed where p(p/b/m) say (`models.articulation.enforce`), and
    where `shut_allowed` is given, reopened where its lips are shut elsewhere."""
    from ..models.articulation.enforce import articulate, reopen_strays

    settings = articulation_settings(detector)
    takes = np.stack([articulate(take, p_bilabial, p_open, settings) for take in takes])
    if shut_allowed is None:
        return takes
    return np.stack([reopen_strays(take, shut_allowed, settings) for take in takes])


def whisper_transcript(audio: np.ndarray, rate: int):
    """Whisper's transcript of the speech for precise mode (`align.transcribe.Heard`: the text and how surely
    each word was heard), or None (with a warning) when the `whisper` extra is not installed or it hears no
    words."""
    from ..align import transcribe

    if not transcribe.available():
        log.warning("precise mode without a transcript needs Whisper (the whisper extra); the lips are placed "
                    "from the audio alone")
        return None
    try:
        heard = transcribe.transcribe_words(prepare_audio(audio, rate, 16000)[0])
    except RuntimeError as exc:
        log.warning("%s; the lips are placed from the audio alone (no precise mode)", exc)
        return None
    if not heard.text:
        log.warning("Whisper heard no words; the lips are placed from the audio alone (no precise mode)")
    return heard if heard.text else None


def transcript_phones(audio: np.ndarray, rate: int, transcript: str):
    """The transcript's forced-aligned phones, or None (with a warning: the lips follow the audio alone)."""
    from ..align import aligned_phones

    try:
        return aligned_phones(audio, rate, transcript)
    except InputError as exc:
        log.warning("%s; the lips are placed from the audio alone (no precise mode)", exc)
        return None


def run(request: GenerateRequest, progress) -> list[Curves]:
    """Engine entry point (see `dreamtalk.engines`)."""
    device = placement.device()
    model = installed_emodiff(device)
    keys = style_keys(model, request)  # validates presets before slow work
    audio, rate = prepare_audio(request.audio, request.sample_rate, SAMPLE_RATE)
    frames = max(1, int(round(len(audio) / rate * model.cfg.fps)))
    locked, mask = locked_frames(model, request, frames)
    progress("features", 0.0)
    feats = audio_features(model.front_end, audio, rate, model.cfg.fps, frames, device)
    cfg = sampler_settings(model, request)
    job = plan(model, feats, cfg, keys, request.takes, request.seed, locked=locked, locked_mask=mask)
    out = batching.sample(model, job, request.seed, lambda i, n: progress("sample", i / n),
                          placement.current().batch_requests)
    out = refine_takes(model, request, keys, feats, audio, rate, out, cfg, locked, mask, device)
    if model.sampler.blinks == "events":
        out = add_blinks(out, request, model.cfg.fps, mask)
    takes = []
    for x in out:
        curves = Curves(model.cfg.fps, np.clip(x[:, :52], 0.0, 1.0), x[:, 52:])
        takes.append(curves.resample(request.fps))
    return takes
