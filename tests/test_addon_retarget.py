"""Retarget name maps (pure Python): presets, user maps, canonical and fuzzy matching, coverage."""

from __future__ import annotations

import json

import addon_support  # noqa: F401  (sys.path + Blender user folder before anything imports bpy)
import pytest
from dreamtalk.core.arkit import ARKIT_NAMES

from blender_addon import retarget


def test_arkit_named_keys_map_one_to_one_exactly():
    rmap = retarget.build_map(["Basis", *ARKIT_NAMES])
    assert rmap.sources == {n: (n,) for n in ARKIT_NAMES}
    assert set(rmap.how.values()) == {"exact"} and rmap.unmapped_arkit == [] and rmap.coverage == 1.0


def test_other_spellings_match_canonically_and_sides_never_swap():
    keys = ["JawOpen", "mouth_smile_L", "mouthSmile_R", "EyeBlinkLeft", "brow_inner_up"]
    rmap = retarget.build_map(keys)
    assert rmap.sources == {
        "JawOpen": ("jawOpen",), "mouth_smile_L": ("mouthSmileLeft",), "mouthSmile_R": ("mouthSmileRight",),
        "EyeBlinkLeft": ("eyeBlinkLeft",), "brow_inner_up": ("browInnerUp",),
    }
    assert len(rmap.unmapped_arkit) == 52 - 5


def test_fuzzy_matching_catches_typos_but_keeps_sides_and_rejects_strangers():
    rmap = retarget.build_map(["mouthSmileLft", "eyeBlinkRigth", "Hair_Wave", "mouthSmileLeft"])
    assert rmap.sources["mouthSmileLeft"] == ("mouthSmileLeft",)  # exact wins, fuzzy does not steal it
    assert rmap.sources["eyeBlinkRigth"] == ("eyeBlinkRight",) and rmap.how["eyeBlinkRigth"] == "fuzzy"
    assert "mouthSmileLft" not in rmap.sources or rmap.sources["mouthSmileLft"] != ("mouthSmileRight",)
    assert "Hair_Wave" in rmap.unused_targets


@pytest.mark.parametrize(("preset", "expected_unmapped"), [
    ("arkit_snake_case", set()),
    ("character_creator_4", set()),
    ("metahuman", {"mouthShrugLower", "mouthShrugUpper"}),
])
def test_full_presets_cover_what_their_notes_claim(preset, expected_unmapped):
    chosen = retarget.presets()[preset]
    rmap = retarget.build_map(list(chosen.sources), chosen, fuzzy=False)
    assert set(rmap.unmapped_arkit) == expected_unmapped
    assert all(rmap.how[k] == "preset" for k in chosen.sources)


def test_vroid_preset_is_partial_and_reports_the_rest():
    chosen = retarget.presets()["vrm_vroid"]
    rmap = retarget.build_map(["Fcl_ALL_Neutral", *chosen.sources], chosen, fuzzy=False)
    assert rmap.sources["Fcl_EYE_Close_L"] == ("eyeBlinkLeft",)
    assert rmap.sources["Fcl_MTH_Fun"] == ("mouthSmileLeft", "mouthSmileRight")
    assert len(rmap.unmapped_arkit) == 31 and "tongueOut" in rmap.unmapped_arkit
    assert rmap.unused_targets == ["Fcl_ALL_Neutral"]
    assert "unmapped ARKit: eyeLookDownLeft" in rmap.summary()


def test_preset_keys_missing_on_the_mesh_are_reported():
    chosen = retarget.presets()["character_creator_4"]
    rmap = retarget.build_map(["Jaw_Open", "Eye_Blink_L"], chosen)
    assert rmap.sources == {"Jaw_Open": ("jawOpen",), "Eye_Blink_L": ("eyeBlinkLeft",)}
    assert "Mouth_Smile_L" in rmap.missing_preset_targets


def test_user_map_overrides_preset_and_accepts_any_arkit_spelling(tmp_path):
    path = tmp_path / "map.json"
    path.write_text(json.dumps({"map": {"Jaw_Open": "mouth_close", "Smile": ["MouthSmileLeft", "mouthSmile_R"]}}))
    user = retarget.load_user_map(path)
    rmap = retarget.build_map(["Jaw_Open", "Smile"], retarget.presets()["character_creator_4"], user)
    assert rmap.sources == {"Jaw_Open": ("mouthClose",), "Smile": ("mouthSmileLeft", "mouthSmileRight")}
    assert rmap.how == {"Jaw_Open": "user", "Smile": "user"}


@pytest.mark.parametrize(("text", "message"), [
    ("{not json", "not valid JSON"),
    ('["jawOpen"]', "must be a JSON object"),
    ('{"Jaw": "jawOpenWide"}', "unknown ARKit channel"),
    ('{"Jaw": []}', "must be an ARKit name or a list"),
])
def test_bad_user_maps_give_one_line_errors(tmp_path, text, message):
    path = tmp_path / "bad.json"
    path.write_text(text)
    with pytest.raises(ValueError, match=message):
        retarget.load_user_map(path)


def test_missing_user_map_file():
    with pytest.raises(ValueError, match="not found"):
        retarget.load_user_map("/nonexistent/map.json")


# A typical hand-made rig (issue 17 item 6): side suffixes, plurals, synonyms, no ARKit spelling.
CUSTOM_RIG = [
    "Blink_L", "Blink_R", "Smile_L", "Smile_R", "Frown_L", "Frown_R", "MouthOpen", "MouthO", "Pucker",
    "LipsClosed", "Jaw_Left", "Jaw_Right", "BrowsUp_L", "BrowsUp_R", "BrowsDown_L", "BrowsDown_R",
    "BrowInnerUp", "Squint_L", "Squint_R", "EyeWide_L", "EyeWide_R", "Sneer_L", "Sneer_R", "CheekPuff",
    "TongueOut",
]


def test_a_typical_custom_rig_is_driven_key_for_key():
    rmap = retarget.build_map(["Basis", *CUSTOM_RIG])
    assert rmap.unused_targets == [] and len(rmap.sources) == 25
    assert rmap.coverage == pytest.approx(25 / 52)  # one channel per key: all such a rig can show
    expected = {
        "Blink_L": ("eyeBlinkLeft",), "Smile_R": ("mouthSmileRight",), "MouthO": ("mouthFunnel",),
        "Pucker": ("mouthPucker",), "LipsClosed": ("mouthClose",), "MouthOpen": ("jawOpen",),
        "BrowsUp_L": ("browOuterUpLeft",), "BrowsDown_R": ("browDownRight",), "Sneer_L": ("noseSneerLeft",),
        "Frown_R": ("mouthFrownRight",), "Squint_L": ("eyeSquintLeft",),
    }
    assert {k: rmap.sources[k] for k in expected} == expected


@pytest.mark.parametrize(("key", "channels"), [
    ("Blink_L", ("eyeBlinkLeft",)), ("L_Blink", ("eyeBlinkLeft",)), ("Left_Eye_Blink", ("eyeBlinkLeft",)),
    ("blink_left", ("eyeBlinkLeft",)), ("BlinkRight", ("eyeBlinkRight",)), ("Blink.R", ("eyeBlinkRight",)),
    ("R_eye_close", ("eyeBlinkRight",)), ("Face.Blink_L", ("eyeBlinkLeft",)), ("EyesClosed_L", ("eyeBlinkLeft",)),
    ("Smile", ("mouthSmileLeft", "mouthSmileRight")), ("O", ("mouthFunnel",)), ("Funnel", ("mouthFunnel",)),
    ("Lips_Funnel", ("mouthFunnel",)), ("Kiss", ("mouthPucker",)), ("lips_closed", ("mouthClose",)),
    ("MouthClosed", ("mouthClose",)), ("R_Brow_Down", ("browDownRight",)), ("CheekPuff_L", ("cheekPuff",)),
    ("Blink", ("eyeBlinkLeft", "eyeBlinkRight")), ("Look_Up_L", ("eyeLookUpLeft",)),
])
def test_common_naming_schemes_and_synonyms(key, channels):
    rmap = retarget.build_map([key])
    assert rmap.sources.get(key) == channels and rmap.how[key] == "scheme"


def test_names_that_mean_nothing_or_both_sides_stay_undriven():
    rmap = retarget.build_map(["Hair_Wave", "Eye_L_Look_R", "Mouth", "L", "Tongue_Curl"])
    assert rmap.sources == {}
    assert rmap.unused_targets == ["Hair_Wave", "Eye_L_Look_R", "Mouth", "L", "Tongue_Curl"]


def test_the_report_lists_every_driven_and_undriven_key():
    rmap = retarget.build_map(["Basis", "Blink_L", "Smile", "Hair_Wave", "jawOpen", "Ear_Wiggle"])
    summary = rmap.summary()
    assert "\n" not in summary and "4 of 6 shape keys driven" not in summary
    assert "3 of 5 shape keys driven" in summary and "undriven: Hair_Wave, Ear_Wiggle" in summary
    lines = rmap.report()
    assert "Blink_L <- eyeBlinkLeft (scheme)" in lines
    assert "Smile <- mouthSmileLeft + mouthSmileRight (scheme)" in lines
    assert "jawOpen <- jawOpen (exact)" in lines
    undriven = lines[lines.index("Undriven shape keys (2):") + 1:][:2]
    assert undriven == ["Hair_Wave", "Ear_Wiggle"]
    assert f"ARKit channels driving nothing ({52 - 4}):" in lines
