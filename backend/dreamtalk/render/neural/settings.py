"""Which renderer a render uses, and where the neural renderer's checkpoint comes from (no torch here).

The neural renderer runs when a checkpoint is configured: `RenderConfig.checkpoint` (the CLI's
`--checkpoint`) or the `DREAMTALK_RENDERER_CHECKPOINT` environment variable; without one, part 1's
geometric renderer. No trained weights ship with DREAM-Talk (docs/render.md, "Neural renderer").
"""

from __future__ import annotations

import os
from pathlib import Path

from ...core.errors import InputError
from ..config import RenderConfig

CHECKPOINT_ENV = "DREAMTALK_RENDERER_CHECKPOINT"


def configured_checkpoint(config: RenderConfig) -> str | None:
    return config.checkpoint or os.environ.get(CHECKPOINT_ENV) or None


def default_renderer(config: RenderConfig) -> str:
    """'neural' when a checkpoint is configured, else 'geometric'."""
    return "neural" if configured_checkpoint(config) else "geometric"


def checkpoint_path(config: RenderConfig) -> Path:
    """The configured checkpoint file, or a one-line error saying how to give one."""
    value = configured_checkpoint(config)
    if value is None:
        raise InputError(f"the neural renderer needs a trained checkpoint: pass --checkpoint or set {CHECKPOINT_ENV} "
                         "(no trained weights ship; see docs/render.md)")
    path = Path(value).expanduser()
    if not path.is_file():
        raise InputError(f"neural renderer checkpoint not found: {path}")
    return path
