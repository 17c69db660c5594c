"""The ARKit-52 schema: names in Apple's order, region groups, head pose and name matching.

Order follows Apple's `ARFaceAnchor.BlendShapeLocation` declarations (eyeBlinkLeft ... tongueOut).
Live Link Face CSVs use PascalCase and swap the Jaw/Mouth Left/Right columns, so every reader matches
by *name* through `canonical_name`, never by position.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

ARKIT_NAMES: tuple[str, ...] = (
    "eyeBlinkLeft", "eyeLookDownLeft", "eyeLookInLeft", "eyeLookOutLeft", "eyeLookUpLeft",
    "eyeSquintLeft", "eyeWideLeft",
    "eyeBlinkRight", "eyeLookDownRight", "eyeLookInRight", "eyeLookOutRight", "eyeLookUpRight",
    "eyeSquintRight", "eyeWideRight",
    "jawForward", "jawLeft", "jawRight", "jawOpen",
    "mouthClose", "mouthFunnel", "mouthPucker", "mouthLeft", "mouthRight",
    "mouthSmileLeft", "mouthSmileRight", "mouthFrownLeft", "mouthFrownRight",
    "mouthDimpleLeft", "mouthDimpleRight", "mouthStretchLeft", "mouthStretchRight",
    "mouthRollLower", "mouthRollUpper", "mouthShrugLower", "mouthShrugUpper",
    "mouthPressLeft", "mouthPressRight", "mouthLowerDownLeft", "mouthLowerDownRight",
    "mouthUpperUpLeft", "mouthUpperUpRight",
    "browDownLeft", "browDownRight", "browInnerUp", "browOuterUpLeft", "browOuterUpRight",
    "cheekPuff", "cheekSquintLeft", "cheekSquintRight",
    "noseSneerLeft", "noseSneerRight",
    "tongueOut",
)
NUM_BLENDSHAPES = len(ARKIT_NAMES)
INDEX: dict[str, int] = {name: i for i, name in enumerate(ARKIT_NAMES)}

HEAD_POSE_NAMES: tuple[str, ...] = ("headYaw", "headPitch", "headRoll")  # radians
EYE_ROTATION_NAMES: tuple[str, ...] = (
    "leftEyeYaw", "leftEyePitch", "leftEyeRoll", "rightEyeYaw", "rightEyePitch", "rightEyeRoll",
)  # radians

# Region groups. MOUTH is the set the lip refiner owns (mouth + jaw + tongue).
MOUTH: tuple[str, ...] = tuple(n for n in ARKIT_NAMES if n.startswith(("jaw", "mouth", "tongue")))
EYES: tuple[str, ...] = tuple(n for n in ARKIT_NAMES if n.startswith("eye"))
BROWS: tuple[str, ...] = tuple(n for n in ARKIT_NAMES if n.startswith("brow"))
CHEEKS_NOSE: tuple[str, ...] = tuple(n for n in ARKIT_NAMES if n.startswith(("cheek", "nose")))
REGIONS: dict[str, tuple[str, ...]] = {
    "mouth": MOUTH, "eyes": EYES, "brows": BROWS, "cheeks_nose": CHEEKS_NOSE,
}
UPPER_FACE: tuple[str, ...] = EYES + BROWS + CHEEKS_NOSE


def indices(names: Iterable[str]) -> list[int]:
    """Column indices of ARKit `names` (canonical spelling) in `ARKIT_NAMES` order."""
    return [INDEX[n] for n in names]


def mirror_name(name: str) -> str:
    """The left/right twin of an ARKit name (itself when it has no side)."""
    if name.endswith("Left"):
        return name[:-4] + "Right"
    if name.endswith("Right"):
        return name[:-5] + "Left"
    return name


def _fold(name: str) -> str:
    """Case-, separator- and side-suffix-insensitive key: 'Mouth_Smile_L' -> 'mouthsmileleft'."""
    s = name.strip()
    s = re.sub(r"^(blendShape\d*\.|blendshape\.|key_blocks\[\"?)", "", s, flags=re.IGNORECASE)
    s = s.rstrip('"]')
    s = re.sub(r"[\s_\-\.]+([LR])$", lambda m: "left" if m.group(1) == "L" else "right", s)
    s = re.sub(r"(?<=[a-z])([LR])$", lambda m: "left" if m.group(1) == "L" else "right", s)
    return re.sub(r"[\s_\-\.]", "", s).lower()


_FOLDED: dict[str, str] = {_fold(n): n for n in ARKIT_NAMES + HEAD_POSE_NAMES + EYE_ROTATION_NAMES}


def canonical_name(name: str) -> str | None:
    """The ARKit spelling of `name` ('JawOpen', 'jaw_open', 'mouthSmile_L' ...), or None if unknown."""
    return _FOLDED.get(_fold(name))


def match_names(names: Sequence[str]) -> dict[str, int]:
    """Map each recognised canonical name to its column in `names`; unknown columns are skipped."""
    found: dict[str, int] = {}
    for column, raw in enumerate(names):
        canon = canonical_name(raw)
        if canon is not None and canon not in found:
            found[canon] = column
    return found


def pascal_case(name: str) -> str:
    """Live Link Face spelling: 'eyeBlinkLeft' -> 'EyeBlinkLeft'."""
    return name[:1].upper() + name[1:]
