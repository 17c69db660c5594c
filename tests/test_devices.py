"""Device selection without a GPU (the CPU path, the one-line errors for a missing CUDA, workers spread over
GPUs), the CPU's fast linear layers, and each stage honouring the device it is given. The CUDA tests at the
end run whenever torch sees a GPU and are skipped otherwise."""

from __future__ import annotations

import pytest
import torch
from torch.nn import functional as F

from dreamtalk.core.errors import InputError
from dreamtalk.learning import devices, fast_linear

CUDA = torch.cuda.is_available()
needs_cuda = pytest.mark.skipif(not CUDA, reason="no CUDA GPU")


def test_device_names_resolve_or_fail_in_one_line(monkeypatch):
    assert str(devices.resolve_device("cpu")) == "cpu"
    for bad in ("gpu", "cpu:1", "cuda:x", "auto:0", ""):
        with pytest.raises(InputError, match="unknown device"):
            devices.resolve_device(bad)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 0)
    assert str(devices.resolve_device("auto")) == "cpu"
    for name in ("cuda", "cuda:0", "CUDA:1"):
        with pytest.raises(InputError) as error:
            devices.resolve_device(name)
        assert "torch sees no CUDA GPU" in str(error.value) and "\n" not in str(error.value)
    assert devices.worker_devices("cpu", 3) == ["cpu"] * 3
    assert devices.worker_devices("auto", 2) == ["cpu", "cpu"]


def test_workers_get_their_own_gpu_round_robin(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 2)
    assert devices.worker_devices("cuda", 2) == ["cuda:0", "cuda:1"]
    assert devices.worker_devices("auto", 5) == ["cuda:0", "cuda:1", "cuda:0", "cuda:1", "cuda:0"]
    assert devices.worker_devices("cuda:1", 3) == ["cuda:1"] * 3
    assert str(devices.resolve_device("cuda")) == "cuda:0"
    with pytest.raises(InputError, match=r"sees 2 CUDA GPUs \(cuda:0..cuda:1\)"):
        devices.resolve_device("cuda:2")
    assert devices.describe(["cuda:0", "cuda:1", "cuda:0"]) == "cuda:0,cuda:1"
    assert devices.describe(["cpu"]) == "cpu"


def test_fast_linear_is_f_linear_and_repacks_a_changed_weight():
    torch.manual_seed(0)
    layer = torch.nn.Linear(24, 40)
    x = torch.randn(3, 7, 24)
    with torch.inference_mode():
        for gelu in (False, True):
            expected = F.linear(x, layer.weight, layer.bias)
            expected = F.gelu(expected) if gelu else expected
            assert torch.allclose(fast_linear.linear(x, layer.weight, layer.bias, gelu), expected, atol=1e-5)
        assert torch.allclose(fast_linear.linear(x, layer.weight), F.linear(x, layer.weight), atol=1e-5)
    with torch.no_grad():
        layer.weight.mul_(-2.0)  # an optimizer step in place: the packed copy must not be reused
    with torch.inference_mode():
        assert torch.allclose(fast_linear.linear(x, layer.weight, layer.bias), layer(x), atol=1e-5)
    y = fast_linear.linear(x, layer.weight, layer.bias)  # autograd: plain F.linear, gradients flow
    y.sum().backward()
    assert layer.weight.grad is not None and not fast_linear.usable(x, layer.weight)
