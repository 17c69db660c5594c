"""The geometric renderer, measured on the two offline portraits (figures in docs/render.md).

Frames are checked by measurement: exact identity, MediaPipe re-detection of the driven landmarks,
the mouth interior's darkness, the eye opening, background pixels, determinism.
"""

import numpy as np
import pytest

from dreamtalk.render import metrics
from dreamtalk.render.mesh import opening, warp_triangles
from dreamtalk.render.motion import fit_similarity, head_rotation
from render_support import portrait, renderer, weights

PORTRAITS = ("astronaut", "grace_hopper")


@pytest.mark.parametrize("name", PORTRAITS)
def test_zero_curves_reproduce_the_portrait(name):
    frame = renderer(name).render_frame(np.zeros(52), np.zeros(3))
    assert metrics.psnr(frame, portrait(name).image) >= 40.0  # acceptance; in fact exact or nearly


@pytest.mark.parametrize("name", PORTRAITS)
def test_driven_landmarks_are_found_where_intended(name):
    r, p = renderer(name), portrait(name)
    for w, pose in [(weights(jawOpen=0.35), (0, 0, 0)), (weights(mouthSmileLeft=0.7, mouthSmileRight=0.7), (0.08, 0, 0)),
                    (weights(mouthPucker=0.6, browInnerUp=0.8), (0, 0.06, -0.05))]:
        geometry = r.geometry(w, np.array(pose))
        found = metrics.redetect(r.render_geometry(geometry), geometry.landmarks)
        face, mouth = metrics.landmark_errors(found, geometry.landmarks, p.eye_distance)
        assert face < 0.04 and mouth < 0.06, (w.nonzero(), face, mouth)


def test_head_yaw_turns_the_face_towards_the_subjects_left():
    r, p = renderer("grace_hopper"), portrait("grace_hopper")
    nose = []
    for yaw in (-0.15, 0.15):
        geometry = r.geometry(np.zeros(52), np.array([yaw, 0, 0]))
        nose.append(metrics.redetect(r.render_geometry(geometry), geometry.landmarks)[1, 0])
    assert nose[1] - nose[0] > 0.1 * p.eye_distance  # the subject's left is the image's right


@pytest.mark.parametrize("name", PORTRAITS)
def test_open_mouth_shows_a_mouth_not_stretched_lips(name):
    r = renderer(name)
    geometry = r.geometry(weights(jawOpen=0.5), np.zeros(3))
    frame = r.render_geometry(geometry).astype(np.float64)
    polygon = geometry.landmarks[opening("mouth"), :2]
    mouth = np.zeros(frame.shape[:2], bool)
    import cv2

    cv2.fillPoly(mouth.view(np.uint8), [np.round(polygon).astype(np.int32)], 1)
    assert mouth.sum() > 200
    lips = frame[_lip_band(geometry.landmarks, frame.shape)].mean(0)
    interior = frame[mouth]
    dark = (interior.mean(1) < 0.6 * lips.mean()).mean()
    assert dark > 0.3, dark  # a cavity, not lip colour pulled across the gap
    assert np.ptp(interior.mean(1)) > 80  # teeth against the cavity: structure, not one smeared colour


def _lip_band(landmarks, shape):
    import cv2

    from dreamtalk.rig import landmarks as lm

    outer = np.array(list(lm.UPPER_LIP_OUTER) + list(lm.LOWER_LIP_OUTER[-2:0:-1]))
    band = np.zeros(shape[:2], np.uint8)
    cv2.fillPoly(band, [np.round(landmarks[outer, :2]).astype(np.int32)], 1)
    cv2.fillPoly(band, [np.round(landmarks[opening("mouth"), :2]).astype(np.int32)], 0)
    return band > 0


def test_closed_lips_stay_the_portraits_own_lips():
    r, p = renderer("grace_hopper"), portrait("grace_hopper")
    closure = r.render_frame(weights(jawOpen=0.08, mouthClose=0.1, mouthPressLeft=0.2, mouthPressRight=0.2), np.zeros(3))
    box = metrics.face_region(p.landmarks, p.image.shape, openings=True)
    assert np.abs(closure.astype(int) - p.image)[box].mean() < 4.0


def test_a_portrait_with_parted_lips_closes_them_on_a_closure():
    r = renderer("astronaut")  # she smiles with her teeth showing
    gap = metrics.lip_gap(portrait("astronaut").landmarks)
    geometry = r.geometry(weights(jawOpen=0.08, mouthClose=0.1, mouthPressLeft=0.2, mouthPressRight=0.2), np.zeros(3))
    assert gap > 5 and metrics.lip_gap(geometry.landmarks) < 0.15 * gap
    found = metrics.redetect(r.render_geometry(geometry), geometry.landmarks)
    assert metrics.lip_gap(found) < 0.35 * gap


@pytest.mark.parametrize("name", PORTRAITS)
def test_a_blink_closes_both_eyes(name):
    r = renderer(name)
    open_ear = metrics.eye_aspect_ratio(portrait(name).landmarks)
    geometry = r.geometry(weights(eyeBlinkLeft=1.0, eyeBlinkRight=1.0), np.zeros(3))
    found = metrics.redetect(r.render_geometry(geometry), geometry.landmarks)
    assert metrics.eye_aspect_ratio(found) < 0.5 * open_ear


def test_gaze_moves_the_iris_inside_the_eye():
    r, p = renderer("astronaut"), portrait("astronaut")
    shifts = []
    for w in (weights(eyeLookOutLeft=0.8, eyeLookInRight=0.8), weights(eyeLookInLeft=0.8, eyeLookOutRight=0.8)):
        geometry = r.geometry(w, np.zeros(3))
        found = metrics.redetect(r.render_geometry(geometry), geometry.landmarks)
        shifts.append(found[[468, 473], 0] - p.landmarks[[468, 473], 0])
    assert (shifts[0] > 1.0).all() and (shifts[1] < -1.0).all(), shifts  # both irises follow the gaze


def test_background_pixels_never_change():
    r, p = renderer("grace_hopper"), portrait("grace_hopper")
    geometry = r.geometry(weights(jawOpen=0.3), np.array([0.12, 0.05, 0.08]))
    frame = r.render_geometry(geometry)
    background = (r.mask == 0) & (r.person_mask(geometry) == 0)  # neither the portrait nor the frame shows the person
    assert background.mean() > 0.2
    assert np.array_equal(frame[background], p.image[background])


def test_rendering_is_deterministic():
    r = renderer("grace_hopper")
    w, pose = weights(jawOpen=0.2, eyeLookUpLeft=0.4), np.array([0.03, -0.02, 0.01])
    assert np.array_equal(r.render_frame(w, pose), r.render_frame(w, pose))


def test_the_warp_covers_every_triangle_once():
    triangles = warp_triangles()
    assert len(triangles) == 852 + 18 + 2 * 14  # face, mouth strip (11-point chains), eye strips (9-point)
    edges = {}
    for tri in triangles:
        for a, b in ((tri[0], tri[1]), (tri[1], tri[2]), (tri[2], tri[0])):
            key = (min(a, b), max(a, b))
            edges[key] = edges.get(key, 0) + 1
    assert max(edges.values()) == 2  # a manifold disk once the openings are filled


def test_similarity_fit_and_head_rotation():
    rng = np.random.default_rng(0)
    points = rng.normal(size=(50, 3))
    rotation = head_rotation(np.array([0.3, -0.2, 0.1]))
    fit = fit_similarity(points, 2.5 * points @ rotation.T + np.array([1.0, 2.0, 3.0]))
    assert fit.scale == pytest.approx(2.5) and np.allclose(fit.rotation, rotation)
    assert np.allclose(head_rotation(np.zeros(3)), np.eye(3))
    # Blender's Euler 'YXZ' with (pitch, roll, yaw): yaw about Z, applied last
    assert np.allclose(head_rotation(np.array([np.pi / 2, 0, 0])) @ [0, -1, 0], [1, 0, 0])
