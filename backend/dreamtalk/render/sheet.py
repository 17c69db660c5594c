"""A labelled contact sheet of rendered frames (the demo's `portrait_frames.png`)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..core.arkit import INDEX
from ..core.curves import Curves
from ..core.formats import atomic_write
from .renderer import GeometricRenderer

BILABIALS = ("P", "B", "M")


def _weights(**keys: float) -> np.ndarray:
    w = np.zeros(52)
    for key, value in keys.items():
        w[INDEX[key]] = value
    return w


def sheet_frames(renderer: GeometricRenderer, curves: Curves, phones=()) -> list[tuple[str, np.ndarray]]:
    """(label, frame) for: neutral, open vowel, p/b/m closure, blink, smile, head turn.

    Open vowel, closure and blink are frames of the take (the most open frame, the middle of a
    bilabial phone, the most closed eyes); smile and head turn are posed, since a take's head moves
    by a few degrees only.
    """
    blink = curves.values[:, [INDEX["eyeBlinkLeft"], INDEX["eyeBlinkRight"]]].min(1)  # both eyes closed
    open_frame = int(np.argmax(curves.values[:, INDEX["jawOpen"]]))
    picks = [("neutral (all zero)", _weights(), np.zeros(3))]
    picks.append((f"open vowel (t={open_frame / curves.fps:.2f} s)", curves.values[open_frame], curves.head_pose[open_frame]))
    middles = [min(int(round((p.start + p.end) / 2 * curves.fps)), curves.num_frames - 1)
               for p in phones if getattr(p, "phone", "") in BILABIALS]
    if middles:  # the bilabial the take closes hardest
        sealing = curves.values[:, [INDEX["mouthClose"], INDEX["mouthPressLeft"], INDEX["mouthPressRight"]]].sum(1)
        middle = max(middles, key=lambda frame: sealing[frame])
        picks.append((f"p/b/m closure (t={middle / curves.fps:.2f} s)", curves.values[middle], curves.head_pose[middle]))
    blink_frame = int(np.argmax(blink))
    picks.append((f"blink (t={blink_frame / curves.fps:.2f} s)", curves.values[blink_frame], curves.head_pose[blink_frame]))
    picks.append(("smile (mouthSmile 0.8)", _weights(mouthSmileLeft=0.8, mouthSmileRight=0.8, cheekSquintLeft=0.3,
                                                     cheekSquintRight=0.3), np.zeros(3)))
    picks.append(("head turn (yaw 12 deg, pitch 5 deg)", _weights(jawOpen=0.15), np.radians([12.0, 5.0, 0.0])))
    return [(label, renderer.render_frame(w, pose)) for label, w, pose in picks]


def write_sheet(frames: list[tuple[str, np.ndarray]], path: Path, title: str) -> Path:
    """A 3-column PNG grid of the frames with their labels."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    columns = 3
    rows = -(-len(frames) // columns)
    fig, axes = plt.subplots(rows, columns, figsize=(4 * columns, 4.3 * rows))
    for ax in np.atleast_1d(axes).ravel():
        ax.axis("off")
    for ax, (label, frame) in zip(np.atleast_1d(axes).ravel(), frames):
        ax.imshow(frame)
        ax.set_title(label, fontsize=11)
    fig.suptitle(title, fontsize=12)
    fig.tight_layout()
    try:
        atomic_write(path, lambda f: fig.savefig(f, format="png", dpi=80))
    finally:
        plt.close(fig)
    return path
