"""Part 1's geometry in the terms the network and its training data use (numpy, on the CPU).

- `frame_pose`: a face's head rotation from its landmarks (the rig's neutral face fitted onto them, as
  part 1 fits a portrait), as yaw, pitch, roll in the rig's convention.
- `camera_rotation`: the rotation from a source pose to a driving pose in camera axes (the network's input).
- `driven_landmarks`: the 478 landmarks of a frame part 1 renders: its 468 driven face-mesh points plus
  the irises, moved with the eye opening and the frame's gaze.
- `video_geometry`: the part-1 geometry that drives a source frame to a driving frame of the same video
  (detected landmarks, relative head rotation, expression weights fitted to the landmarks), so training
  pairs from real footage get the same kind of part-1 frame as an animation does.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from ..motion import RIG_TO_CAMERA, FrameGeometry, PortraitMotion, head_rotation

if TYPE_CHECKING:  # the renderer is only passed in: the training loop imports this module too
    from ..renderer import GeometricRenderer

IRIS = {"eye_left": np.arange(473, 478), "eye_right": np.arange(468, 473)}


def rotation_to_pose(rotation: np.ndarray) -> np.ndarray:
    """Inverse of `motion.head_rotation` (R = Rz(yaw) Rx(pitch) Ry(roll)): (3, 3) -> (3,) radians."""
    pitch = np.arcsin(np.clip(rotation[2, 1], -1.0, 1.0))
    roll = np.arctan2(-rotation[2, 0], rotation[2, 2])
    yaw = np.arctan2(-rotation[0, 1], rotation[1, 1])
    return np.array([yaw, pitch, roll])


def frame_pose(landmarks: np.ndarray) -> np.ndarray:
    """(478 or 468, 3) pixel landmarks -> (3,) yaw, pitch, roll of the head (rig frame, radians)."""
    camera = PortraitMotion(landmarks).to_camera.rotation  # = RIG_TO_CAMERA @ R_head
    return rotation_to_pose(RIG_TO_CAMERA.T @ camera)


def camera_rotation(source_pose: np.ndarray, driving_pose: np.ndarray) -> np.ndarray:
    """(..., 3) poses -> (..., 3, 3) rotation taking the source head to the driving head, camera axes."""
    source = RIG_TO_CAMERA @ head_rotation(source_pose)
    driving = RIG_TO_CAMERA @ head_rotation(driving_pose)
    return (driving @ np.swapaxes(source, -1, -2)).astype(np.float32)


def driven_landmarks(renderer: GeometricRenderer, geometry: FrameGeometry) -> np.ndarray:
    """(478, 3) landmarks of a frame: the driven mesh plus irises moved with the eye opening and the gaze."""
    from ..layers import fit_affine
    from ..mesh import opening

    source = renderer.motion.source_full
    points = np.concatenate([geometry.landmarks, np.zeros((10, 3))])
    for name, iris in IRIS.items():
        loop = opening(name)
        affine = fit_affine(source[loop, :2], geometry.landmarks[loop, :2])
        gaze = renderer.eyes.gaze_offset(name, geometry)
        points[iris, :2] = source[iris, :2] @ affine[:, :2].T + affine[:, 2] + gaze
        points[iris, 2] = source[iris, 2] + (geometry.landmarks[loop, 2] - source[loop, 2]).mean()
    return points


def fit_expression(source: PortraitMotion, driving: PortraitMotion) -> np.ndarray:
    """(52,) ARKit weights in 0..1 that take the source face's shape closest to the driving one's
    (non-negative least squares on the rig's landmark blendshapes, each face in its own head frame;
    on a frame part 1 rendered it returns the frame's weights)."""
    from scipy.optimize import nnls

    displacement = (driving.shape - source.shape).reshape(-1)  # (468 * 3,)
    basis = source.deltas.reshape(len(source.deltas), -1).T  # (468 * 3, 52)
    return np.minimum(nnls(basis, displacement)[0], 1.0)


def video_geometry(renderer: GeometricRenderer, source_pose: np.ndarray, landmarks: np.ndarray,
                   driving_pose: np.ndarray, seal_gain: float) -> FrameGeometry:
    """Geometry that drives the renderer's portrait (a source frame) to a frame with `landmarks` (478, 3)."""
    rotation = head_rotation(source_pose).T @ head_rotation(driving_pose)  # rig frame, relative to the source
    weights = fit_expression(renderer.motion, PortraitMotion(landmarks))
    return FrameGeometry(landmarks[:468, :3].astype(np.float64), rotation, weights,
                         renderer.motion.seal(weights, seal_gain))
