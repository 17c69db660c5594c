"""The neural renderer behind `dreamtalk render --renderer neural --checkpoint CKPT` (registry name
"neural"): part 1 renders each frame, the trained network refines it.

Per portrait (once): part 1's renderer, the network crop (the whole framed picture for the default
head crop; a square around the head for `--full`), the source's appearance volume. Per batch of
frames: part-1 frames on CPU threads (the next batch is rendered while the network runs), driving
landmarks and head rotation from part 1's geometry, one network pass (bf16 on CUDA), then the crop
goes back into part 1's frame (feathered, when the crop is not the whole picture).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import torch

from ...core.curves import Curves
from ...core.errors import InputError
from ..analysis import Portrait, frame_box
from ..config import DEFAULT_CONFIG, RenderConfig
from ..renderer import GeometricRenderer
from .checkpoint import load_generator
from .conditioning import DrivingInputs, normalise, resize, to_images
from .driving import driven_landmarks
from .settings import checkpoint_path

FRAMES_PER_PASS = 8  # frames per network pass
FEATHER = 0.04  # width of the paste-back blend, as a share of the crop side


def pick_device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        device = torch.device(name)
    except RuntimeError:
        raise InputError(f"unknown device {name!r} (auto, cpu, cuda or cuda:N)") from None
    if device.type == "cuda" and not torch.cuda.is_available():
        raise InputError("--device cuda asked for, but torch sees no CUDA GPU (use --device cpu or auto)")
    return device


class NetworkCrop:
    """The square of the framed picture the network sees, at its output size, and the way back."""

    def __init__(self, portrait: Portrait, side: int, config: RenderConfig) -> None:
        h, w = portrait.image.shape[:2]
        whole = config.framing == "crop" and h == w
        x0, y0, crop = (0.0, 0.0, float(w)) if whole else frame_box(portrait.landmarks, portrait.image.shape, config)
        self.box, self.side, self.shape = (x0, y0, crop), side, (h, w)
        scale = side / crop
        self.forward = np.array([[scale, 0, (0.5 - x0) * scale - 0.5], [0, scale, (0.5 - y0) * scale - 0.5]])
        self.identity = whole and crop == side
        self.feather = None if whole else self._feather()

    def cut(self, image: np.ndarray) -> np.ndarray:
        import cv2

        if self.identity:
            return image
        flags = cv2.INTER_AREA if self.forward[0, 0] < 1 else cv2.INTER_CUBIC
        return cv2.warpAffine(image, self.forward, (self.side, self.side), flags=flags, borderMode=cv2.BORDER_REPLICATE)

    def points(self, landmarks: np.ndarray) -> np.ndarray:
        """(N, 3) landmarks of the framed picture -> pixels of the crop (z scaled alike)."""
        scale = self.forward[0, 0]
        out = landmarks.astype(np.float64).copy()
        out[:, :2] = landmarks[:, :2] * scale + self.forward[:, 2]
        out[:, 2] *= scale
        return out

    def paste(self, refined: np.ndarray, cut: np.ndarray, frame: np.ndarray) -> np.ndarray:
        """Part 1's `frame` with the network's change (`refined` - `cut`, both crops) added back at the
        frame's own resolution, so what the network leaves alone keeps part 1's full detail."""
        import cv2

        if self.identity:
            return refined
        h, w = self.shape
        change = refined.astype(np.float32) - cut.astype(np.float32)
        back = cv2.warpAffine(change, self.forward, (w, h), flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
                              borderMode=cv2.BORDER_CONSTANT, borderValue=0)
        if self.feather is not None:
            back *= self.feather[..., None]
        return np.clip(frame.astype(np.float32) + back + 0.5, 0, 255).astype(np.uint8)

    def _feather(self) -> np.ndarray:
        """(H, W) 1 inside the crop, easing to 0 over FEATHER of its side at its edges, 0 outside."""
        import cv2

        ramp = np.clip(np.minimum(np.arange(self.side), np.arange(self.side)[::-1]) / (FEATHER * self.side), 0, 1)
        square = np.minimum(ramp[:, None], ramp[None, :]).astype(np.float32)
        h, w = self.shape
        return cv2.warpAffine(square, self.forward, (w, h), flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
                              borderMode=cv2.BORDER_CONSTANT, borderValue=0)


class NeuralRenderer:
    """Part 1's frames refined by a trained Face-Vid2Vid-style network (`render/neural`)."""

    name = "neural"

    def __init__(self, portrait: Portrait, config: RenderConfig = DEFAULT_CONFIG) -> None:
        path = checkpoint_path(config)
        self.device = pick_device(config.device)
        self.generator = load_generator(path, self.device)
        self.cfg = self.generator.cfg
        self.geometric = GeometricRenderer(portrait, config)
        self.crop = NetworkCrop(portrait, self.cfg.output_size, config)
        source = torch.from_numpy(np.ascontiguousarray(self.crop.cut(portrait.image)))[None].to(self.device)
        self.source = resize(to_images(source), self.cfg.size)  # (1, 3, S, S)
        side = self.cfg.output_size
        self.source_points = normalise(torch.from_numpy(self.crop.points(portrait.landmarks)).float(), side)
        self.camera = self.geometric.motion.to_camera.rotation  # rig -> camera rotation of the portrait
        with torch.no_grad(), self._autocast():
            self.volume = self.generator.encode(self.source)
        self.pool = ThreadPoolExecutor(max_workers=2, thread_name_prefix="part1")

    def _autocast(self):
        import contextlib

        if self.device.type == "cuda":
            return torch.autocast("cuda", dtype=torch.bfloat16)
        return contextlib.nullcontext()

    def _part1(self, weights: np.ndarray, pose: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Part 1's frame, its 478 driving landmarks (crop pixels) and head rotation (camera axes)."""
        geometry = self.geometric.geometry(weights, pose)
        frame = self.geometric.render_geometry(geometry)
        points = self.crop.points(driven_landmarks(self.geometric, geometry))
        return frame, points, self.camera @ geometry.rotation @ self.camera.T

    @torch.no_grad()
    def refine(self, parts: list[tuple[np.ndarray, np.ndarray, np.ndarray]]) -> list[np.ndarray]:
        """The network over part-1 results; returns the final frames."""
        side, count = self.cfg.output_size, len(parts)
        crops = np.stack([self.crop.cut(frame) for frame, _, _ in parts])
        warped = to_images(torch.from_numpy(crops).to(self.device))
        points = torch.from_numpy(np.stack([p for _, p, _ in parts])).float()
        inputs = DrivingInputs(
            source=self.source.expand(count, -1, -1, -1), warped=resize(warped, self.cfg.size), warped_full=warped,
            source_points=self.source_points.expand(count, -1, -1), driving_points=normalise(points, side),
            rotation=torch.from_numpy(np.stack([r for _, _, r in parts])).float(),
        ).to(self.device)
        with self._autocast():
            image = self.generator(inputs, self.volume)["image"].float()
        pixels = (image.clamp(0, 1) * 255 + 0.5).byte().permute(0, 2, 3, 1).cpu().numpy()
        return [self.crop.paste(out, cut, frame) for out, cut, (frame, _, _) in zip(pixels, crops, parts)]

    def render_frame(self, weights: np.ndarray, pose: np.ndarray) -> np.ndarray:
        return self.refine([self._part1(weights, pose)])[0]

    def frames(self, curves: Curves, progress: Callable[[str, float], None] | None = None) -> Iterator[np.ndarray]:
        """Every frame of `curves`, in order (part 1 of the next batch renders while the network runs)."""
        total = curves.num_frames
        starts = list(range(0, total, FRAMES_PER_PASS))

        def submit(start: int) -> list:
            end = min(start + FRAMES_PER_PASS, total)
            return [self.pool.submit(self._part1, curves.values[i], curves.head_pose[i]) for i in range(start, end)]

        pending = submit(starts[0]) if starts else []
        for index, start in enumerate(starts):
            parts = [future.result() for future in pending]
            pending = submit(starts[index + 1]) if index + 1 < len(starts) else []
            if progress is not None:
                progress("render", start / max(total, 1))
            yield from self.refine(parts)
