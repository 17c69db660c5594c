"""`make demo`: synthesize a short emotional sentence, animate it, write JSON + CSV + PNG plot, and render
the astronaut portrait speaking it (mp4 + a labelled contact sheet)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np

from .core.errors import InputError
from .core.formats import atomic_write, write_curves
from .core.request import DEFAULT_ENGINE, EmotionKey, GenerateRequest

DEMO_TEXT = (
    "Bob and Maria painted a big blue boat, and when the morning came, "
    "they sailed past the harbour lights, laughing about everything."
)


def run_demo(out: Path, emotion: str = "happy", intensity: float = 0.8,
             engine: str = DEFAULT_ENGINE) -> Iterator[str]:
    """Write `speech.wav`, `curves.json`, `curves.csv` and `curves.png` under `out`; yield report lines."""
    import soundfile

    from .align.espeak import synthesize

    out.mkdir(parents=True, exist_ok=True)
    speech = synthesize(DEMO_TEXT, voice="en-us+m3", rate=165)
    wav = out / "speech.wav"
    atomic_write(wav, lambda f: soundfile.write(f, speech.audio, speech.sample_rate, format="WAV"))
    yield f"synthesized {len(speech.audio) / speech.sample_rate:.1f} s of speech with espeak-ng -> {wav}"
    curves = animate(speech, emotion, intensity, engine)
    for name in ("curves.json", "curves.csv"):
        write_curves(curves, out / name)
        yield (f"wrote {out / name} ({curves.num_frames} frames at 25 fps, engine {engine}, "
               f"emotion {emotion} {intensity:g})")
    plot_curves(curves, speech.phones, out / "curves.png", f"{emotion} {intensity:g}: {DEMO_TEXT[:60]}...")
    yield f"wrote {out / 'curves.png'} (jawOpen, mouthClose, blinks, brows over time)"
    yield from render_portrait(out, speech, curves, f"{emotion} {intensity:g}")
    yield f"import {out / 'curves.csv'} in Blender, Unreal Live Link or Unity; play {wav} alongside"


def render_portrait(out: Path, speech, curves, label: str) -> Iterator[str]:
    """The scikit-image astronaut portrait speaking the take: `portrait.mp4` and a labelled `portrait_frames.png`."""
    from .render.analysis import analyse
    from .render.pipeline import RenderInput, render_file
    from .render.portraits import astronaut
    from .render.renderer import GeometricRenderer
    from .render.sheet import sheet_frames, write_sheet

    portrait = analyse(astronaut())
    video = out / "portrait.mp4"
    count = render_file(RenderInput(portrait, curves, speech.audio, speech.sample_rate), video)
    yield f"wrote {video} ({count} frames, 512x512, H.264 + AAC; the astronaut portrait, scikit-image, public domain)"
    frames = sheet_frames(GeometricRenderer(portrait), curves, speech.phones)
    sheet = write_sheet(frames, out / "portrait_frames.png", f"geometric renderer, {label}")
    yield f"wrote {sheet} (neutral, open vowel, p/b/m closure, blink, smile, head turn)"


def animate(speech, emotion: str, intensity: float, engine: str):
    """Curves for the synthesized speech: the procedural engine gets espeak's exact phones, any other
    engine the audio and the text, as from the command line."""
    if engine == "procedural":
        from .procedural.engine import animate as procedural

        return procedural(speech.audio, speech.sample_rate, speech.phones, 25.0,
                          [EmotionKey(0.0, emotion, intensity)], seed=7)
    from .engines import generate

    request = GenerateRequest(audio=speech.audio, sample_rate=speech.sample_rate, transcript=DEMO_TEXT,
                              emotion=emotion, intensity=intensity, seed=7, engine=engine)
    return generate(request)[0]


def plot_curves(curves, phones, path: Path, title: str) -> Path:
    """PNG plot of the key channels with the bilabial phones shaded."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from .evaluation.lipsync import lip_gap

    t = np.arange(curves.num_frames) / curves.fps
    rows = [
        ("mouth", ["jawOpen", "mouthClose"], lip_gap(curves.values)),
        ("eyes", ["eyeBlinkLeft", "eyeBlinkRight"], None),
        ("brows", ["browInnerUp", "browDownLeft", "browOuterUpLeft"], None),
        ("smile", ["mouthSmileLeft", "cheekSquintLeft", "mouthFrownLeft"], None),
    ]
    fig, axes = plt.subplots(len(rows), 1, figsize=(12, 8), sharex=True)
    for ax, (label, names, extra) in zip(axes, rows):
        for name in names:
            ax.plot(t, curves.channel(name), label=name, lw=1.2)
        if extra is not None:
            ax.plot(t, extra, label="lip gap", lw=1.0, color="k", ls="--")
            for p in phones:
                if p.phone in ("P", "B", "M"):
                    ax.axvspan(p.start, p.end, color="tab:red", alpha=0.15, lw=0)
        ax.set_ylabel(label)
        ax.set_ylim(-0.02, 1.02)
        ax.legend(loc="upper right", fontsize=7, ncol=4)
    axes[-1].set_xlabel("seconds (red bands: p/b/m)")
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    try:
        atomic_write(path, lambda f: fig.savefig(f, format="png", dpi=90))
    finally:
        plt.close(fig)
    if not path.exists():
        raise InputError(f"could not write {path}")
    return path
