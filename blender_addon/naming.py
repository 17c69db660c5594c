"""Shape-key naming schemes of hand-made rigs -> ARKit channels (pure Python, no bpy).

A key name is split into words (CamelCase, snake_case, spaces, dots, dashes; a namespace such as
`Face.` or `mesh:` dropped), its side read from a side word anywhere (`_L`/`_R`, `Left`/`Right`,
`L_`/`R_` prefixes, `.L`), plurals folded (`Brows`, `Lips`, `Eyes`), and the remaining words looked up
as one concept: an ARKit channel without its side (`eyeBlink`, `mouthSmile`) or a synonym of one
(`Blink`, `Smile`, `O` = funnel, `Kiss` = pucker, `LipsClosed` = mouthClose ...). A sided key drives
that side's channel; a side-less key of a two-sided concept drives both (their mean). A name with
both sides (`Eye_L_Look_R`, CC4) or an unknown concept is left to presets and the user map.
"""

from __future__ import annotations

import re

from ._core import arkit

SIDE_WORDS = {"l": "Left", "left": "Left", "lft": "Left", "r": "Right", "right": "Right", "rgt": "Right"}
PLURALS = {"eyes": "eye", "brows": "brow", "lips": "lip", "cheeks": "cheek", "lids": "lid"}
DIRECTIONAL = frozenset({"jawLeft", "jawRight", "mouthLeft", "mouthRight"})  # Left/Right = direction here

# Concept (ARKit name without side) -> other spellings, folded: lower case, no separators, singular.
SYNONYMS: dict[str, tuple[str, ...]] = {
    "eyeBlink": ("blink", "eyeclose", "eyeclosed", "closeeye", "lidclose", "eyelidclose", "eyelidclosed"),
    "eyeSquint": ("squint",),
    "eyeWide": ("wide", "eyeopen", "eyewiden", "widen"),
    "eyeLookUp": ("lookup", "eyeup"),
    "eyeLookDown": ("lookdown", "eyedown"),
    "eyeLookIn": ("lookin", "eyein"),
    "eyeLookOut": ("lookout", "eyeout"),
    "jawOpen": ("mouthopen", "openmouth", "jawdown", "openjaw"),
    "jawForward": ("jawfwd", "jawout"),
    "mouthClose": ("lipclosed", "lipclose", "mouthclosed", "closelip", "closedlip", "lipseal"),
    "mouthFunnel": ("o", "moutho", "oh", "funnel", "lipfunnel"),
    "mouthPucker": ("u", "mouthu", "oo", "pucker", "lippucker", "kiss"),
    "mouthSmile": ("smile", "lipsmile", "mouthcornerup", "lipcornerup"),
    "mouthFrown": ("frown", "mouthcornerdown", "lipcornerdown"),
    "mouthDimple": ("dimple",),
    "mouthStretch": ("stretch", "lipstretch"),
    "mouthPress": ("press", "lippress"),
    "mouthRollLower": ("rolllower", "lowerliproll", "rolllowerlip", "lowerlipin"),
    "mouthRollUpper": ("rollupper", "upperliproll", "rollupperlip", "upperlipin"),
    "mouthShrugLower": ("shruglower", "lowerlipshrug"),
    "mouthShrugUpper": ("shrugupper", "upperlipshrug"),
    "mouthLowerDown": ("lowerlipdown",),
    "mouthUpperUp": ("upperlipup", "upperlipraise"),
    "browDown": ("browlower", "browfurrow"),
    "browInnerUp": ("innerbrowup", "browinnerraise", "innerbrowraise", "browraiseinner"),
    "browOuterUp": ("browup", "browraise", "outerbrowup", "browouterraise", "outerbrowraise", "browraiseouter"),
    "cheekPuff": ("puff", "puffcheek", "cheekblow"),
    "cheekSquint": ("cheekraise", "cheekup"),
    "noseSneer": ("sneer", "nosewrinkle", "nosescrunch"),
    "tongueOut": ("tongue", "tongueextend"),
}


def concept_of(name: str) -> str:
    """'eyeBlinkLeft' -> 'eyeBlink'; one-sided and directional channels stay as they are."""
    if name not in DIRECTIONAL:
        for side in ("Left", "Right"):
            if name.endswith(side):
                return name[: -len(side)]
    return name


def _concepts() -> dict[str, str]:
    table = {concept_of(n).lower(): concept_of(n) for n in arkit.ARKIT_NAMES}
    for concept, spellings in SYNONYMS.items():
        table.update(dict.fromkeys(spellings, concept))
    return table


CONCEPTS = _concepts()  # folded spelling -> concept


def words(name: str) -> list[str]:
    """'Face.BrowsDown_L' -> ['brow', 'down', 'l'] (namespace dropped, CamelCase split, singular)."""
    name = re.sub(r"^.*[.:|](?=[^.:|]{2,}$)", "", name.strip())
    spaced = re.sub(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])", " ", name)
    return [PLURALS.get(w, w) for w in re.split(r"[\s_\-.:|\[\]\"]+", spaced.lower()) if w]


def scheme_channels(name: str) -> tuple[str, ...] | None:
    """The ARKit channels a key named in a common scheme stands for, or None when it names none."""
    parts = words(name)
    sides = {SIDE_WORDS[w] for w in parts if w in SIDE_WORDS}
    concept = CONCEPTS.get("".join(w for w in parts if w not in SIDE_WORDS))
    if concept is None or len(sides) > 1:
        return None
    if concept in arkit.INDEX:  # one-sided (jawOpen) or directional (jawLeft): a side word adds nothing
        return (concept,)
    return (concept + sides.pop(),) if sides else (concept + "Left", concept + "Right")
