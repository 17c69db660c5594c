"""Which torch device a stage runs on: `auto`, `cpu`, `cuda` or `cuda:N`, checked once with a one-line error.

`resolve_device` turns a user's choice into a `torch.device` (`cuda` means `cuda:0`, so what is reported is
what runs); `worker_devices` spreads the server's worker threads over the GPUs, round-robin, so with as
many workers as GPUs each worker has its own GPU; `describe` is what `hello.device` reports.
"""

from __future__ import annotations

import re
from typing import ClassVar

from ..core.errors import InputError

_PATTERN = re.compile(r"^(auto|cpu|cuda)(?::(\d+))?$")


def check_name(name: str) -> str:
    """`name` if it spells a device choice (auto, cpu, cuda, cuda:N), else a one-line InputError. No torch."""
    match = _PATTERN.match(str(name).strip().lower())
    if match is None or (match.group(2) is not None and match.group(1) != "cuda"):
        raise InputError(f"unknown device {name!r}: use auto, cpu, cuda or cuda:N")
    return str(name).strip().lower()


def resolve_device(name: str = "auto"):
    """`torch.device` for auto (cuda:0 when torch sees a GPU, else cpu), cpu, cuda (= cuda:0) or cuda:N; a
    one-line InputError when CUDA is asked for and absent, or the GPU index does not exist."""
    name = check_name(name)
    if name == "cpu":
        return _torch().device("cpu")
    torch = _torch()
    count = torch.cuda.device_count() if torch.cuda.is_available() else 0
    if name == "auto":
        return torch.device("cuda", 0) if count else torch.device("cpu")
    index = int(name.partition(":")[2] or 0)
    if count == 0:
        raise InputError(f"--device {name} asked for, but torch sees no CUDA GPU (torch {torch.__version__}); "
                         "use --device cpu or auto")
    if index >= count:
        raise InputError(f"--device {name} asked for, but torch sees {count} CUDA GPU{'s' if count > 1 else ''} "
                         f"(cuda:0..cuda:{count - 1})")
    return torch.device("cuda", index)


def worker_devices(name: str, workers: int) -> list[str]:
    """Device strings of `workers` worker threads: `cpu` for all on the CPU; with `auto` / `cuda` and G GPUs
    worker i gets cuda:(i mod G) (each its own GPU when workers <= G); `cuda:N` puts them all on GPU N."""
    name, workers = check_name(name), max(1, int(workers))
    if name == "cpu":
        return ["cpu"] * workers  # no torch import for a CPU-only server
    first = resolve_device(name)
    if first.type == "cpu" or ":" in name:
        return [str(first)] * workers
    count = _torch().cuda.device_count()
    return [f"cuda:{i % count}" for i in range(workers)]


def describe(devices: list[str]) -> str:
    """What `hello.device` reports: the distinct devices in worker order, e.g. 'cpu', 'cuda:0' or 'cuda:0,cuda:1'."""
    return ",".join(dict.fromkeys(devices)) or "cpu"


def weights_device(module):
    """The `torch.device` a module's weights are on (the CPU for a module without any)."""
    first = next(module.parameters(), None)
    return _torch().device("cpu") if first is None else first.device


class OnDevice:
    """`device` and `to` for a model that holds its torch network in the attribute named by `NETWORK`."""

    NETWORK: ClassVar[str] = "net"

    @property
    def device(self):
        """The `torch.device` the network's weights are on (the model runs there)."""
        return weights_device(getattr(self, self.NETWORK))

    def to(self, device):
        """Move the network to `device` (in place); returns self."""
        getattr(self, self.NETWORK).to(device)
        return self


def _torch():
    import torch

    return torch
