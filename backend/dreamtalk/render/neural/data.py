"""Training batches: (source, driving) pairs from one clip, gathered from memory-mapped arrays by a
background thread that keeps a few batches ready on the device (pinned host memory, non-blocking
copies on their own CUDA stream), so the GPU does not wait for data.

A batch holds uint8 frames and pixel landmarks; `conditioning.inputs_from_arrays` turns it into
network inputs on the device.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable, Iterator

import numpy as np
import torch

from .driving import camera_rotation
from .store import ClipArrays

Batch = dict[str, torch.Tensor]


class PairSampler:
    """Random pairs from a list of clips (a clip drawn in proportion to its frames)."""

    def __init__(self, clips: list[ClipArrays]) -> None:
        if not clips:
            raise ValueError("no clips to sample from")
        self.clips = clips
        sizes = np.array([len(c) for c in clips], np.float64)
        self.weights = sizes / sizes.sum()

    def indices(self, rng: np.random.Generator, count: int) -> np.ndarray:
        """(count, 3) rows of (clip, driving frame, pair slot)."""
        clips = rng.choice(len(self.clips), size=count, p=self.weights)
        rows = [(c, rng.integers(len(self.clips[c])), rng.integers(self.clips[c].sources.shape[1])) for c in clips]
        return np.array(rows, np.int64)

    def gather(self, rows: np.ndarray) -> dict[str, np.ndarray]:
        """The arrays of the pairs in `rows` (numpy, host memory)."""
        parts: dict[str, list[np.ndarray]] = {k: [] for k in ("source", "warped", "target", "source_points",
                                                              "driving_points", "rotation")}
        for c, d, p in rows:
            clip = self.clips[c]
            s = int(clip.sources[d, p])
            parts["source"].append(clip.frames[s])
            parts["warped"].append(clip.warped[d, p])
            parts["target"].append(clip.frames[d])
            parts["source_points"].append(clip.landmarks[s])
            parts["driving_points"].append(clip.landmarks[d])
            parts["rotation"].append(camera_rotation(clip.pose[s], clip.pose[d]))
        return {k: np.stack(v) for k, v in parts.items()}

    def batch(self, rng: np.random.Generator, count: int) -> dict[str, np.ndarray]:
        return self.gather(self.indices(rng, count))


def to_tensors(arrays: dict[str, np.ndarray], device: torch.device, pin: bool) -> Batch:
    out = {}
    for key, value in arrays.items():
        tensor = torch.from_numpy(np.ascontiguousarray(value))
        if pin:
            tensor = tensor.pin_memory()
        out[key] = tensor.to(device, non_blocking=pin)
    return out


class Prefetcher:
    """Runs `make()` (host arrays) on a thread, moves the results to `device`, keeps `depth` ready.

    `next()` returns a batch and how long the caller waited for it (the data-loading share of a step).
    """

    def __init__(self, make: Callable[[], dict[str, np.ndarray]], device: torch.device, depth: int = 3) -> None:
        self.make, self.device = make, device
        self.queue: queue.Queue = queue.Queue(maxsize=max(depth, 1))
        self.stop = threading.Event()
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._run, name="renderer-batches", daemon=True)
        self.thread.start()

    def _run(self) -> None:
        cuda = self.device.type == "cuda"
        stream = torch.cuda.Stream(self.device) if cuda else None
        try:
            while not self.stop.is_set():
                arrays = self.make()
                if cuda:
                    with torch.cuda.stream(stream):
                        batch = to_tensors(arrays, self.device, pin=True)
                    stream.synchronize()
                else:
                    batch = to_tensors(arrays, self.device, pin=False)
                while not self.stop.is_set():
                    try:
                        self.queue.put(batch, timeout=0.1)
                        break
                    except queue.Full:
                        continue
        except BaseException as error:  # handed to the consumer, raised there
            self.error = error

    def next(self) -> tuple[Batch, float]:
        start = time.perf_counter()
        while True:
            if self.error is not None:
                raise self.error
            try:
                batch = self.queue.get(timeout=0.1)
            except queue.Empty:
                continue
            if self.device.type == "cuda":  # copied on the loader's stream, used (and freed) on this one
                for tensor in batch.values():
                    tensor.record_stream(torch.cuda.current_stream(self.device))
            return batch, time.perf_counter() - start

    def close(self) -> None:
        self.stop.set()
        self.thread.join(timeout=5)

    def __iter__(self) -> Iterator[Batch]:
        while True:
            yield self.next()[0]
