"""Writing ARKit curves into Blender: one new Action per take, F-curves written in bulk.

Blender 4.4+ stores animation in *slotted* actions: action -> layer -> keyframe strip ->
channelbag(slot) -> F-curves (Blender 5.0 has no `Action.fcurves`). Each F-curve gets all of its keys
with one `keyframe_points.add(n)` + `foreach_set("co", ...)`, which is ~100x faster than a
`keyframe_insert` loop (see bench/bench_apply.py). Blender 4.2/4.3 fall back to the legacy
`Action.fcurves` (same bulk writes).

Nothing the animator had is destroyed: the previous action stays in the file (it gets a fake user so
that it survives saving), and the new action is simply assigned in its place.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import bpy
import numpy as np

from ._core import Curves, arkit
from .reduce import reduce_keys
from .retarget import RetargetMap

LINEAR = 1  # index of 'LINEAR' in Keyframe.interpolation (CONSTANT, LINEAR, BEZIER, ...)
KEY_PATH = 'key_blocks["{}"].value'
LAYER_NAME = "DREAM-Talk"
REST_PROPERTY = "dreamtalk_rest_rotation"  # custom property: head rotation before any DREAM-Talk take


@dataclass
class HeadTarget:
    """Where head pose goes: an object's rotation, or a pose bone of an armature object."""

    obj: bpy.types.Object
    bone: str = ""  # pose bone name; empty for the object itself


def scene_fps(scene: bpy.types.Scene) -> float:
    """Frames per second of `scene`, honouring fps_base (29.97 = 30 / 1.001)."""
    return scene.render.fps / scene.render.fps_base


def conform(curves: Curves, scene: bpy.types.Scene) -> Curves:
    """`curves` resampled onto the scene frame rate, so that keys land on whole frames."""
    fps = scene_fps(scene)
    return curves if abs(curves.fps - fps) < 1e-6 else curves.resample(fps)


def target_tracks(curves: Curves, rmap: RetargetMap) -> dict[str, np.ndarray]:
    """Per target shape key, the `(T,)` track: the mean of the ARKit channels that drive it."""
    return {key: curves.values[:, arkit.indices(names)].mean(axis=1) for key, names in rmap.sources.items()}


def shape_keys_of(obj: bpy.types.Object | None) -> bpy.types.Key:
    """The shape-key datablock of a mesh object, or ValueError with a one-line reason."""
    if obj is None or obj.type != "MESH":
        raise ValueError("choose a mesh object with shape keys as the target")
    if obj.data.shape_keys is None or len(obj.data.shape_keys.key_blocks) < 2:
        raise ValueError(f"{obj.name} has no shape keys to animate")
    return obj.data.shape_keys


def fcurve_container(action: bpy.types.Action, slot) -> object:
    """The collection owning the F-curves for `slot`: a channelbag (4.4+) or `action.fcurves` (legacy)."""
    if not hasattr(action, "layers"):
        return action
    layer = action.layers[0] if action.layers else action.layers.new(LAYER_NAME)
    strip = layer.strips[0] if layer.strips else layer.strips.new(type="KEYFRAME")
    return strip.channelbag(slot, ensure=True)


def assign(id_block: bpy.types.ID, action: bpy.types.Action, slot) -> None:
    """Make `action` (and its `slot`) drive `id_block`; the old action keeps a fake user."""
    anim = id_block.animation_data or id_block.animation_data_create()
    if anim.action is not None and anim.action != action:
        anim.action.use_fake_user = True
    anim.action = action
    if slot is not None:
        anim.action_slot = slot


def new_slot(action: bpy.types.Action, id_block: bpy.types.ID):
    """A slot for `id_block` in `action` (None on Blender < 4.4, which has no slots)."""
    if not hasattr(action, "slots"):
        return None
    return action.slots.new(id_type=id_block.id_type, name=id_block.name)


def write_fcurve(container, data_path: str, frames: np.ndarray, values: np.ndarray, index: int = 0):
    """Create one F-curve with a key at each `(frame, value)`, in bulk, linear interpolation."""
    fcurve = container.fcurves.new(data_path, index=index)
    count = len(frames)
    co = np.empty(2 * count, np.float32)
    co[0::2], co[1::2] = frames, values
    fcurve.keyframe_points.add(count)
    fcurve.keyframe_points.foreach_set("co", co)
    fcurve.keyframe_points.foreach_set("interpolation", np.full(count, LINEAR, np.int32))
    fcurve.update()
    return fcurve


def write_tracks(container, paths: dict[tuple[str, int], np.ndarray], start_frame: int, tolerance: float) -> None:
    """Write each `(data_path, index) -> (T,) track` keyed from `start_frame`, optionally reduced."""
    for (path, index), track in paths.items():
        keep = reduce_keys(track, tolerance)
        write_fcurve(container, path, start_frame + keep.astype(np.float32), track[keep], index)


OBJECT_AXES = (1, 2, 0)  # object Euler X, Y, Z <- head_pose column (pitch, roll, yaw)
BONE_AXES = (1, 0, 2)  # pose-bone Euler X, Y, Z <- head_pose column (pitch, yaw, roll)


def _head_owner(head: HeadTarget) -> tuple[object, str, tuple[int, int, int]]:
    """(object or pose bone, rotation data path, Euler axis -> head_pose column) of a head target."""
    if head.bone:
        return head.obj.pose.bones[head.bone], f'pose.bones["{head.bone}"].rotation_euler', BONE_AXES
    return head.obj, "rotation_euler", OBJECT_AXES


def head_paths(curves: Curves, head: HeadTarget) -> dict[tuple[str, int], np.ndarray]:
    """Head yaw/pitch/roll as Euler rotation tracks, offset by the target's rest rotation.

    Object (Z up, facing -Y): pitch about X, roll about Y, yaw about Z. Pose bone (Y along the
    bone): pitch about X, yaw about Y, roll about Z. The rest rotation is remembered in the custom
    property `REST_PROPERTY` on first use, so that a later take does not stack onto the animated
    rotation of an earlier one.
    """
    owner, path, axes = _head_owner(head)
    if head.bone and owner.rotation_mode in {"QUATERNION", "AXIS_ANGLE"}:
        owner.rotation_mode = "XYZ"
    if REST_PROPERTY not in owner:
        owner[REST_PROPERTY] = list(owner.rotation_euler)
    rest = list(owner[REST_PROPERTY])
    return {(path, i): rest[i] + curves.head_pose[:, column] for i, column in enumerate(axes)}


def read_head(head: HeadTarget, frames: Sequence[int]) -> np.ndarray:
    """`(T, 3)` yaw, pitch, roll read back from the head's action (inverse of `head_paths`).

    Zeros where the head has no DREAM-Talk rest rotation or no rotation F-curve.
    """
    owner, path, axes = _head_owner(head)
    pose = np.zeros((len(frames), 3), np.float32)
    if REST_PROPERTY not in owner:
        return pose
    rest = list(owner[REST_PROPERTY])
    by_channel = {(fc.data_path, fc.array_index): fc for fc in action_fcurves(head.obj)}
    for i, column in enumerate(axes):
        fcurve = by_channel.get((path, i))
        if fcurve is not None:
            pose[:, column] = [fcurve.evaluate(f) - rest[i] for f in frames]
    return pose


def apply_take(
    obj: bpy.types.Object,
    curves: Curves,
    name: str,
    rmap: RetargetMap,
    start_frame: int,
    head: HeadTarget | None = None,
    tolerance: float = 0.0,
) -> bpy.types.Action:
    """Key `curves` (already at scene fps) onto `obj`'s shape keys (and head) in a new Action `name`."""
    key = shape_keys_of(obj)
    if not rmap.sources:
        raise ValueError(f"no shape key of {obj.name} maps to an ARKit channel; choose a retarget preset")
    action = bpy.data.actions.new(name)
    key_slot = new_slot(action, key)
    tracks = {(KEY_PATH.format(k), 0): v for k, v in target_tracks(curves, rmap).items()}
    write_tracks(fcurve_container(action, key_slot), tracks, start_frame, tolerance)
    assign(key, action, key_slot)
    if head is not None:  # same action on a second slot; Blender < 4.4 needs an action per ID type
        head_action = action if key_slot is not None else bpy.data.actions.new(f"{name} head")
        head_slot = new_slot(head_action, head.obj)
        write_tracks(fcurve_container(head_action, head_slot), head_paths(curves, head), start_frame, tolerance)
        assign(head.obj, head_action, head_slot)
    return action


STRIP_OWNER = "dreamtalk_target"  # custom property: the target object whose take this strip plays
STRIP_PLACED = "dreamtalk_placed"  # custom property: (frame, channel) where DREAM-Talk put the strip


def add_sound_strip(scene: bpy.types.Scene, filepath: str, frame_start: int, name: str = "DT audio"):
    """A sound strip for `filepath` at `frame_start` on the lowest channel free over its length."""
    editor = scene.sequence_editor or scene.sequence_editor_create()
    strips = sequencer_strips(editor)
    return on_free_channel(strips, lambda channel: new_sound_strip(strips, name, filepath, channel, frame_start),
                           "sound strip")


def on_free_channel(strips, make, what: str, first: int = 1):
    """`make(channel)` on the lowest channel from `first` where the new strip overlaps no other strip."""
    for channel in range(first, 128):
        strip = make(channel)
        clash = [s for s in strips if s != strip and s.channel == channel and _overlap(s, strip)]
        if not clash:
            return strip
        strips.remove(strip)
    raise ValueError(f"no free sequencer channel for the {what}")


def mark_owned(strip, target: str) -> None:
    """Remember that DREAM-Talk placed `strip` for `target`, and where (to notice if the animator moves it)."""
    strip[STRIP_OWNER], strip[STRIP_PLACED] = target, list(_placed(strip))


def owned_strips(editor, kind: str, target: str) -> tuple[list, list]:
    """(DREAM-Talk's strips of type `kind` for `target`, those of them the animator has moved)."""
    strips = [s for s in sequencer_strips(editor) if s.type == kind] if editor else []
    ours = [s for s in strips if s.get(STRIP_OWNER) == target]
    return ours, [s for s in ours if _placed(s) != tuple(s[STRIP_PLACED])]


def new_sound_strip(strips, name: str, filepath: str, channel: int, frame_start: int):
    """`strips.new_sound(...)`; RuntimeError on a Blender built without audaspace."""
    return strips.new_sound(name, filepath, channel, frame_start)


def place_sound_strip(scene: bpy.types.Scene, filepath: str, frame_start: int, target: str) -> str:
    """One sound strip per take of `target`: DREAM-Talk's earlier strip for it is replaced, unless the
    animator moved it (then it is theirs and stays, and none is added); a strip already playing this
    file from `frame_start` is used as it is. Returns a short note for the report."""
    editor = scene.sequence_editor
    ours, moved = owned_strips(editor, "SOUND", target)
    if moved:
        return f"sound strip {moved[0].name} kept where you moved it"
    strips = [s for s in sequencer_strips(editor) if s.type == "SOUND"] if editor else []
    same = [s for s in strips if s not in ours and int(s.frame_start) == frame_start
            and bpy.path.abspath(s.sound.filepath) == bpy.path.abspath(filepath)]
    if same:
        return f"sound strip {same[0].name} already plays this audio"
    for strip in ours:
        sequencer_strips(editor).remove(strip)
    mark_owned(add_sound_strip(scene, filepath, frame_start), target)
    return f"sound strip {'replaced' if ours else 'added'} at frame {frame_start}"


def _placed(strip) -> tuple[int, int]:
    return int(strip.frame_start), int(strip.channel)


def fit_scene_range(scene: bpy.types.Scene, start_frame: int, frames: int) -> None:
    """The scene plays exactly the take: frames `start_frame .. start_frame + frames - 1`."""
    scene.frame_start = start_frame
    scene.frame_end = start_frame + max(1, frames) - 1


def sequencer_strips(editor):
    """The sequencer's top-level strips (`strips` on Blender 5.0+, `sequences` before)."""
    return editor.strips if hasattr(editor, "strips") else editor.sequences


def _overlap(a, b) -> bool:
    return a.frame_final_start < b.frame_final_end and b.frame_final_start < a.frame_final_end


def parse_frames(text: str) -> set[int]:
    """'10-20, 35, 40-42' -> {10..20, 35, 40, 41, 42}; ValueError with the bad part otherwise."""
    frames: set[int] = set()
    for part in filter(None, (p.strip() for p in text.split(","))):
        low, sep, high = part.partition("-")
        try:
            first, last = int(low), int(high) if sep else int(low)
        except ValueError:
            raise ValueError(f"locked frames: {part!r} is not a frame or a range like 10-20") from None
        if last < first:
            raise ValueError(f"locked frames: range {part!r} runs backwards")
        frames.update(range(first, last + 1))
    return frames


def splice_fcurve(fcurve, frames: np.ndarray, values: np.ndarray, start: int, end: int, locked: set[int]) -> None:
    """Replace `fcurve`'s keys on frames `start..end` (except `locked`) by `(frames, values)` there."""
    count = len(fcurve.keyframe_points)
    co = np.empty(2 * count, np.float32)
    fcurve.keyframe_points.foreach_get("co", co)
    old_f, old_v = co[0::2], co[1::2]
    rounded = np.round(old_f).astype(int)
    in_range = (rounded >= start) & (rounded <= end)
    keep_old = ~in_range | np.isin(rounded, list(locked))
    new_mask = (frames >= start) & (frames <= end) & ~np.isin(frames, list(locked))
    all_f = np.concatenate([old_f[keep_old], frames[new_mask]])
    all_v = np.concatenate([old_v[keep_old], values[new_mask]])
    order = np.argsort(all_f, kind="stable")
    fcurve.keyframe_points.clear()
    out = np.empty(2 * len(order), np.float32)
    out[0::2], out[1::2] = all_f[order], all_v[order]
    fcurve.keyframe_points.add(len(order))
    fcurve.keyframe_points.foreach_set("co", out)
    fcurve.keyframe_points.foreach_set("interpolation", np.full(len(order), LINEAR, np.int32))
    fcurve.update()


def slot_fcurves(action: bpy.types.Action, slot) -> Iterable:
    """The F-curves of `action` for `slot` (all of them on Blender < 4.4)."""
    if not hasattr(action, "layers"):
        return action.fcurves
    for layer in action.layers:
        for strip in layer.strips:
            bag = strip.channelbag(slot) if slot is not None else None
            if bag is not None:
                return bag.fcurves
    return []


def action_fcurves(id_block: bpy.types.ID) -> Iterable:
    """The F-curves animating `id_block` through its assigned action (and slot)."""
    anim = id_block.animation_data
    if anim is None or anim.action is None:
        return []
    return slot_fcurves(anim.action, getattr(anim, "action_slot", None))


def read_fcurves(fcurves: Iterable, rmap: RetargetMap, frames: Sequence[int], fps: float) -> Curves:
    """Curves evaluated from shape-key F-curves at scene `frames` (inverse of `apply_take`).

    An ARKit channel is read from the first target key it drives alone (one-to-one entries only);
    channels without such a key read 0.
    """
    by_path = {fc.data_path: fc for fc in fcurves}
    values = np.zeros((len(frames), arkit.NUM_BLENDSHAPES), np.float32)
    done: set[str] = set()
    for target, names in rmap.sources.items():
        fcurve = by_path.get(KEY_PATH.format(target))
        if len(names) != 1 or names[0] in done or fcurve is None:
            continue
        done.add(names[0])
        values[:, arkit.INDEX[names[0]]] = [fcurve.evaluate(f) for f in frames]
    return Curves(fps, np.clip(values, 0.0, 1.0))


def read_back(obj: bpy.types.Object, rmap: RetargetMap, frames: Sequence[int], fps: float) -> Curves:
    """Curves evaluated from the shape-key action currently assigned to `obj`."""
    return read_fcurves(action_fcurves(shape_keys_of(obj)), rmap, frames, fps)
