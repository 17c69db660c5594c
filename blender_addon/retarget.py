"""Retargeting ARKit-52 channels onto shape keys with other names (pure Python, no bpy).

A map is *target-centric*: each target shape key is driven by the mean of one or more ARKit channels
(`{"Fcl_EYE_Close": ["eyeBlinkLeft", "eyeBlinkRight"]}`), so a one-sided rig, a two-sided rig and a
rig whose controls split one ARKit channel in four all fit the same format.

Resolution order for each target key (first hit wins):
1. the user's JSON map, 2. the chosen preset, 3. the exact ARKit name,
4. `canonical_name` (case, separators, `_L`/`_R`, PascalCase), 5. common naming schemes and synonyms
   of hand-made rigs (`naming`: `L_`/`R_` prefixes, plurals, `Blink`, `Smile`, `O`, `LipsClosed` ...),
6. fuzzy matching (`difflib.SequenceMatcher` ratio on folded names above `FUZZY_CUTOFF`, never across
   sides). Every key is reported as driven (by what, found how) or undriven, and so is every ARKit
   channel that drives nothing: nothing is dropped silently.
"""

from __future__ import annotations

import difflib
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from ._core import arkit
from .naming import SIDE_WORDS, scheme_channels, words

_fold = arkit._fold  # 'Mouth_Smile_L' -> 'mouthsmileleft' (the key canonical_name matches on)
PRESET_DIR = Path(__file__).with_name("retarget_presets")
FUZZY_CUTOFF = 0.84  # SequenceMatcher ratio needed for a fuzzy match (0..1)
IGNORED_KEYS = frozenset({"basis"})  # reference shape keys never driven


@dataclass
class RetargetMap:
    """Which ARKit channels drive which target shape key, plus a coverage report."""

    sources: dict[str, tuple[str, ...]] = field(default_factory=dict)  # target key -> ARKit names
    how: dict[str, str] = field(default_factory=dict)  # target key -> user|preset|exact|canonical|scheme|fuzzy
    unmapped_arkit: list[str] = field(default_factory=list)  # ARKit channels that drive nothing
    unused_targets: list[str] = field(default_factory=list)  # target keys left undriven
    missing_preset_targets: list[str] = field(default_factory=list)  # preset keys absent on the mesh

    @property
    def coverage(self) -> float:
        """Fraction of the 52 ARKit channels that drive at least one target key."""
        return 1.0 - len(self.unmapped_arkit) / arkit.NUM_BLENDSHAPES

    def summary(self) -> str:
        """One line for a Blender report: keys driven, coverage, the undriven keys and unused channels."""
        total = len(self.sources) + len(self.unused_targets)
        text = f"{len(self.sources)} of {total} shape keys driven, ARKit coverage {self.coverage:.0%}"
        if self.unused_targets:
            text += f"; undriven: {_first(self.unused_targets)}"
        if self.unmapped_arkit:
            text += f"; unmapped ARKit: {_first(self.unmapped_arkit)}"
        return text

    def report(self) -> list[str]:
        """Every target key, driven (by which channels, found how) or undriven, then unused channels."""
        lines = [self.summary(), f"Driven shape keys ({len(self.sources)}):"]
        lines += [f"{key} <- {' + '.join(names)} ({self.how[key]})" for key, names in self.sources.items()]
        lines += [f"Undriven shape keys ({len(self.unused_targets)}):", *self.unused_targets]
        lines += [f"ARKit channels driving nothing ({len(self.unmapped_arkit)}):", *self.unmapped_arkit]
        if self.missing_preset_targets:
            lines += [f"Preset keys not on the mesh ({len(self.missing_preset_targets)}):", *self.missing_preset_targets]
        return lines


def _first(names: list[str], count: int = 6) -> str:
    more = f" (+{len(names) - count} more)" if len(names) > count else ""
    return ", ".join(names[:count]) + more


@dataclass(frozen=True)
class Preset:
    """A named retarget convention loaded from `retarget_presets/<id>.json`."""

    id: str
    name: str
    description: str
    sources: dict[str, tuple[str, ...]]  # target key -> ARKit names
    notes: str = ""


def parse_map(data: object, source: str = "map") -> dict[str, tuple[str, ...]]:
    """Validate a `{target: arkit | [arkit, ...]}` mapping; ARKit names may use any spelling."""
    if not isinstance(data, dict):
        raise ValueError(f"{source}: a retarget map must be a JSON object of target -> ARKit name(s)")
    out: dict[str, tuple[str, ...]] = {}
    for target, value in data.items():
        names = [value] if isinstance(value, str) else value
        if not isinstance(names, list) or not names or not all(isinstance(n, str) for n in names):
            raise ValueError(f"{source}: entry {target!r} must be an ARKit name or a list of them")
        canon = [arkit.canonical_name(n) for n in names]
        bad = [n for n, c in zip(names, canon, strict=True) if c not in arkit.INDEX]
        if bad:
            raise ValueError(f"{source}: entry {target!r} names unknown ARKit channel(s) {bad}")
        out[str(target)] = tuple(canon)  # type: ignore[arg-type]
    return out


def load_user_map(path: str | Path) -> dict[str, tuple[str, ...]]:
    """Read a user JSON map (either the bare mapping or a preset-shaped file with a "map" key)."""
    p = Path(path)
    if not p.is_file():
        raise ValueError(f"retarget map not found: {p}")
    try:
        data = json.loads(p.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValueError(f"{p.name} is not valid JSON: {exc}") from None
    if isinstance(data, dict) and isinstance(data.get("map"), dict):
        data = data["map"]
    return parse_map(data, p.name)


def presets() -> dict[str, Preset]:
    """All bundled presets by id (sorted by file name)."""
    found: dict[str, Preset] = {}
    for path in sorted(PRESET_DIR.glob("*.json")):
        data = json.loads(path.read_text(encoding="utf-8"))
        found[path.stem] = Preset(
            id=path.stem, name=data["name"], description=data["description"],
            sources=parse_map(data["map"], path.name), notes=data.get("notes", ""),
        )
    return found


def build_map(
    target_keys: Sequence[str],
    preset: Preset | None = None,
    user_map: dict[str, tuple[str, ...]] | None = None,
    fuzzy: bool = True,
) -> RetargetMap:
    """Resolve which ARKit channels drive each of `target_keys` (see the module docstring)."""
    result = RetargetMap()
    keys = [k for k in target_keys if k.lower() not in IGNORED_KEYS]
    layers = [("user", user_map or {}), ("preset", preset.sources if preset else {})]
    for key in keys:
        for how, table in layers:
            if key in table:
                result.sources[key], result.how[key] = table[key], how
                break
        else:
            canon = key if key in arkit.INDEX else arkit.canonical_name(key)
            scheme = None if canon in arkit.INDEX else scheme_channels(key)
            if canon in arkit.INDEX:
                result.sources[key] = (canon,)
                result.how[key] = "exact" if canon == key else "canonical"
            elif scheme is not None:
                result.sources[key], result.how[key] = scheme, "scheme"
    if fuzzy:
        _fuzzy_fill(result, [k for k in keys if k not in result.sources])
    if preset is not None:
        result.missing_preset_targets = [k for k in preset.sources if k not in set(keys)]
    driven = {name for names in result.sources.values() for name in names}
    result.unmapped_arkit = [n for n in arkit.ARKIT_NAMES if n not in driven]
    result.unused_targets = [k for k in keys if k not in result.sources]
    return result


def _fuzzy_fill(result: RetargetMap, leftovers: Iterable[str]) -> None:
    """Match leftover keys to still-undriven ARKit names by folded-name similarity, same side only."""
    driven = {name for names in result.sources.values() for name in names}
    free = {_fold(n): n for n in arkit.ARKIT_NAMES if n not in driven}
    for key in leftovers:
        if len({SIDE_WORDS[w] for w in words(key) if w in SIDE_WORDS}) > 1:
            continue  # names both sides ('Eye_L_Look_R'): no guess can be right
        folded = _fold(key)
        best, score = None, FUZZY_CUTOFF
        for candidate in free:
            if _side(candidate) and _side(folded) and _side(candidate) != _side(folded):
                continue  # never swap sides
            ratio = difflib.SequenceMatcher(None, folded, candidate).ratio()
            if ratio >= score:
                best, score = candidate, ratio
        if best is not None:
            result.sources[key], result.how[key] = (free.pop(best),), "fuzzy"


def _side(folded: str) -> str:
    return "left" if folded.endswith("left") else "right" if folded.endswith("right") else ""

