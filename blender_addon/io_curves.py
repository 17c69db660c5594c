"""Export / import: Live Link Face CSV and arkit52 JSON (dreamtalk.core.formats), glTF morph animation.

Export reads the target's current shape-key action back into ARKit curves at the scene frame rate
(one-to-one mapped keys; see `apply.read_fcurves`), from the panel's start frame to the last key,
plus the head pose when the panel has a head target. Import writes a Live Link Face CSV onto any
mapped character (and its head) as a new Action, like a generated take.
"""

from __future__ import annotations

from pathlib import Path

import bpy
from bpy.props import EnumProperty, StringProperty
from bpy_extras.io_utils import ExportHelper, ImportHelper

from . import apply, generate
from ._core import Curves, DreamTalkError, formats


def export_curves(context, path: str) -> Curves:
    """Write the target's animation to `path` (.csv Live Link Face or .json arkit52), atomically."""
    settings = context.scene.dreamtalk
    obj = settings.target
    key = apply.shape_keys_of(obj)
    if key.animation_data is None or key.animation_data.action is None:
        raise ValueError(f"{obj.name} has no shape-key animation to export")
    last = int(round(key.animation_data.action.frame_range[1]))
    if last < settings.start_frame:
        raise ValueError(f"the animation ends at frame {last}, before the start frame {settings.start_frame}")
    frames = range(settings.start_frame, last + 1)
    curves = apply.read_back(obj, generate.retarget_map(settings, obj), frames, apply.scene_fps(context.scene))
    head = generate.head_target(settings)
    if head is not None:
        curves = Curves(curves.fps, curves.values, apply.read_head(head, frames))
    formats.write_curves(curves, path)
    return curves


def import_llf_csv(context, path: str) -> tuple[bpy.types.Action, str, str | None]:
    """Key a Live Link Face CSV onto the target (through its retarget map) as a new Action.

    Returns the action, the take's summary line and the clamping warning (None when nothing was
    clamped). The take is read on its own clock (`formats.read_llf_take`), then resampled to the scene.
    """
    settings = context.scene.dreamtalk
    obj = settings.target
    rmap = generate.retarget_map(settings, obj)
    take = formats.read_llf_take(path)
    curves = apply.conform(take.curves, context.scene)
    head = generate.head_target(settings)
    action = apply.apply_take(obj, curves, f"DT import {Path(path).stem}", rmap, settings.start_frame, head)
    if settings.fit_scene_range:
        apply.fit_scene_range(context.scene, settings.start_frame, curves.num_frames)
    return action, take.summary.line(), take.summary.warning()


class DREAMTALK_OT_export_curves(bpy.types.Operator, ExportHelper):
    """Export the target's face animation as Live Link Face CSV or arkit52 JSON"""

    bl_idname = "dreamtalk.export_curves"
    bl_label = "Export ARKit curves"
    filename_ext = ".csv"
    filter_glob: StringProperty(default="*.csv;*.json", options={"HIDDEN"})
    file_format: EnumProperty(
        name="Format", items=[(".csv", "Live Link Face CSV", ""), (".json", "arkit52 JSON", "")],
    )

    def check(self, context) -> bool:
        self.filename_ext = self.file_format
        return super().check(context)

    def execute(self, context):
        path = str(Path(self.filepath).with_suffix(self.file_format))
        try:
            curves = export_curves(context, path)
        except (DreamTalkError, ValueError) as exc:
            self.report({"ERROR"}, str(exc))
            return {"CANCELLED"}
        self.report({"INFO"}, f"wrote {curves.num_frames} frames to {Path(path).name}")
        return {"FINISHED"}


class DREAMTALK_OT_import_llf_csv(bpy.types.Operator, ImportHelper):
    """Import a Live Link Face CSV onto the target character (new Action, old one kept)"""

    bl_idname = "dreamtalk.import_llf_csv"
    bl_label = "Import Live Link Face CSV"
    bl_options = {"REGISTER", "UNDO"}
    filename_ext = ".csv"
    filter_glob: StringProperty(default="*.csv", options={"HIDDEN"})

    def execute(self, context):
        try:
            action, summary, warning = import_llf_csv(context, self.filepath)
        except (DreamTalkError, ValueError) as exc:
            self.report({"ERROR"}, str(exc))
            return {"CANCELLED"}
        if warning:
            self.report({"WARNING"}, f"{Path(self.filepath).name}: {warning}")
        self.report({"INFO"}, f"imported {Path(self.filepath).name} as {action.name}: {summary}")
        return {"FINISHED"}


class DREAMTALK_OT_export_gltf(bpy.types.Operator, ExportHelper):
    """Export the target with its morph-target (shape-key) animation through Blender's glTF exporter"""

    bl_idname = "dreamtalk.export_gltf"
    bl_label = "Export glTF (morph animation)"
    filename_ext = ".glb"
    filter_glob: StringProperty(default="*.glb;*.gltf", options={"HIDDEN"})

    def execute(self, context):
        try:
            export_gltf(context, self.filepath)
        except (DreamTalkError, ValueError, RuntimeError) as exc:
            self.report({"ERROR"}, str(exc))
            return {"CANCELLED"}
        return {"FINISHED"}


def export_gltf(context, path: str) -> None:
    """glTF (.glb, or .gltf + .bin) of the target and its head: morph-target weights animation and the
    head's rotation animation (its node, or its armature's joints), keys starting at t = 0."""
    settings = context.scene.dreamtalk
    obj = settings.target
    key = apply.shape_keys_of(obj)
    if key.animation_data is None or key.animation_data.action is None:
        raise ValueError(f"{obj.name} has no shape-key animation to export")
    head = generate.head_target(settings)
    chosen = {obj, *([] if head is None else [head.obj]), *_ancestors(obj)}
    layer = context.view_layer
    selected, active = [o for o in layer.objects if o.select_get()], layer.objects.active
    for other in layer.objects:
        other.select_set(other in chosen)
    layer.objects.active = obj
    try:
        bpy.ops.export_scene.gltf(
            filepath=path, export_format="GLTF_SEPARATE" if path.lower().endswith(".gltf") else "GLB",
            use_selection=True, export_animations=True, export_morph=True, export_morph_animation=True,
            export_animation_mode="ACTIVE_ACTIONS",  # the current take, face and head, as one glTF animation
            export_nla_strips_merged_animation_name=key.animation_data.action.name,
            export_anim_slide_to_zero=True,  # the take's first frame is t = 0, where the audio starts
        )
    finally:  # give the animator their selection back
        for other in layer.objects:
            other.select_set(other in selected)
        layer.objects.active = active


def _ancestors(obj: bpy.types.Object) -> list[bpy.types.Object]:
    """The parents of `obj` up to the root (a head rig's root moves the face with it)."""
    chain = []
    while obj.parent is not None:
        obj = obj.parent
        chain.append(obj)
    return chain


classes = (DREAMTALK_OT_export_curves, DREAMTALK_OT_import_llf_csv, DREAMTALK_OT_export_gltf)
