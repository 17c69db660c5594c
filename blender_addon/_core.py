"""Where the shared plain-Python core (`dreamtalk.core`) comes from.

The built extension carries a copy under `vendor/dreamtalk_core/` (made by `build_addon.py`; core
modules import each other relatively, so the copy works as a sub-package). In a development
checkout the installed `dreamtalk` package is used, or the repository's `backend/` folder when the
add-on folder sits beside it. There is only ever one copy in git: `backend/dreamtalk/core/`.
"""

from __future__ import annotations

import importlib
import sys
from pathlib import Path
from types import ModuleType


def _core_package() -> str:
    """Dotted name of the core package this add-on uses."""
    vendored = f"{__package__}.vendor.dreamtalk_core"
    if (Path(__file__).parent / "vendor" / "dreamtalk_core" / "__init__.py").is_file():
        return vendored
    backend = Path(__file__).resolve().parent.parent / "backend"
    if (backend / "dreamtalk" / "core").is_dir() and str(backend) not in sys.path:
        sys.path.append(str(backend))
    return "dreamtalk.core"


CORE = _core_package()
arkit = importlib.import_module(f"{CORE}.arkit")
curves = importlib.import_module(f"{CORE}.curves")
errors = importlib.import_module(f"{CORE}.errors")
formats = importlib.import_module(f"{CORE}.formats")
request = importlib.import_module(f"{CORE}.request")


def client_module() -> ModuleType:
    """The core `client` module (imports pyzmq); raises ImportError when it is not available."""
    return importlib.import_module(f"{CORE}.client")

Curves = curves.Curves
DreamTalkError = errors.DreamTalkError
InputError = errors.InputError
GenerateRequest = request.GenerateRequest
RenderRequest = request.RenderRequest
EmotionKey = request.EmotionKey
