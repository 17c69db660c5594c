"""What the backend service needs of the renderer: quick checks on the I/O thread, the render on a worker.

A `render` request's `options` (JSON) may name `renderer`, `framing` ("crop" | "full"), `size` (even,
64..4096) and `face` ("single" | "largest"); anything else is refused, never guessed. Without a
`renderer` the server uses the neural renderer when it has a checkpoint ($DREAMTALK_RENDERER_CHECKPOINT),
else the geometric one. No option names a file: a checkpoint is the server's own configuration.
"""

from __future__ import annotations

import io

from ..core.errors import InputError
from ..core.progress import Progress
from ..core.request import RenderRequest
from .config import RenderConfig
from .neural.settings import checkpoint_path, configured_checkpoint, default_renderer
from .pipeline import DEFAULT_RENDERER, RenderInput, available, check_durations, render_bytes

__all__ = ["DEFAULT_RENDERER", "usable", "check_options", "check_seconds", "image_pixels", "render_request"]

OPTIONS = ("renderer", "framing", "size", "face")


def usable() -> list[str]:
    """The renderers this server can run now (what `hello.renderers` lists): the neural one only with a
    checkpoint configured."""
    return [name for name in available() if name != "neural" or configured_checkpoint(RenderConfig())]


def image_pixels(portrait: bytes) -> int:
    """Width x height from the image header alone (nothing is decoded); InputError if it is no image."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(io.BytesIO(portrait)) as image:
            width, height = image.size
    except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError):
        raise InputError("the portrait is not a readable PNG or JPEG image") from None
    return width * height


def config_from_options(options: dict) -> tuple[str, RenderConfig]:
    """(renderer name, RenderConfig) from a request's options; InputError for unknown or bad ones."""
    unknown = sorted(set(options) - set(OPTIONS))
    if unknown:
        raise InputError(f"unknown render options {', '.join(map(repr, unknown))}; known: {', '.join(OPTIONS)}")
    renderer = options.get("renderer") or default_renderer(RenderConfig())  # neural when the server has a checkpoint
    if renderer not in usable():
        if renderer == "neural":
            checkpoint_path(RenderConfig())  # says why: no checkpoint configured, or the file is missing
        raise InputError(f"unknown renderer {str(renderer)[:40]!r}; available: {', '.join(usable())}")
    framing, face, size = options.get("framing", "crop"), options.get("face", "single"), options.get("size", 512)
    if framing not in ("crop", "full") or face not in ("single", "largest"):
        raise InputError("render options: framing must be 'crop' or 'full', face 'single' or 'largest'")
    if not isinstance(size, int) or isinstance(size, bool) or size % 2:
        raise InputError("render option size must be an even number of pixels")
    return renderer, RenderConfig(framing=framing, size=size, face=face)


def check_options(options: dict | None) -> str:
    """The renderer a request's options name, once they are all valid (InputError otherwise)."""
    if options is None:
        raise InputError("render options must be a JSON object")
    return config_from_options(options)[0]


def check_seconds(curves_seconds: float, audio_seconds: float | None, fps: float) -> None:
    """Curves and audio must last the same (within two frames or 0.1 s)."""
    check_durations(curves_seconds, audio_seconds, fps)


def render_request(request: RenderRequest, progress: Progress | None = None) -> bytes:
    """Render a service request to mp4 bytes (a worker thread's job)."""
    from .analysis import load_image

    renderer, config = config_from_options(request.options)
    image = load_image(request.portrait, "the portrait")
    job = RenderInput(image, request.curves, request.audio, request.sample_rate, renderer)
    return render_bytes(job, config, progress)
