"""Operators: Generate, Regenerate range, Render photoreal, Cancel (and Esc), bundled rig, emotion keys,
backend control."""

from __future__ import annotations

from pathlib import Path

import bpy
from mathutils import Vector

from . import generate, jobs, photoreal, preferences, state
from ._core import DreamTalkError

DRAIN_INTERVAL = 0.1  # seconds between queue drains while a job runs
RIG_FILE = "arkit_head.blend"
RIG_OBJECTS = ("ARKitHead", "HeadRoot")


def _drain(runner: jobs.JobRunner) -> float | None:
    """Apply `runner`'s queued events on the main thread; the next timer interval, None once done."""
    running = runner.drain()
    _redraw()
    return DRAIN_INTERVAL if running else None


def drain_generate() -> float | None:
    """bpy.app.timers callback of Generate / Regenerate range."""
    return _drain(state.GENERATE)


def drain_hello() -> float | None:
    """bpy.app.timers callback of Test connection."""
    return _drain(state.HELLO)


def _ensure_timer(callback) -> None:
    if not bpy.app.timers.is_registered(callback):
        bpy.app.timers.register(callback, first_interval=DRAIN_INTERVAL)


def _redraw() -> None:
    wm = bpy.context.window_manager
    for window in wm.windows if wm else ():
        for area in window.screen.areas:
            area.tag_redraw()


def start_job(job: generate.Job, make_client=None) -> None:
    """Send `job` to the backend on a worker thread; results are applied by `drain_generate`."""
    if make_client is None:
        backend = preferences.settings()
        make_client = jobs.client_factory(backend.address, backend.timeout, backend.curve)
    label = "Regenerating range" if job.frame_range else f"Generating {job.request.takes} take(s)"
    state.GENERATE.start(
        jobs.generate_work(make_client, job.request), lambda takes: generate.apply_results(job, takes), label,
    )
    _ensure_timer(drain_generate)


class _StartsJob:
    """Shared poll/execute/invoke of the operators that start a backend job (Esc cancels it)."""

    def start(self, context) -> None:
        raise NotImplementedError

    @classmethod
    def poll(cls, context) -> bool:
        return not state.GENERATE.running and context.scene is not None

    def execute(self, context):
        try:
            self.start(context)
        except (DreamTalkError, ValueError) as exc:
            self.report({"ERROR"}, jobs.one_line(exc))
            return {"CANCELLED"}
        self.report({"INFO"}, state.GENERATE.state.label)
        return {"FINISHED"}

    def invoke(self, context, event):
        result = self.execute(context)
        if "FINISHED" in result:
            bpy.ops.dreamtalk.watch_escape("INVOKE_DEFAULT")
        return result


class DREAMTALK_OT_generate(_StartsJob, bpy.types.Operator):
    """Generate face animation from the audio (runs on the backend; Blender stays responsive)"""

    bl_idname = "dreamtalk.generate"
    bl_label = "Generate"

    def start(self, context) -> None:
        start_job(generate.prepare(context))


class DREAMTALK_OT_regenerate_range(_StartsJob, bpy.types.Operator):
    """Regenerate only the frame range, keeping keys outside it and locked frames"""

    bl_idname = "dreamtalk.regenerate_range"
    bl_label = "Regenerate range"

    def start(self, context) -> None:
        start_job(generate.prepare(context, regenerate=True))


class DREAMTALK_OT_render_photoreal(_StartsJob, bpy.types.Operator):
    """Send the active take and its sound with a portrait to the backend and load the talking-head video
    into the Video Sequencer"""

    bl_idname = "dreamtalk.render_photoreal"
    bl_label = "Render photoreal"

    def start(self, context) -> None:
        start_render(photoreal.prepare(context))


def start_render(job: photoreal.RenderJob, make_client=None) -> None:
    """Render `job` on the backend on a worker thread; the video is placed by `drain_generate`."""
    if make_client is None:
        backend = preferences.settings()
        make_client = jobs.client_factory(backend.address, backend.timeout, backend.curve)
    state.GENERATE.start(photoreal.render_work(make_client, job), lambda path: photoreal.apply_result(job, path),
                         "Rendering photoreal video")
    _ensure_timer(drain_generate)


class DREAMTALK_OT_cancel(bpy.types.Operator):
    """Stop the running backend job (nothing is applied)"""

    bl_idname = "dreamtalk.cancel"
    bl_label = "Cancel"

    @classmethod
    def poll(cls, context) -> bool:
        return state.GENERATE.running

    def execute(self, context):
        state.GENERATE.cancel()
        return {"FINISHED"}


class DREAMTALK_OT_watch_escape(bpy.types.Operator):
    """Cancels the running job on Esc; passes every other event through"""

    bl_idname = "dreamtalk.watch_escape"
    bl_label = "Cancel DREAM-Talk job on Esc"
    bl_options = {"INTERNAL"}

    def invoke(self, context, event):
        context.window_manager.modal_handler_add(self)
        return {"RUNNING_MODAL"}

    def modal(self, context, event):
        if not state.GENERATE.running:
            return {"FINISHED"}
        if event.type == "ESC" and event.value == "PRESS":
            state.GENERATE.cancel()
            return {"FINISHED"}
        return {"PASS_THROUGH"}


def rig_path() -> Path | None:
    """The bundled rig: inside the built extension, else the repository's rigs/ folder."""
    here = Path(__file__).resolve().parent
    for candidate in (here / "rigs" / RIG_FILE, here.parent / "rigs" / RIG_FILE):
        if candidate.is_file():
            return candidate
    return None


class DREAMTALK_OT_add_rig(bpy.types.Operator):
    """Append the bundled ARKit head (52 ARKit shape keys) and make it the target"""

    bl_idname = "dreamtalk.add_rig"
    bl_label = "Add bundled rig"
    bl_options = {"REGISTER", "UNDO"}

    def execute(self, context):
        path = rig_path()
        if path is None:
            self.report({"ERROR"}, f"bundled rig {RIG_FILE} is missing from this build")
            return {"CANCELLED"}
        with bpy.data.libraries.load(str(path), link=False) as (source, target):
            target.objects = [n for n in RIG_OBJECTS if n in source.objects]
        for obj in target.objects:
            context.scene.collection.objects.link(obj)
        added = {obj.name.split(".")[0]: obj for obj in target.objects}
        settings = context.scene.dreamtalk
        if "ARKitHead" not in added:
            self.report({"ERROR"}, f"{path.name} has no ARKitHead object")
            return {"CANCELLED"}
        head = settings.target = added["ARKitHead"]
        if "HeadRoot" in added:
            settings.head_mode, settings.head_object = "OBJECT", added["HeadRoot"]
        note = ""
        cube = untouched_default_cube(context.scene)
        if cube is not None and _encloses(cube, head):
            cube.hide_set(True)
            note = f"; hid the startup scene's {cube.name}, which enclosed the head (Alt+H shows it)"
        frame_views(context, head, target.objects)
        self.report({"INFO"}, f"added {', '.join(o.name for o in target.objects)}{note}")
        return {"FINISHED"}


def untouched_default_cube(scene) -> bpy.types.Object | None:
    """The startup file's cube if it is still exactly as Blender made it (nobody's work), else None."""
    cube = scene.objects.get("Cube")
    if cube is None or cube.type != "MESH" or cube.modifiers or cube.animation_data or cube.parent:
        return None
    placed = tuple(cube.location) == (0, 0, 0) and tuple(cube.rotation_euler) == (0, 0, 0)
    corners = {tuple(round(c, 6) for c in v.co) for v in cube.data.vertices}
    unit = corners == {(x, y, z) for x in (-1, 1) for y in (-1, 1) for z in (-1, 1)}
    if not (placed and unit and tuple(cube.scale) == (1, 1, 1) and len(cube.data.polygons) == 6):
        return None
    return cube


def _encloses(outer: bpy.types.Object, inner: bpy.types.Object) -> bool:
    """True when `inner`'s world bounding box lies inside `outer`'s (axis-aligned, world space)."""
    def box(obj):
        points = [obj.matrix_world @ Vector(corner) for corner in obj.bound_box]
        return [min(p[i] for p in points) for i in range(3)], [max(p[i] for p in points) for i in range(3)]

    (low_o, high_o), (low_i, high_i) = box(outer), box(inner)
    return all(low_o[i] <= low_i[i] and high_i[i] <= high_o[i] for i in range(3))


def frame_views(context, head: bpy.types.Object, added) -> None:
    """Select what was added (head active) and frame every 3D view on it (there are none headless)."""
    for obj in context.view_layer.objects:
        obj.select_set(obj in set(added))
    context.view_layer.objects.active = head
    for window in context.window_manager.windows:
        for area in (a for a in window.screen.areas if a.type == "VIEW_3D"):
            region = next((r for r in area.regions if r.type == "WINDOW"), None)
            if region is not None:
                with context.temp_override(window=window, area=area, region=region):
                    bpy.ops.view3d.view_selected()


REPORT_TEXT = "DREAM-Talk retarget report"


class DREAMTALK_OT_retarget_report(bpy.types.Operator):
    """List every shape key of the target as driven (by which ARKit channels) or undriven, in a text block"""

    bl_idname = "dreamtalk.retarget_report"
    bl_label = "Retarget report"

    def execute(self, context):
        settings = context.scene.dreamtalk
        try:
            rmap = generate.retarget_map(settings, settings.target)
        except (DreamTalkError, ValueError) as exc:
            self.report({"ERROR"}, jobs.one_line(exc))
            return {"CANCELLED"}
        text = bpy.data.texts.get(REPORT_TEXT) or bpy.data.texts.new(REPORT_TEXT)
        text.from_string("\n".join([f"Target: {settings.target.name}", *rmap.report()]) + "\n")
        self.report({"INFO"}, f"{rmap.summary()} (full list in the text '{REPORT_TEXT}')")
        return {"FINISHED"}


class DREAMTALK_OT_emotion_key_add(bpy.types.Operator):
    """Add an emotion key at the current frame's time"""

    bl_idname = "dreamtalk.emotion_key_add"
    bl_label = "Add emotion key"
    bl_options = {"REGISTER", "UNDO"}

    def execute(self, context):
        settings = context.scene.dreamtalk
        key = settings.emotion_keys.add()
        fps = context.scene.render.fps / context.scene.render.fps_base
        key.time = max(0.0, (context.scene.frame_current - settings.start_frame) / fps)
        key.emotion, key.intensity = settings.emotion, settings.intensity
        settings.emotion_key_index = len(settings.emotion_keys) - 1
        return {"FINISHED"}


class DREAMTALK_OT_emotion_key_remove(bpy.types.Operator):
    """Remove the selected emotion key"""

    bl_idname = "dreamtalk.emotion_key_remove"
    bl_label = "Remove emotion key"
    bl_options = {"REGISTER", "UNDO"}

    @classmethod
    def poll(cls, context) -> bool:
        return len(context.scene.dreamtalk.emotion_keys) > 0

    def execute(self, context):
        settings = context.scene.dreamtalk
        settings.emotion_keys.remove(settings.emotion_key_index)
        settings.emotion_key_index = max(0, min(settings.emotion_key_index, len(settings.emotion_keys) - 1))
        return {"FINISHED"}


class DREAMTALK_OT_start_backend(bpy.types.Operator):
    """Start `dreamtalk serve` from the configured Python on the configured address"""

    bl_idname = "dreamtalk.start_backend"
    bl_label = "Start local backend"

    def execute(self, context):
        try:
            state.LOCAL_BACKEND.start(preferences.python_path(context), preferences.settings(context).address)
        except (ValueError, OSError) as exc:
            self.report({"ERROR"}, jobs.one_line(exc))
            return {"CANCELLED"}
        self.report({"INFO"}, f"local backend {state.LOCAL_BACKEND.describe()}")
        return {"FINISHED"}


class DREAMTALK_OT_stop_backend(bpy.types.Operator):
    """Stop the local backend started from Blender"""

    bl_idname = "dreamtalk.stop_backend"
    bl_label = "Stop"

    def execute(self, context):
        state.LOCAL_BACKEND.stop()
        return {"FINISHED"}


class DREAMTALK_OT_test_connection(bpy.types.Operator):
    """Ask the backend for its capabilities (device, engines, protocol version)"""

    bl_idname = "dreamtalk.test_connection"
    bl_label = "Test connection"

    def execute(self, context):
        backend = preferences.settings(context)
        make = jobs.client_factory(backend.address, backend.timeout, backend.curve)
        try:
            state.HELLO.start(jobs.hello_work(make), jobs.describe_capabilities, "Testing connection")
        except DreamTalkError as exc:
            self.report({"ERROR"}, jobs.one_line(exc))
            return {"CANCELLED"}
        _ensure_timer(drain_hello)
        return {"FINISHED"}


classes = (
    DREAMTALK_OT_generate, DREAMTALK_OT_regenerate_range, DREAMTALK_OT_render_photoreal, DREAMTALK_OT_cancel,
    DREAMTALK_OT_watch_escape,
    DREAMTALK_OT_add_rig, DREAMTALK_OT_retarget_report, DREAMTALK_OT_emotion_key_add,
    DREAMTALK_OT_emotion_key_remove, DREAMTALK_OT_start_backend, DREAMTALK_OT_stop_backend, DREAMTALK_OT_test_connection,
)
