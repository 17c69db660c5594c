"""Concurrent requests on one device share a sampling call (engines/batching.py): the leader / follower
batcher, sampling several plans in one call equals sampling each alone, and a real server with several
worker threads batching EmoDiff requests returns what each request gives alone."""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest
from emodiff_fixtures import tiny_model
from server_helpers import start_service

from dreamtalk.core.client import Client
from dreamtalk.core.progress import Cancelled
from dreamtalk.core.request import GenerateRequest
from dreamtalk.corpus.synthetic import buzz_utterance
from dreamtalk.engines import batching, generate
from dreamtalk.engines.batching import Batcher
from dreamtalk.engines.installed import EMODIFF_ENV
from dreamtalk.features import by_tag
from dreamtalk.models.emodiff.config import SamplerConfig
from dreamtalk.models.emodiff.generate import plan, sample_plans


def _recording_batcher(limit: int, pause: float = 0.05):
    batches: list[list] = []

    def run(tickets, leader):
        batches.append([t.payload for t in tickets])
        time.sleep(pause)
        for ticket in tickets:
            if ticket.payload == "boom":
                raise RuntimeError("boom")
            ticket.result = ticket.payload * 2

    return Batcher(run, limit), batches


def _submit_all(batcher, payloads, stagger: float = 0.0):
    results, threads = {}, []

    def call(payload):
        try:
            results[payload] = batcher.submit(payload)
        except Exception as error:  # noqa: BLE001 - recorded for the assertions
            results[payload] = error

    for payload in payloads:
        threads.append(threading.Thread(target=call, args=(payload,)))
        threads[-1].start()
        time.sleep(stagger)
    for thread in threads:
        thread.join(10)
    return results


def test_a_lone_call_runs_at_once_and_calls_arriving_meanwhile_go_together():
    batcher, batches = _recording_batcher(limit=8)
    start = time.perf_counter()
    assert batcher.submit("a") == "aa"
    assert time.perf_counter() - start < 0.5 and batches == [["a"]]
    results = _submit_all(batcher, [f"r{i}" for i in range(6)], stagger=0.005)
    assert results == {f"r{i}": f"r{i}r{i}" for i in range(6)}
    assert len(batches) - 1 < 6 and max(len(b) for b in batches[1:]) > 1  # later arrivals shared a call
    assert sorted(p for b in batches[1:] for p in b) == sorted(results)  # each ran exactly once


def test_batches_respect_the_limit_and_an_error_reaches_every_request_of_its_batch():
    batcher, batches = _recording_batcher(limit=2, pause=0.1)
    results = _submit_all(batcher, ["x", "y", "z", "w", "v"], stagger=0.01)
    assert max(len(b) for b in batches) <= 2 and sorted(p for b in batches for p in b) == ["v", "w", "x", "y", "z"]
    batcher, batches = _recording_batcher(limit=8, pause=0.1)
    results = _submit_all(batcher, ["first", "boom", "other"], stagger=0.02)
    together = next(b for b in batches if "boom" in b)
    for payload in together:
        assert isinstance(results[payload], RuntimeError)
    assert results["first"] == "firstfirst" or "first" in together


def test_a_cancelled_waiting_request_leaves_without_its_batch():
    ran = []

    def run(tickets, leader):
        ran.extend(t.payload for t in tickets)
        time.sleep(0.3)
        for ticket in tickets:
            ticket.result = ticket.payload

    batcher = Batcher(run, 8)
    cancel = threading.Event()

    def report(step, steps):
        if cancel.is_set():
            raise Cancelled("job cancelled")

    outcome = {}
    first = threading.Thread(target=lambda: outcome.setdefault("first", batcher.submit("first")))
    first.start()
    time.sleep(0.05)  # "first" runs; "second" waits for the next batch

    def second():
        try:
            outcome["second"] = batcher.submit("second", report)
        except Cancelled:
            outcome["second"] = "cancelled"

    waiter = threading.Thread(target=second)
    waiter.start()
    cancel.set()
    waiter.join(5)
    first.join(5)
    assert outcome == {"first": "first", "second": "cancelled"}
    assert "second" not in ran  # withdrawn before any batch took it


@pytest.fixture(scope="module")
def tiny():
    return tiny_model(audio_dim=6)


def test_plans_sampled_together_equal_each_plan_sampled_alone(tiny):
    """Takes and requests of different lengths (one shorter than a window, one with locked frames) in one
    sampling call give each request what it gets alone."""
    rng = np.random.default_rng(0)
    cfg = SamplerConfig(steps=4, guidance=1.5, audio_guidance=2.0, overlap=4)
    feats = [rng.normal(size=(n, 6)).astype(np.float32) for n in (50, 9, 33)]
    locked = np.full((33, 55), 0.3, np.float32)
    mask = np.zeros(33, bool)
    mask[10:14] = True
    plans = [plan(tiny, feats[0], cfg, takes=2, seed=1), plan(tiny, feats[1], cfg, takes=1, seed=2),
             plan(tiny, feats[2], cfg, takes=3, seed=3, locked=locked, locked_mask=mask)]
    together = sample_plans(tiny, plans)
    for job, out, seed in zip(plans, together, (1, 2, 3)):
        alone = sample_plans(tiny, [job], seed=seed)[0]
        assert out.shape == alone.shape
        np.testing.assert_allclose(out, alone, atol=1e-5)
    np.testing.assert_allclose(together[2][:, 10:14], np.broadcast_to(locked[10:14], (3, 4, 55)), atol=1e-6)
    stochastic = plan(tiny, feats[0], SamplerConfig(steps=4, eta=1.0))
    assert stochastic.batch_key is None  # its step noise would depend on its batch: it runs alone
    with pytest.raises(ValueError, match="cannot share a sampling call"):
        sample_plans(tiny, [plans[0], stochastic])


def test_a_server_with_four_workers_batches_emodiff_requests_and_returns_each_requests_curves(
        tmp_path, monkeypatch, tiny):
    model = tiny_model(audio_dim=by_tag("logmel-1").dim)
    model.save(tmp_path / "emodiff.pt")
    monkeypatch.setenv(EMODIFF_ENV, str(tmp_path / "emodiff.pt"))
    monkeypatch.setenv("DREAMTALK_LIP_CHECKPOINT", "off")
    requests = [GenerateRequest(buzz_utterance(4 + i, seed=i)[0], 16000, engine="emodiff", seed=i, steps=3,
                                takes=1 + i % 2) for i in range(6)]
    expected = [generate(r) for r in requests]
    sizes = []

    def slow_sample_plans(model, plans, *args):  # long enough that requests arriving meanwhile must wait
        sizes.append(len(plans))
        time.sleep(0.3)
        return sample_plans(model, plans, *args)

    monkeypatch.setattr(batching, "sample_plans", slow_sample_plans)
    service = start_service(workers=4, batch_requests=4, max_queue=16, max_jobs_per_client=8)
    results: dict[int, list] = {}
    try:
        def call(i):
            with Client(service.endpoint, timeout=60) as client:
                results[i] = client.generate(requests[i])

        threads = [threading.Thread(target=call, args=(i,)) for i in range(len(requests))]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(120)
        with Client(service.endpoint) as client:
            assert client.hello()["device"] == "cpu"
    finally:
        service.stop()
    assert sorted(results) == list(range(len(requests)))
    for i, takes in enumerate(expected):
        assert len(results[i]) == len(takes)
        for got, want in zip(results[i], takes):
            np.testing.assert_allclose(got.values, want.values, atol=1e-4)
            np.testing.assert_allclose(got.head_pose, want.head_pose, atol=1e-4)
    assert sum(sizes) == len(requests) and max(sizes) > 1  # some requests shared a sampling call
