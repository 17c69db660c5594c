"""Scene settings of the DREAM-Talk panel (`scene.dreamtalk`)."""

from __future__ import annotations

import bpy
from bpy.props import (
    BoolProperty,
    CollectionProperty,
    EnumProperty,
    FloatProperty,
    IntProperty,
    PointerProperty,
    StringProperty,
)

from ._core import request
from .retarget import presets

EMOTION_ITEMS = [(e, e.capitalize(), f"{e} emotion") for e in request.EMOTIONS]


_PRESET_ITEMS: list[tuple[str, str, str]] = []  # kept alive: Blender does not copy dynamic enum strings


def _preset_items(_self, _context):
    if not _PRESET_ITEMS:
        _PRESET_ITEMS.append(("AUTO", "ARKit names (auto)", "Exact, canonical and fuzzy ARKit name matching"))
        _PRESET_ITEMS.extend((p.id, p.name, p.description) for p in presets().values())
    return _PRESET_ITEMS


def _is_mesh(_self, obj) -> bool:
    return obj.type == "MESH"


class DREAMTALK_PG_emotion_key(bpy.types.PropertyGroup):
    """One emotion key: from `time` seconds on, blend towards `emotion` at `intensity`."""

    time: FloatProperty(name="Time", description="Seconds from the start of the audio", min=0.0, unit="TIME_ABSOLUTE")
    emotion: EnumProperty(name="Emotion", items=EMOTION_ITEMS, default="neutral")
    intensity: FloatProperty(name="Intensity", min=0.0, max=1.0, default=0.6, subtype="FACTOR")


class DREAMTALK_PG_settings(bpy.types.PropertyGroup):
    """Everything one Generate needs; stored per scene so it is saved with the file."""

    target: PointerProperty(
        name="Target", type=bpy.types.Object, poll=_is_mesh,
        description="Mesh whose shape keys are animated (ARKit-named, or mapped by a retarget preset)",
    )
    audio_source: EnumProperty(
        name="Audio", items=[("FILE", "File", "An audio file"), ("STRIP", "Sound strip", "An existing sound strip")],
    )
    audio_path: StringProperty(name="Audio file", subtype="FILE_PATH")
    sound_strip: StringProperty(name="Sound strip", description="Name of a sound strip in the sequencer")
    transcript: StringProperty(name="Transcript", description="Optional text spoken in the audio: the lips then follow its "
                             "forced alignment (precise mode; the procedural engine aligns it too)")
    emotion: EnumProperty(name="Emotion", items=EMOTION_ITEMS, default="neutral")
    intensity: FloatProperty(name="Intensity", min=0.0, max=1.0, default=0.6, subtype="FACTOR")
    emotion_keys: CollectionProperty(type=DREAMTALK_PG_emotion_key)
    emotion_key_index: IntProperty(default=0)
    style_source: EnumProperty(
        name="Style",
        items=[("NONE", "None", "No style clip"), ("ACTION", "Action", "An existing shape-key action"),
               ("FILE", "Curves file", "A .json/.csv/.npz curves file")],
    )
    style_action: PointerProperty(name="Style action", type=bpy.types.Action)
    style_path: StringProperty(name="Style file", subtype="FILE_PATH")
    engine: StringProperty(name="Engine", default="emodiff", description="emodiff (the diffusion model) or procedural")
    seed: IntProperty(name="Seed", min=0, default=0)
    takes: IntProperty(name="Takes", min=1, max=16, default=1)
    steps: IntProperty(name="Steps", min=0, max=1000, default=0, description="Sampling steps (0: engine default)")
    guidance: FloatProperty(name="Guidance", min=0.0, max=20.0, default=0.0, description="0: engine default")
    refine: BoolProperty(name="Refine lips", default=True, description="Lip refinement after EmoDiff (off: EmoDiff's curves unchanged)")
    precise: BoolProperty(name="Precise lips", default=False,
                          description="Without a transcript: the backend transcribes the speech (Whisper) and puts "
                                      "the lips on its forced alignment, but for words Whisper is unsure of "
                                      "(slower; a transcript always does this)")
    start_frame: IntProperty(name="Start frame", default=1)
    retarget_preset: EnumProperty(name="Retarget", items=_preset_items)
    retarget_map_path: StringProperty(name="User map", subtype="FILE_PATH", description="JSON {shape key: ARKit name(s)}")
    head_mode: EnumProperty(
        name="Head pose",
        items=[("NONE", "None", "Do not animate the head"), ("OBJECT", "Object", "Rotate an object"),
               ("BONE", "Bone", "Rotate a pose bone")],
    )
    head_object: PointerProperty(name="Head", type=bpy.types.Object)
    head_bone: StringProperty(name="Bone")
    reduce_keys: BoolProperty(name="Reduce keys", description="Drop keys while staying within the tolerance")
    reduce_tolerance: FloatProperty(name="Max error", min=0.0, max=0.2, default=0.01, precision=4)
    add_sound: BoolProperty(name="Add sound strip", default=True)
    fit_scene_range: BoolProperty(
        name="Fit scene range", default=True, description="Set the scene's start and end frame to the take",
    )
    range_start: IntProperty(name="From", default=1)
    range_end: IntProperty(name="To", default=50)
    locked_frames: StringProperty(name="Locked", description="Frames kept by Regenerate range, e.g. 10-20, 35")
    portrait_path: StringProperty(
        name="Portrait", subtype="FILE_PATH", description="Photo of one face (PNG or JPEG) to animate with the active take")
    render_output: StringProperty(
        name="Video", subtype="FILE_PATH", default="//dreamtalk_render.mp4", description="The .mp4 the backend's video is written to")
    render_size: IntProperty(name="Size", min=64, max=2048, step=2, default=512, description="Side of the square head crop, pixels (even)")
    render_full: BoolProperty(name="Whole picture", description="Keep the whole photo instead of a square crop around the head")


classes = (DREAMTALK_PG_emotion_key, DREAMTALK_PG_settings)


def register() -> None:
    bpy.types.Scene.dreamtalk = PointerProperty(type=DREAMTALK_PG_settings)


def unregister() -> None:
    del bpy.types.Scene.dreamtalk
