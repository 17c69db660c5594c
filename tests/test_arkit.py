import pytest

from dreamtalk.core import arkit


def test_52_names_in_apple_order():
    assert len(arkit.ARKIT_NAMES) == 52 == len(set(arkit.ARKIT_NAMES))
    assert arkit.ARKIT_NAMES[0] == "eyeBlinkLeft" and arkit.ARKIT_NAMES[-1] == "tongueOut"
    assert arkit.ARKIT_NAMES.index("jawLeft") < arkit.ARKIT_NAMES.index("jawRight")
    assert arkit.ARKIT_NAMES.index("mouthLeft") < arkit.ARKIT_NAMES.index("mouthRight")
    assert arkit.ARKIT_NAMES[14:18] == ("jawForward", "jawLeft", "jawRight", "jawOpen")


def test_regions_partition_the_names():
    union = [n for region in arkit.REGIONS.values() for n in region]
    assert sorted(union) == sorted(arkit.ARKIT_NAMES)
    assert "tongueOut" in arkit.MOUTH and "jawOpen" in arkit.MOUTH and "eyeBlinkLeft" in arkit.EYES
    assert set(arkit.CHEEKS_NOSE) == {"cheekPuff", "cheekSquintLeft", "cheekSquintRight",
                                      "noseSneerLeft", "noseSneerRight"}


@pytest.mark.parametrize("raw, canon", [
    ("JawOpen", "jawOpen"), ("jaw_open", "jawOpen"), ("JAW_OPEN", "jawOpen"),
    ("mouthSmile_L", "mouthSmileLeft"), ("MouthSmileR", "mouthSmileRight"),
    ("Brow_Down_L", "browDownLeft"), ("eye_blink_right", "eyeBlinkRight"),
    ("blendShape1.cheekPuff", "cheekPuff"), ('key_blocks["tongueOut"]', "tongueOut"),
    ("HeadYaw", "headYaw"), ("LeftEyePitch", "leftEyePitch"), ("MouthLeft", "mouthLeft"),
])
def test_canonical_name(raw, canon):
    assert arkit.canonical_name(raw) == canon


def test_unknown_names_are_none():
    assert arkit.canonical_name("Timecode") is None
    assert arkit.canonical_name("mouthSmile") is None


def test_match_names_by_name_not_position():
    header = ["Timecode", "JawRight", "JawLeft", "MouthRight", "MouthLeft"]
    found = arkit.match_names(header)
    assert found == {"jawRight": 1, "jawLeft": 2, "mouthRight": 3, "mouthLeft": 4}


def test_mirror_name():
    assert arkit.mirror_name("eyeBlinkLeft") == "eyeBlinkRight"
    assert arkit.mirror_name("mouthRight") == "mouthLeft"
    assert arkit.mirror_name("jawOpen") == "jawOpen"
    assert all(arkit.mirror_name(n) in arkit.ARKIT_NAMES for n in arkit.ARKIT_NAMES)
