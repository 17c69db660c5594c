"""Device selection without a GPU (the CPU path, the one-line errors for a missing CUDA, workers spread over
GPUs), the CPU's fast linear layers, and each stage honouring the device it is given. The CUDA tests at the
end run whenever torch sees a GPU and are skipped otherwise."""

from __future__ import annotations

import numpy as np
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


@pytest.fixture()
def no_cuda(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 0)
    from dreamtalk.engines import placement

    placement._resolved.cache_clear()
    yield
    placement._resolved.cache_clear()


def test_generate_and_serve_refuse_a_missing_cuda_in_one_line(no_cuda, tmp_path, capsys):
    import soundfile as sf

    from dreamtalk.cli import main

    sf.write(tmp_path / "line.wav", np.zeros(8000, np.float32), 16000)
    assert main(["generate", str(tmp_path / "line.wav"), "-o", str(tmp_path / "out.json"), "--device", "cuda"]) == 2
    err = capsys.readouterr().err.strip()
    assert "torch sees no CUDA GPU" in err and "\n" not in err and not (tmp_path / "out.json").exists()
    assert main(["generate", str(tmp_path / "line.wav"), "-o", str(tmp_path / "o.json"), "--device", "tpu"]) == 2
    assert "unknown device 'tpu'" in capsys.readouterr().err
    assert main(["serve", "--bind", "tcp://127.0.0.1:0", "--device", "cuda:1"]) == 2
    err = capsys.readouterr().err.strip()
    assert "torch sees no CUDA GPU" in err and "\n" not in err


def test_each_stage_of_the_emodiff_engine_runs_on_the_placement_device(monkeypatch, tmp_path):
    """EmoDiff, the lip refiner, the articulation detector and the audio front end are all asked for the device of the thread's
    placement (here a pretend 'cuda:3' whose models stay on the CPU, so the run completes)."""
    from emodiff_fixtures import tiny_model

    from dreamtalk.core.request import GenerateRequest
    from dreamtalk.corpus.synthetic import buzz_utterance
    from dreamtalk.engines import Placement, emodiff, feature_cache, generate, placement
    from dreamtalk.features import by_tag
    from dreamtalk.models.articulation.config import ArticulationConfig
    from dreamtalk.models.articulation.model import ArticulationModel
    from dreamtalk.models.articulation.network import ArticulationNet
    from dreamtalk.models.lip.config import LipRefinerConfig
    from dreamtalk.models.lip.model import LipModel
    from dreamtalk.models.lip.network import LipRefiner

    asked, dim = [], by_tag("logmel-1").dim
    detector = ArticulationModel(ArticulationNet(ArticulationConfig(audio_dim=dim, width=8, layers=1)),
                                 np.zeros(dim, np.float32), np.ones(dim, np.float32), "logmel-1")
    model = tiny_model(audio_dim=by_tag("logmel-1").dim)
    lip = LipModel(LipRefiner(LipRefinerConfig(audio_dim=by_tag("logmel-1").dim, hidden=8, lstm_layers=1)),
                   model.mean, model.std, "logmel-1")
    monkeypatch.setattr(placement, "_resolved", lambda name: {"cuda:3": "cuda:3"}[name])
    monkeypatch.setattr(emodiff, "installed_emodiff", lambda device: asked.append(("emodiff", device)) or model)
    monkeypatch.setattr(emodiff, "installed_refiner", lambda device: asked.append(("lip", device)) or lip)
    monkeypatch.setattr(emodiff, "installed_articulation", lambda device: asked.append(("articulation", device)) or detector)
    monkeypatch.setattr(feature_cache, "by_tag", lambda tag, device: asked.append(("features", device)) or by_tag(tag))
    monkeypatch.setattr(feature_cache, "_FEATURES", {})
    request = GenerateRequest(buzz_utterance(4, seed=2)[0], 16000, engine="emodiff", steps=2)
    takes = generate(request, placement=Placement("cuda:3"))
    assert len(takes) == 1 and sorted(asked) == [("articulation", "cuda:3"), ("emodiff", "cuda:3"), ("features", "cuda:3"),
                                                 ("lip", "cuda:3")]


def test_server_workers_each_get_their_gpu_and_hello_reports_them(monkeypatch):
    """Two pretend GPUs, four workers: threads 0-3 are placed on cuda:0, cuda:1, cuda:0, cuda:1 (batches of
    up to 2 requests per device by default) and hello says what runs."""
    import threading

    from server_helpers import start_service

    from dreamtalk import engines
    from dreamtalk.core.client import Client

    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 2)
    seen, barrier = {}, threading.Barrier(4, timeout=20)

    def where(request, progress):
        place = engines.placement.current()
        seen[threading.current_thread().name] = (place.device, place.batch_requests)
        barrier.wait()  # four jobs at once: every worker thread takes one
        return engines.resolve("echo")(request, progress)

    monkeypatch.setitem(engines._ENGINES, "where", where)
    service = start_service(device="cuda", workers=4, max_jobs_per_client=8)
    try:
        with Client(service.endpoint) as client:
            assert client.hello()["device"] == "cuda:0,cuda:1"
        from dataclasses import replace

        from server_helpers import echo_request

        def call(seed):
            with Client(service.endpoint, timeout=30) as client:
                client.generate(replace(echo_request(seed), engine="where"))

        threads = [threading.Thread(target=call, args=(seed,)) for seed in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(30)
    finally:
        service.stop()
    assert seen == {f"dreamtalk-worker-{i}": (f"cuda:{i % 2}", 2) for i in range(4)}


@needs_cuda
def test_cuda_engine_matches_the_cpu_on_the_same_seed():
    """Shipped EmoDiff + lip refiner + Whisper encoder on the GPU against the CPU, same request and seed."""
    from dreamtalk.core.request import GenerateRequest
    from dreamtalk.corpus.synthetic import buzz_utterance
    from dreamtalk.engines import Placement, generate
    from dreamtalk.engines.installed import installed_articulation, installed_emodiff, installed_refiner

    request = GenerateRequest(buzz_utterance(12, seed=3)[0], 16000, seed=5, takes=2)
    cpu = generate(request, placement=Placement("cpu"))
    gpu = generate(request, placement=Placement("cuda"))
    assert installed_emodiff("cuda:0").device.type == "cuda"
    refiner, detector = installed_refiner("cuda:0"), installed_articulation("cuda:0")
    assert refiner is None or refiner.device.type == "cuda"
    assert detector is None or detector.device.type == "cuda"
    for a, b in zip(cpu, gpu):
        np.testing.assert_allclose(a.values, b.values, atol=1e-4)
        np.testing.assert_allclose(a.head_pose, b.head_pose, atol=1e-4)


@needs_cuda
def test_cuda_whisper_encoder_and_fast_paths_match_the_cpu():
    from dreamtalk.features import whisper

    audio = np.random.default_rng(0).normal(0, 0.1, 16000 * 3).astype(np.float32)
    cpu = whisper.encode(audio, whisper.VERSION_EXACT, "cpu")
    gpu = whisper.encode(audio, whisper.VERSION_EXACT, "cuda:0")
    assert np.abs(cpu - gpu).max() < 1e-3 * np.abs(cpu).max()
