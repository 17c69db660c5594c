"""Generate / Regenerate range: panel settings -> `GenerateRequest`, backend takes -> Actions.

`prepare` runs on the main thread and snapshots everything the job needs into a plain `Job` (names,
not bpy pointers, so nothing dangles while the worker thread waits on the network). `apply_results`
runs on the main thread when the takes arrive; it looks the scene and object up again by name.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import bpy
import numpy as np

from . import apply
from ._core import Curves, EmotionKey, GenerateRequest, formats
from .retarget import RetargetMap, build_map, load_user_map, presets
from .wav import read_wav


@dataclass
class Job:
    """A plain snapshot of one Generate (or Regenerate range) request."""

    scene: str
    target: str
    rmap: RetargetMap
    start_frame: int
    request: GenerateRequest
    emotion: str
    head: tuple[str, str] | None = None  # (object name, bone name or "")
    tolerance: float = 0.0  # keyframe reduction max error (0: keep every frame)
    sound_path: str | None = None  # add a sound strip for this file at start_frame
    frame_range: tuple[int, int] | None = None  # Regenerate range: scene frames, inclusive
    locked: set[int] = field(default_factory=set)  # Regenerate range: frames never replaced
    fit_scene_range: bool = False  # set the scene's frame range to the take


def retarget_map(settings, obj: bpy.types.Object) -> RetargetMap:
    """The name map for `obj`'s shape keys from the chosen preset and optional user JSON map."""
    key = apply.shape_keys_of(obj)
    preset = presets().get(settings.retarget_preset) if settings.retarget_preset != "AUTO" else None
    user = load_user_map(bpy.path.abspath(settings.retarget_map_path)) if settings.retarget_map_path else None
    return build_map([kb.name for kb in key.key_blocks], preset, user)


def read_audio(path: str) -> tuple[np.ndarray, int]:
    """Mono float32 samples and sample rate of an audio file, decoded by Blender's audaspace (`aud`).

    Builds without audaspace (Blender 4.2 from PyPI) read WAV files with `wav.read_wav` instead."""
    if not path or not Path(path).is_file():
        raise ValueError(f"audio file not found: {path or '(none chosen)'}")
    try:
        import aud
    except ImportError:
        data, rate = _read_without_audaspace(path)
    else:
        try:
            sound = aud.Sound(path)
            rate = int(sound.specs[0])
            data = np.asarray(sound.data(), np.float32)
        except Exception as exc:  # noqa: BLE001 - audaspace raises plain errors for unreadable files
            raise ValueError(f"cannot read audio {Path(path).name}: {exc}") from None
    if data.size == 0:
        raise ValueError(f"audio {Path(path).name} is empty")
    return data.mean(axis=1) if data.ndim == 2 else data, rate


def _read_without_audaspace(path: str) -> tuple[np.ndarray, int]:
    if Path(path).suffix.lower() != ".wav":
        raise ValueError(f"cannot decode {Path(path).name} without audaspace (this Blender build has no `aud`); "
                         "use a .wav file")
    try:
        return read_wav(path)
    except ValueError as exc:
        raise ValueError(f"cannot read audio {exc}") from None


def audio_source(settings, scene) -> tuple[str, int, bool]:
    """(audio path, start frame, add a sound strip?) from the panel's audio choice."""
    if settings.audio_source == "STRIP":
        editor = scene.sequence_editor
        strip = apply.sequencer_strips(editor).get(settings.sound_strip) if editor else None
        if strip is None or strip.type != "SOUND":
            raise ValueError(f"sound strip {settings.sound_strip!r} not found in the sequencer")
        return bpy.path.abspath(strip.sound.filepath), int(strip.frame_start), False
    return bpy.path.abspath(settings.audio_path), settings.start_frame, settings.add_sound


def style_clip(settings, scene, obj, rmap: RetargetMap) -> Curves | None:
    """The emotion style clip: a curves file, or an existing action evaluated like `read_back`."""
    if settings.style_source == "FILE":
        return formats.read_curves(bpy.path.abspath(settings.style_path))
    if settings.style_source == "ACTION" and settings.style_action is not None:
        action = settings.style_action
        start, end = (int(round(f)) for f in action.frame_range)
        slots = [s for s in getattr(action, "slots", []) if s.target_id_type == "KEY"]
        fcurves = apply.slot_fcurves(action, slots[0] if slots else None)
        return apply.read_fcurves(fcurves, rmap, range(start, end + 1), apply.scene_fps(scene))
    return None


def prepare(context, regenerate: bool = False) -> Job:
    """Validate the panel settings and snapshot them into a `Job` (ValueError / InputError if bad)."""
    scene = context.scene
    settings = scene.dreamtalk
    obj = settings.target
    rmap = retarget_map(settings, obj)
    path, start, add_sound = audio_source(settings, scene)
    audio, rate = read_audio(path)
    fps = apply.scene_fps(scene)
    request = GenerateRequest(
        audio=audio, sample_rate=rate, transcript=settings.transcript.strip() or None,
        emotion=settings.emotion, intensity=settings.intensity,
        emotion_keys=[EmotionKey(k.time, k.emotion, k.intensity) for k in settings.emotion_keys],
        style_clip=style_clip(settings, scene, obj, rmap), seed=settings.seed,
        takes=1 if regenerate else settings.takes, fps=fps, engine=settings.engine,
        steps=settings.steps or None, guidance=settings.guidance or None, refine=settings.refine,
        precise=settings.precise and settings.engine == "emodiff",
    )
    head = head_target(settings)
    job = Job(
        scene=scene.name, target=obj.name, rmap=rmap, start_frame=start, request=request,
        emotion=settings.emotion, head=None if head is None else (head.obj.name, head.bone),
        tolerance=settings.reduce_tolerance if settings.reduce_keys else 0.0,
        sound_path=path if add_sound and not regenerate else None,
        fit_scene_range=settings.fit_scene_range and not regenerate,
    )
    if regenerate:
        _prepare_range(job, settings, obj)
    return job


def head_target(settings) -> apply.HeadTarget | None:
    """The panel's head-pose target (object, or armature + bone), None when head pose is off."""
    obj = settings.head_object
    if settings.head_mode == "NONE" or obj is None:
        return None
    bone = settings.head_bone if settings.head_mode == "BONE" else ""
    if bone and (obj.type != "ARMATURE" or bone not in obj.pose.bones):
        raise ValueError(f"bone {bone!r} not found in {obj.name}")
    return apply.HeadTarget(obj, bone)


def _prepare_range(job: Job, settings, obj) -> None:
    """Range, locked frames, and the current animation as the request's locked frames."""
    if settings.range_end < settings.range_start:
        raise ValueError("Regenerate range: 'To' must not be before 'From'")
    key = apply.shape_keys_of(obj)
    if key.animation_data is None or key.animation_data.action is None:
        raise ValueError(f"{obj.name} has no shape-key action to regenerate; Generate first")
    job.frame_range = (settings.range_start, settings.range_end)
    job.locked = apply.parse_frames(settings.locked_frames)
    count = max(1, int(round(job.request.duration * job.request.fps)))
    frames = np.arange(count) + job.start_frame
    job.request.locked = apply.read_back(obj, job.rmap, frames, job.request.fps)
    outside = (frames < job.frame_range[0]) | (frames > job.frame_range[1])
    job.request.locked_mask = outside | np.isin(frames, sorted(job.locked))


def take_name(job: Job, take: int) -> str:
    """Action name of take `take`: 'DT happy s3' (seed of that take)."""
    return f"DT {job.emotion} s{job.request.seed + take}"


def apply_results(job: Job, takes: list[Curves]) -> str:
    """Main thread: write the takes (or the regenerated range) into Blender; returns a report line."""
    scene = bpy.data.scenes.get(job.scene)
    obj = bpy.data.objects.get(job.target)
    if scene is None or obj is None:
        raise ValueError("the target object or scene was deleted while the job ran; nothing applied")
    if not takes:
        raise ValueError("the backend returned no takes")
    if job.frame_range is not None:
        return _apply_range(job, scene, obj, apply.conform(takes[0], scene))
    head = None
    if job.head is not None and job.head[0] in bpy.data.objects:
        head = apply.HeadTarget(bpy.data.objects[job.head[0]], job.head[1])
    names, frames = [], 0
    for index in reversed(range(len(takes))):  # take 0 applied last, so it ends up active
        take = apply.conform(takes[index], scene)
        action = apply.apply_take(obj, take, take_name(job, index), job.rmap, job.start_frame, head, job.tolerance)
        names.append(action.name)
        frames = take.num_frames
    notes = [job.rmap.summary()]
    if job.sound_path:
        notes.append(_sound_strip(job, scene))
    if job.fit_scene_range:
        apply.fit_scene_range(scene, job.start_frame, frames)
    _undo_push("DREAM-Talk: Generate")
    return f"Applied {', '.join(reversed(names))}; {'; '.join(notes)}"


def _sound_strip(job: Job, scene) -> str:
    """Place the take's sound strip; a build that cannot make one (no audaspace) costs a warning only."""
    try:
        return apply.place_sound_strip(scene, job.sound_path, job.start_frame, job.target)
    except (RuntimeError, ValueError) as exc:
        return f"warning: no sound strip ({' '.join(str(exc).replace('Error:', '').split())})"


def _apply_range(job: Job, scene, obj, curves: Curves) -> str:
    """Copy the current action and replace only the range (minus locked frames) with the new take."""
    key = apply.shape_keys_of(obj)
    old = key.animation_data.action
    old_slot = getattr(key.animation_data, "action_slot", None)
    new = old.copy()
    start, end = job.frame_range
    new.name = f"{take_name(job, 0)} r{start}-{end}"
    slot = None
    if old_slot is not None:
        slot = next(s for s in new.slots if s.identifier == old_slot.identifier)
    container = apply.fcurve_container(new, slot)
    frames = np.arange(curves.num_frames) + job.start_frame
    for target, track in apply.target_tracks(curves, job.rmap).items():
        path = apply.KEY_PATH.format(target)
        fcurve = container.fcurves.find(path)
        if fcurve is None:
            fcurve = container.fcurves.new(path)
        apply.splice_fcurve(fcurve, frames, track, start, end, job.locked)
    apply.assign(key, new, slot)
    _undo_push("DREAM-Talk: Regenerate range")
    return f"Regenerated frames {start}-{end} into {new.name}; {old.name} kept"


def _undo_push(message: str) -> None:
    """One undo step for results applied from a timer (operators get theirs from bl_options)."""
    if bpy.app.background:
        return
    try:
        bpy.ops.ed.undo_push(message=message)
    except RuntimeError:  # no window context (e.g. Blender shutting down): the data is applied anyway
        pass
