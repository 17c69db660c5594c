"""The sidebar panel (3D View > N > DREAM-Talk) and the status-bar progress."""

from __future__ import annotations

import bpy

from . import state

CATEGORY = "DREAM-Talk"


class DREAMTALK_UL_emotion_keys(bpy.types.UIList):
    def draw_item(self, context, layout, data, item, icon, active_data, active_propname, index=0):
        row = layout.row(align=True)
        row.prop(item, "time", text="", emboss=False)
        row.prop(item, "emotion", text="")
        row.prop(item, "intensity", text="")


def draw_job(layout) -> None:
    """Progress bar + Cancel while running; the last result or error otherwise."""
    job = state.GENERATE.state
    if job.status == "running":
        layout.progress(factor=job.fraction, type="BAR", text=f"{job.label}: {job.stage} {job.fraction:.0%}")
        layout.operator("dreamtalk.cancel", icon="CANCEL")
    elif job.status == "error":
        layout.label(text=job.message, icon="ERROR")
    elif job.status in {"done", "cancelled"}:
        layout.label(text=job.message, icon="CHECKMARK" if job.status == "done" else "INFO")


def draw_main(settings, layout) -> None:
    """Target, audio, emotion, style, sampling and Generate (a function: tests pass a mock layout)."""
    col = layout.column()
    row = col.row(align=True)
    row.prop(settings, "target")
    row.operator("dreamtalk.add_rig", text="", icon="IMPORT")
    row = col.row(align=True)
    row.prop(settings, "retarget_preset")
    row.operator("dreamtalk.retarget_report", text="", icon="INFO")
    col.prop(settings, "retarget_map_path")
    col.prop(settings, "audio_source", expand=True)
    if settings.audio_source == "FILE":
        col.prop(settings, "audio_path")
        row = col.row(align=True)
        row.prop(settings, "add_sound")
        row.prop(settings, "fit_scene_range")
    else:
        col.prop(settings, "sound_strip", icon="SOUND")
    col.prop(settings, "transcript")
    if settings.engine == "emodiff" and not settings.transcript.strip():
        col.prop(settings, "precise")
    col.prop(settings, "emotion")
    col.prop(settings, "intensity", slider=True)
    col.label(text="Emotion keys")
    row = col.row()
    row.template_list("DREAMTALK_UL_emotion_keys", "", settings, "emotion_keys", settings, "emotion_key_index", rows=2)
    buttons = row.column(align=True)
    buttons.operator("dreamtalk.emotion_key_add", text="", icon="ADD")
    buttons.operator("dreamtalk.emotion_key_remove", text="", icon="REMOVE")
    col.prop(settings, "style_source")
    if settings.style_source == "ACTION":
        col.prop(settings, "style_action")
    elif settings.style_source == "FILE":
        col.prop(settings, "style_path")
    grid = col.grid_flow(columns=2, align=True)
    for name in ("seed", "takes", "steps", "guidance", "start_frame", "engine", "refine"):
        grid.prop(settings, name)
    col.prop(settings, "head_mode")
    if settings.head_mode != "NONE":
        col.prop(settings, "head_object")
        if settings.head_mode == "BONE":
            col.prop(settings, "head_bone")
    row = col.row(align=True)
    row.prop(settings, "reduce_keys")
    if settings.reduce_keys:
        row.prop(settings, "reduce_tolerance")
    running = state.GENERATE.running
    row = col.row()
    row.enabled = not running
    row.scale_y = 1.4
    row.operator("dreamtalk.generate", icon="PLAY")
    box = col.box()
    box.enabled = not running
    row = box.row(align=True)
    row.prop(settings, "range_start")
    row.prop(settings, "range_end")
    box.prop(settings, "locked_frames")
    box.operator("dreamtalk.regenerate_range", icon="FILE_REFRESH")
    draw_job(col)


def draw_photoreal(settings, layout) -> None:
    col = layout.column()
    col.prop(settings, "portrait_path")
    col.prop(settings, "render_output")
    row = col.row(align=True)
    row.prop(settings, "render_size")
    row.prop(settings, "render_full", toggle=True)
    col.operator("dreamtalk.render_photoreal", icon="RENDER_ANIMATION")
    draw_job(col)


def draw_export(layout) -> None:
    col = layout.column(align=True)
    col.operator("dreamtalk.export_curves", text="Export CSV / JSON", icon="EXPORT")
    col.operator("dreamtalk.import_llf_csv", text="Import Live Link Face CSV", icon="IMPORT")
    col.operator("dreamtalk.export_gltf", text="Export glTF", icon="EXPORT")


class DREAMTALK_PT_main(bpy.types.Panel):
    bl_label = "DREAM-Talk"
    bl_idname = "DREAMTALK_PT_main"
    bl_space_type = "VIEW_3D"
    bl_region_type = "UI"
    bl_category = CATEGORY

    def draw(self, context) -> None:
        draw_main(context.scene.dreamtalk, self.layout)


class _SubPanel:
    """A closed-by-default section under the main DREAM-Talk panel."""

    bl_space_type = "VIEW_3D"
    bl_region_type = "UI"
    bl_category = CATEGORY
    bl_parent_id = "DREAMTALK_PT_main"
    bl_options = {"DEFAULT_CLOSED"}


class DREAMTALK_PT_photoreal(_SubPanel, bpy.types.Panel):
    """A talking-head video of one portrait, driven by the active take (the backend's photoreal stage)."""

    bl_label = "Photoreal video"
    bl_idname = "DREAMTALK_PT_photoreal"

    def draw(self, context) -> None:
        draw_photoreal(context.scene.dreamtalk, self.layout)


class DREAMTALK_PT_export(_SubPanel, bpy.types.Panel):
    bl_label = "Export / Import"
    bl_idname = "DREAMTALK_PT_export"

    def draw(self, context) -> None:
        draw_export(self.layout)


def draw_status_bar(self, context) -> None:
    """Appended to the status bar header: progress of the running job."""
    job = state.GENERATE.state
    if job.status == "running":
        self.layout.progress(factor=job.fraction, type="BAR", text=f"DREAM-Talk {job.stage}")


classes = (DREAMTALK_UL_emotion_keys, DREAMTALK_PT_main, DREAMTALK_PT_photoreal, DREAMTALK_PT_export)


def register() -> None:
    bpy.types.STATUSBAR_HT_header.append(draw_status_bar)


def unregister() -> None:
    bpy.types.STATUSBAR_HT_header.remove(draw_status_bar)
