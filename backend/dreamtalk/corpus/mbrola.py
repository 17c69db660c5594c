"""MBROLA diphone voices for training variety (issue 18): espeak-ng's phones, durations and intonation
spoken by recorded-diphone voices, fed to `mbrola` as a .pho file, so the phone timings are exact by
construction.

espeak-ng (the `espeakng-loader` library, which has no MBROLA support of its own) speaks the text with a
corpus voice; its phones (ARPAbet, exact durations) and its pitch contour (autocorrelation F0 of its
audio, in semitones around the median) are written as MBROLA phonemes with pitch targets at 10/50/90 %
of each phone, the contour moved onto the MBROLA voice's base pitch (shift, range). The voices come from
Debian (`mbrola`, `mbrola-us1/-us2/-us3/-en1`, non-free: the databases may be used with the MBROLA
program and redistributed free of charge, not sold; nothing of them ships with the project), unpacked
into the cache without root (`align.debian`).
"""

from __future__ import annotations

import subprocess
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from ..align.debian import unpacked
from ..core.errors import DreamTalkError

VOICES = ("us1", "us2", "us3", "en1")
VAL_VOICES = frozenset({"us3"})  # held out of training: model selection on a second synthesis family
BASE_F0 = {"us1": 200.0, "us2": 115.0, "us3": 110.0, "en1": 110.0}  # Hz: each database's natural pitch
ACCENT = {"us1": "en-us", "us2": "en-us", "us3": "en-us", "en1": "en"}  # espeak accent giving the phones
PACKAGES = ("mbrola",) + tuple(f"mbrola-{v}" for v in VOICES)
ASPIRATED = frozenset({"us1", "us2"})  # databases with p_h / t_h / k_h diphones

_CONSONANTS = {"P": "p", "B": "b", "T": "t", "D": "d", "K": "k", "G": "g", "F": "f", "V": "v", "TH": "T",
               "DH": "D", "S": "s", "Z": "z", "SH": "S", "ZH": "Z", "CH": "tS", "JH": "dZ", "M": "m", "N": "n",
               "NG": "N", "L": "l", "R": "r", "W": "w", "Y": "j", "HH": "h", "SIL": "_"}
_US_VOWELS = {"AA": "A", "AE": "{", "AO": "O", "AW": "aU", "AY": "AI", "EH": "E", "ER": "r=", "EY": "EI",
              "IH": "I", "IY": "i", "OW": "@U", "OY": "OI", "UH": "U", "UW": "u"}
_EN_VOWELS = {"AA": "A:", "AE": "{", "AO": "O:", "AW": "aU", "AY": "aI", "EH": "e", "ER": "3:", "EY": "eI",
              "IH": "I", "IY": "i:", "OW": "@U", "OY": "OI", "UH": "U", "UW": "u:"}
SCHWA_MAX = 0.07  # s: an AH shorter than this is the reduced vowel '@', longer ones the stressed 'V'


def split_of(voice: str) -> str:
    return "val" if voice in VAL_VOICES else "train"


@dataclass(frozen=True)
class MbrolaSettings:
    """One MBROLA utterance's voice and prosody."""

    voice: str  # MBROLA database (VOICES)
    variant: str  # espeak-ng variant whose durations and intonation are used
    rate: int  # espeak-ng words per minute
    pitch_shift: float  # semitones added to the database's base pitch
    pitch_range: float  # factor on the intonation contour's excursions
    gain: float  # amplitude factor

    def as_dict(self) -> dict:
        return asdict(self)


def sample_settings(rng: np.random.Generator, emotion: str, intensity: float) -> MbrolaSettings:
    """A random MBROLA voice with prosody moved towards the emotion's (as `voices.sample_voice`)."""
    from .voices import EMOTION_PROSODY, VARIANTS

    rate_f, pitch_off, range_f, amp_f = EMOTION_PROSODY[emotion]
    voice = VOICES[int(rng.integers(len(VOICES)))]
    variant = VARIANTS[int(rng.integers(len(VARIANTS)))]
    rate = rng.uniform(140, 200) * (1.0 + (rate_f - 1.0) * intensity)
    shift = rng.uniform(-2.0, 2.0) + 0.25 * pitch_off * intensity  # espeak pitch units -> ~0.25 semitone
    spread = rng.uniform(0.7, 1.3) * (1.0 + (range_f - 1.0) * intensity)
    gain = rng.uniform(0.6, 1.0) * (1.0 + (amp_f - 1.0) * intensity)
    return MbrolaSettings(voice, variant, int(np.clip(rate, 90, 330)), round(float(shift), 2),
                          round(float(np.clip(spread, 0.3, 2.5)), 3), round(float(np.clip(gain, 0.3, 1.4)), 3))


def symbol(phone: str, voice: str, duration: float, next_phone: str) -> str:
    """The database's phoneme for an ARPAbet phone (stops before a vowel are aspirated where the
    database has the allophone)."""
    from ..procedural.visemes import VOWELS

    if phone == "AH":
        return "@" if duration < SCHWA_MAX else "V"
    if phone in VOWELS:
        return (_EN_VOWELS if voice == "en1" else _US_VOWELS)[phone]
    if phone in ("P", "T", "K") and voice in ASPIRATED and next_phone in VOWELS:
        return _CONSONANTS[phone] + "_h"
    return _CONSONANTS.get(phone, "_")


def pho_text(phones: list, contour: np.ndarray, fps: float, settings: MbrolaSettings) -> str:
    """MBROLA .pho lines: phoneme, duration in ms, (position %, Hz) pitch targets at 10/50/90 %.
    `contour`: the intonation in semitones around the median at `fps`."""
    base = BASE_F0[settings.voice] * 2.0 ** (settings.pitch_shift / 12.0)
    lines = []
    for k, p in enumerate(phones):
        duration = p.end - p.start
        following = phones[k + 1].phone if k + 1 < len(phones) else "SIL"
        name = symbol(p.phone, settings.voice, duration, following)
        targets = ""
        if name != "_":
            at = [p.start + f * duration for f in (0.1, 0.5, 0.9)]
            semis = np.interp(np.array(at) * fps, np.arange(len(contour)), contour) * settings.pitch_range
            targets = " ".join(f"{pos} {base * 2.0 ** (s / 12.0):.1f}" for pos, s in zip((10, 50, 90), semis))
        lines.append(f"{name} {1000 * duration:.0f} {targets}".rstrip())
    return "\n".join(lines) + "\n_ 1\n"


def intonation(audio: np.ndarray, rate: int, fps: float = 100.0) -> np.ndarray:
    """Semitones around the median F0 at `fps`, unvoiced stretches bridged (0 without voicing)."""
    from ..features.prosody import pitch

    f0 = pitch(audio, rate, fps, max(1, int(len(audio) / rate * fps)))
    voiced = f0 > 0
    if voiced.sum() < 3:
        return np.zeros(len(f0), np.float32)
    semis = np.clip(12.0 * np.log2(f0[voiced] / np.median(f0[voiced])), -12.0, 12.0)
    return np.interp(np.arange(len(f0)), np.flatnonzero(voiced), semis).astype(np.float32)


def render(pho: str, voice: str) -> tuple[np.ndarray, int]:
    """(audio float32, rate) of a .pho text spoken by MBROLA database `voice`."""
    import soundfile

    root = unpacked("mbrola", PACKAGES, "usr/bin/mbrola")
    database = root / "usr/share/mbrola" / voice / voice
    with tempfile.TemporaryDirectory() as tmp:
        source, wav = Path(tmp) / "in.pho", Path(tmp) / "out.wav"
        source.write_text(pho, encoding="ascii")
        result = subprocess.run([str(root / "usr/bin/mbrola"), "-e", str(database), str(source), str(wav)],
                                capture_output=True, text=True)
        if result.returncode != 0 or not wav.exists():
            raise DreamTalkError(f"mbrola {voice} failed: {result.stderr.strip()[-200:]}")
        audio, rate = soundfile.read(str(wav), dtype="float32", always_2d=True)
    return audio.mean(axis=1), int(rate)


def synthesize(text: str, settings: MbrolaSettings) -> tuple[np.ndarray, int, list]:
    """(audio float32, rate, phones): `text` in MBROLA voice `settings.voice`; the phones are the .pho's
    (ARPAbet, exact timings by construction)."""
    from ..align import espeak
    from ..align.phones import PhoneSegment

    speech = espeak.synthesize(text, ACCENT[settings.voice], rate=settings.rate, variant=settings.variant)
    phones = speech.phones
    pho = pho_text(phones, intonation(speech.audio, speech.sample_rate), 100.0, settings)
    audio, rate = render(pho, settings.voice)
    durations = [round(1000 * (p.end - p.start)) / 1000 for p in phones]  # what the .pho said, in ms
    ends = np.cumsum(durations)
    timed = [PhoneSegment(p.phone, float(e - d), float(e)) for p, d, e in zip(phones, durations, ends)]
    return np.clip(audio * settings.gain, -1.0, 1.0).astype(np.float32), rate, timed
