"""The validation protocol's measurements: the phone-locked lag, blinks with hysteresis and their
completeness, the validation sets' split rules, the voices that are fetched from Debian, and the
protocol run end to end on the procedural engine."""

import numpy as np
import pytest

from dreamtalk.core.arkit import INDEX
from dreamtalk.core.curves import Curves
from dreamtalk.core.errors import DreamTalkError
from dreamtalk.corpus.store import Phone
from dreamtalk.evaluation import dynamics, lipsync

FPS = 25.0
SENTENCE = "Maybe the baby will bring a map to the market."


def alternating_phones(count: int = 40) -> list:
    """Open vowels and bilabials of 0.12 s each, with an /s/ between them."""
    phones, t = [], 0.2
    for k in range(count):
        for name in ("AA" if k % 2 else "M", "S"):
            phones.append(Phone(name, t, t + 0.12))
            t += 0.12
    return phones


def gap_for(phones, shift_frames: float, frames: int) -> np.ndarray:
    """A lip gap that opens on open vowels and closes on bilabials, `shift_frames` late."""
    t = (np.arange(frames) - shift_frames) / FPS
    gap = np.full(frames, 0.3)
    for p in phones:
        inside = (t >= p.start) & (t < p.end)
        gap[inside] = {"AA": 0.8, "M": 0.0}.get(p.phone, 0.3)
    return np.convolve(gap, np.ones(3) / 3, mode="same")


@pytest.mark.parametrize("shift", [-2, 0, 1, 3])
def test_phone_locked_lag_finds_a_known_shift(shift):
    phones = alternating_phones()
    gap = gap_for(phones, shift, 300)
    assert lipsync.phone_locked_lag([(gap, phones)], FPS) == shift
    halves = [(gap_for(phones, shift + 0.5, 300), phones), (gap_for(phones, shift + 0.5, 300) * 3, phones)]
    assert lipsync.phone_locked_lag(halves, FPS, resolution=0.25) == pytest.approx(shift + 0.5)


def test_phone_locked_lag_needs_both_classes():
    phones = [Phone("AA", 0.1, 0.3), Phone("S", 0.3, 0.5)]
    assert np.isnan(lipsync.phone_locked_lag([(np.linspace(0, 1, 20), phones)], FPS))


# "It's easy to tell the depth of a well": one p, three open vowels, a v that nearly closes the lips (frames)
ONE_P = (("IH", 0.0), ("T", 1.2), ("S", 2.5), ("IY", 5.0), ("Z", 8.8), ("IY", 9.8), ("T", 11.5), ("IH", 13.0),
         ("T", 14.2), ("EH", 16.5), ("L", 19.5), ("DH", 22.0), ("AH", 23.0), ("D", 24.2), ("EH", 25.5), ("P", 28.0),
         ("TH", 30.5), ("AH", 33.2), ("V", 34.5), ("AH", 35.5), ("W", 37.5), ("EH", 40.0), ("L", 43.5), ("", 46.0))


@pytest.mark.parametrize("shift", [-3, -1, 0, 1, 2])
def test_phone_locked_lag_on_a_short_clip_with_one_bilabial(shift):
    """The AUC ties over several shifts on such a clip; the tie must not move the reading (it read one frame
    late here when ties went to the larger open-vs-closed contrast at the phone centres)."""
    phones = [Phone(name, start / FPS, end / FPS) for (name, start), (_, end) in zip(ONE_P, ONE_P[1:])]
    level = {"AH": 0.8, "P": 0.0, "V": 0.1}
    t = (np.arange(47) - shift) / FPS
    gap = np.full(47, 0.4)
    for p in phones:
        gap[(t >= p.start) & (t < p.end)] = level.get(p.phone, 0.4)
    gap = np.convolve(np.pad(gap, 2, mode="edge"), np.ones(5) / 5, mode="valid")
    assert lipsync.phone_locked_lag([(gap, phones)], FPS) == shift


def test_reference_gap_scores_what_the_frame_grid_allows():
    phones = alternating_phones()
    gap = lipsync.reference_gap(phones, FPS, 300)
    assert lipsync.closure_rate(gap, phones, FPS) == 1.0 and lipsync.open_vs_bilabial_auc(gap, phones, FPS) == 1.0
    assert lipsync.phone_locked_lag([(gap, phones)], FPS) == 0.0
    held = lipsync.reference_gap(phones, FPS, 300, hold=0.04)  # every closure one frame longer either side
    assert (held == 0).sum() == (gap == 0).sum() + 2 * 20 and lipsync.closure_rate(held, phones, FPS) == 1.0
    # a vowel of one 40 ms frame between two m: its centre frame (round half to even) is the second m's first,
    # so even a mouth that follows the phones exactly scores an AUC below 1 there
    short = [Phone("M", 0.20, 0.36), Phone("AH", 0.36, 0.40), Phone("M", 0.40, 0.56), Phone("AA", 0.56, 0.80)]
    reference = lipsync.open_vs_bilabial_auc(lipsync.reference_gap(short, FPS, 30), short, FPS)
    assert reference == pytest.approx(0.75)


def blink_curves(blink: np.ndarray) -> Curves:
    values = np.zeros((len(blink), 52), np.float32)
    values[:, INDEX["eyeBlinkLeft"]] = values[:, INDEX["eyeBlinkRight"]] = blink
    return Curves(FPS, values)


def test_stray_closures_are_shut_lips_that_no_bilabial_or_pause_explains():
    """The pipeline shut the lips on the z of "easy", the v of "of"...; its procedural teacher shuts them only
    on p/b/m and in pauses. A span of shut frames counts when no p/b/m is within `margin` frames and it touches
    no silence."""
    phones = [Phone("SIL", 0.0, 0.2), Phone("AA1", 0.2, 0.5), Phone("Z", 0.5, 0.7), Phone("AA1", 0.7, 1.0),
              Phone("M", 1.0, 1.1), Phone("AA1", 1.1, 1.4), Phone("SIL", 1.4, 1.6)]
    gap = np.ones(40)
    gap[0:5] = gap[35:] = 0.0  # shut in the pauses: natural
    gap[25:28] = 0.0  # shut on the m
    gap[23] = 0.0  # shut a frame before the m starts: anticipation, within the margin
    assert lipsync.stray_closures(gap, phones, 25.0) == 0
    gap[14:16] = 0.0  # shut on the z
    assert lipsync.stray_closures(gap, phones, 25.0) == 1
    gap[9] = 0.0  # and on the first vowel
    assert lipsync.stray_closures(gap, phones, 25.0) == 2
    assert lipsync.stray_closures(gap, phones, 25.0, margin=16) == 0  # every span near enough the m


def test_blinks_count_with_hysteresis_and_flutters_are_not_full_blinks():
    full = [0.0, 0.4, 0.9, 1.0, 0.7, 0.2, 0.0]
    flutter = [0.0, 0.5, 0.7, 0.5, 0.7, 0.5, 0.65, 0.2, 0.0]  # closes three times without reopening
    half = [0.0, 0.35, 0.5, 0.35, 0.0]  # never fully shut
    rest = [0.0] * 20
    blink = np.array(rest + full + rest + full + rest + flutter + rest + half + rest + full + rest, np.float32)
    stats = dynamics.blink_stats(blink_curves(blink))
    assert stats["blinks"] == 4  # three full blinks + the flutter (one close-reopen cycle)
    assert stats["episodes"] == 5 and stats["complete"] == 3
    assert stats["blink_complete"] == pytest.approx(0.6)
    assert stats["blinks_per_min"] == pytest.approx(4 * 60 / (len(blink) / FPS))
    still_shut = dynamics.blink_stats(blink_curves(np.array(rest + [0.0, 0.9, 1.0, 1.0], np.float32)))
    assert still_shut["blinks"] == 1 and still_shut["complete"] == 0  # never reopened


def test_validation_sentences_and_allison_split():
    from dreamtalk.evaluation import validation_set

    assert len(validation_set.SENTENCES) == 36 == len(set(validation_set.SENTENCES))
    assert all(validation_set.SENTENCES[6 * k] in validation_set.BILABIAL_DENSE for k in range(6))
    names = {s.name for s in validation_set.SETS}
    assert {"flite", "pico", "real-librivox", "real-allison", "long-flite"} <= names
    try:
        from dreamtalk.corpus.real import _prompts

        prompts = [p[0] for p in _prompts(None)]
        rest = [p[0] for p in validation_set.allison_rest(24)]
    except DreamTalkError as exc:
        pytest.skip(f"real speech unavailable here: {exc}")
    harness = {prompts[i] for i in np.linspace(0, len(prompts) - 1, 100).round().astype(int)}
    assert len(rest) == 24 == len(set(rest)) and not harness & set(rest)


@pytest.mark.parametrize("voice", ["flite", "pico"])
def test_other_voice_families_speak_the_text(voice):
    from dreamtalk.align.transcribe import available, transcribe
    from dreamtalk.core.audio import prepare_audio
    from dreamtalk.evaluation import other_voices

    try:
        audio, rate = other_voices.flite(SENTENCE, "slt") if voice == "flite" else \
            other_voices.pico(SENTENCE, "en-GB")
    except DreamTalkError as exc:
        pytest.skip(f"{voice} unavailable here: {exc}")
    assert rate == 16000 and 1.0 < len(audio) / rate < 6.0 and np.abs(audio).max() > 0.05
    if available():
        assert "baby" in transcribe(prepare_audio(audio, rate, 16000)[0]).lower()


def test_validation_protocol_runs_and_tabulates(monkeypatch, tmp_path):
    from dreamtalk.align.espeak import synthesize
    from dreamtalk.core.audio import prepare_audio
    from dreamtalk.corpus.store import encode_phones
    from dreamtalk.evaluation import protocol, report, validation_set

    def tiny_set(voice_set, root=None):
        clips = []
        for i, text in enumerate(validation_set.BILABIAL_DENSE[:2]):
            speech = synthesize(text, "en-us", variant="m3")
            audio = prepare_audio(speech.audio, speech.sample_rate, 16000)[0]
            clips.append({"id": f"tiny-{i}", "set": voice_set.name, "voice": "m3", "text": text, "audio": audio,
                          "phones": encode_phones(speech.phones), "phones_espeak": encode_phones(speech.phones)})
        return clips

    monkeypatch.setattr(validation_set, "load_set", tiny_set)
    cfg = protocol.ValidationConfig(engines=("procedural",), sets=("espeak-heldout",), takes=2)
    results = protocol.run(cfg)
    figures = results["summary"]["espeak-heldout"]["procedural"]
    assert figures["clips"] == 2 and figures["closure_rate"] > 0.5 and abs(figures["lag_pooled"]) <= 1.0
    assert figures["emotion_accuracy"] >= 0.5 and figures["upper_sd"] > 0
    assert figures["stray_closures_per_min"] >= 0
    reference = results["summary"]["espeak-heldout"][protocol.REFERENCE]
    assert reference["stray_closures_per_min"] == 0
    assert reference["clips"] == 2 and reference["closure_rate"] == 1.0 and reference["lag_abs_mean"] <= 1.0
    assert reference["open_bilabial_auc"] >= figures["open_bilabial_auc"]
    md, js = report.write_validation(results, tmp_path)
    assert "| espeak-heldout |" in md.read_text() and js.exists() and (tmp_path / "validation_gaps.npz").exists()
    assert "### reference: a mouth that follows the reference phones exactly" in md.read_text()
    # read again on espeak-ng's own events (here the same phones as the reference, so the same lip figures)
    synth = results["summary"]["espeak-heldout"]["procedural" + protocol.SYNTH_TIMING]
    assert synth["clips"] == 2 and synth["closure_rate"] == figures["closure_rate"]
    assert synth["open_bilabial_auc"] == figures["open_bilabial_auc"]
    assert "### procedural vs espeak-ng's events (the synthesizer's own timing" in md.read_text()


def test_eval_cli_refuses_unknown_sets_and_a_harness_without_corpus(capsys):
    from dreamtalk.cli import main

    assert main(["eval", "--protocol", "validation", "--sets", "klingon"]) == 2
    assert "unknown engine or set: klingon" in capsys.readouterr().err
    assert main(["eval", "--protocol", "validation", "--engines", "emodiff,nope"]) == 2
    assert main(["eval", "--engine", "procedural"]) == 2
    assert "needs --corpus" in capsys.readouterr().err
