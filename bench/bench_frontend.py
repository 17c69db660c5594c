"""Benchmark: the Whisper audio front end for short lines. Same run, same speech (espeak-ng sentences):

* warm features for 1 s, 5 s and 60 s of audio: the previous path (faster-whisper / CTranslate2 over 30 s
  zero-padded windows, `whisper.encode_ct2`) vs the PyTorch encoder on the same padded windows
  (`whisper-base-ct2-1`, the shipped models' features) vs exact-length pieces (`whisper-base-2`), each in
  its own process, the processes taking turns `--repeats` times (best of 3 calls each time); and how far
  the exact-length features are from the padded ones;
* cold start of the front end in a fresh process: the previous one (import faster-whisper, SHA-256 of the
  145 MB weights, load the CTranslate2 model) vs this one (stamp check, memory-mapped encoder weights);
* cold `dreamtalk generate` (a new process, shipped EmoDiff + lip refiner, 1 s and 5 s lines): the code
  before this change (`git archive BASE`, default main) vs now, and now with the models relabelled to
  `whisper-base-2` (for timing only: the same networks fed exact-length features; their quality on those
  features is measured by bench/eval_frontend_scheme.py).

Usage: .venv/bin/python bench/bench_frontend.py [--threads 2] [--repeats 3] [--base main] [--no-cli]
Prints markdown tables.
"""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
SENTENCES = ("Maybe the baby will bring a map to the big market by the pub.",
             "Please put the purple blanket back before my mother comes home.",
             "We talked about the weather, the boats, and the broken lamp in the hall.")


def speech(seconds: float) -> np.ndarray:
    """16 kHz espeak-ng speech, sentences repeated and trimmed to `seconds`."""
    from dreamtalk.align.espeak import synthesize
    from dreamtalk.core.audio import resample

    parts, total = [], 0
    while total < seconds * 16000:
        s = synthesize(SENTENCES[len(parts) % len(SENTENCES)], "en-us+m3")
        parts.append(resample(s.audio, s.sample_rate, 16000))
        total += len(parts[-1])
    return np.concatenate(parts)[: int(seconds * 16000)].astype(np.float32)


def interleaved(calls: list, repeats: int) -> list[tuple[float, object]]:
    """(best wall time, last output) of each `(fn, args, kwargs)`, the calls taking turns in every repeat so
    that other load on the machine hits all of them alike. A pause before each call lets the previous
    library's OpenMP threads stop spinning (CTranslate2's would otherwise hold the cores for ~0.2 s)."""
    times, outs = [[] for _ in calls], [None] * len(calls)
    for _ in range(repeats):
        for k, (fn, args, kwargs) in enumerate(calls):
            time.sleep(0.5)
            start = time.perf_counter()
            outs[k] = fn(*args, **kwargs)
            times[k].append(time.perf_counter() - start)
    return [(min(t), out) for t, out in zip(times, outs)]


WARM = """
import sys, time, numpy as np, torch
sys.path.insert(0, {bench!r})
from bench_frontend import speech
from dreamtalk.features import whisper
torch.set_num_threads({threads})
encode = whisper.encode_ct2 if {variant!r} == "ct2" else lambda audio: whisper.encode(audio, {variant!r})
encode(speech(1.0))
for seconds in (1.0, 5.0, 60.0):
    audio = speech(seconds)
    times = []
    for _ in range(3):
        start = time.perf_counter(); encode(audio); times.append(time.perf_counter() - start)
    print(min(times))
"""
VARIANTS = ("ct2", "base-ct2-1", "base-2")  # CTranslate2 padded; PyTorch padded; PyTorch exact length


def warm_times(repeats: int, threads: int) -> np.ndarray:
    """`(variants, 3)` best times for 1, 5, 60 s: each variant in its own process (the two libraries' thread
    pools never share one), the processes taking turns `repeats` times, 3 calls each."""
    env = dict(os.environ, DREAMTALK_WHISPER_THREADS=str(threads), OMP_NUM_THREADS=str(threads))
    found = [[] for _ in VARIANTS]
    for _ in range(repeats):
        for k, variant in enumerate(VARIANTS):
            code = WARM.format(bench=str(Path(__file__).resolve().parent), threads=threads, variant=variant)
            run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env)
            found[k].append([float(x) for x in run.stdout.split()])
    return np.array([np.min(f, axis=0) for f in found])


def warm_rows(repeats: int, threads: int) -> list[str]:
    from dreamtalk.features import whisper

    times, rows = warm_times(repeats, threads), []
    for column, seconds in enumerate((1.0, 5.0, 60.0)):
        audio = speech(seconds)
        ct2, exact = whisper.encode_ct2(audio), whisper.encode(audio, whisper.VERSION_EXACT)
        rel = np.sqrt(((exact - ct2) ** 2).mean() / (ct2**2).mean())
        cos = (exact * ct2).sum(1) / np.linalg.norm(exact, axis=1) / np.linalg.norm(ct2, axis=1)
        t_ct2, t_pad, t_exact = times[:, column]
        rows.append(f"| {seconds:.0f} s | {t_ct2:.3f} s | {t_pad:.3f} s | {t_exact:.3f} s | {t_ct2 / t_exact:.1f}x | "
                    f"{rel:.3f} | {cos.mean():.3f} / {cos.min():.3f} |")
    return rows


COLD_OLD = """
import time, hashlib; t0 = time.perf_counter()
from faster_whisper import WhisperModel
t1 = time.perf_counter()
from dreamtalk.features import whisper
d = whisper.cache_dir(); h = hashlib.sha256()
with open(d / 'model.bin', 'rb') as f:
    for b in iter(lambda: f.read(1 << 20), b''): h.update(b)
t2 = time.perf_counter()
WhisperModel(str(d), device='cpu', compute_type='float32', cpu_threads=whisper.encoder_threads())
t3 = time.perf_counter(); print(t1 - t0, t2 - t1, t3 - t2)
"""
COLD_NEW = """
import time; t0 = time.perf_counter()
import torch
t1 = time.perf_counter()
from dreamtalk.features import whisper
whisper.model_dir()
t2 = time.perf_counter()
whisper.torch_encoder()
t3 = time.perf_counter(); print(t1 - t0, t2 - t1, t3 - t2)
"""


def cold(codes: list[str], repeats: int, env: dict | None = None) -> list[np.ndarray]:
    """Per code: the smallest of each printed figure over `repeats` fresh processes (codes take turns)."""
    found = [[] for _ in codes]
    for _ in range(repeats):
        for k, code in enumerate(codes):
            run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env)
            found[k].append([float(x) for x in run.stdout.split()])
    return [np.min(f, axis=0) for f in found]


def relabelled(folder: Path, emodiff: Path | None = None, lip: Path | None = None) -> dict:
    """Copies of the shipped (or given) checkpoints that name `whisper-base-2` (timing only), as env overrides."""
    import torch

    from dreamtalk.engines.installed import EMODIFF_ENV, LIP_ENV, LIP_SHIPPED, emodiff_checkpoint

    env = {}
    for source, name, var in ((emodiff or emodiff_checkpoint(), "emodiff.pt", EMODIFF_ENV),
                              (lip or LIP_SHIPPED, "lip.pt", LIP_ENV)):
        payload = torch.load(source, map_location="cpu", weights_only=True)
        payload["audio_front_end"] = "whisper-base-2"
        torch.save(payload, folder / name)
        env[var] = str(folder / name)
    return env


def cli_rows(base: str, repeats: int, threads: int) -> list[str]:
    import soundfile

    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        old = tmp / "old"
        old.mkdir()
        archive = subprocess.run(["git", "-C", str(ROOT), "archive", base, "backend"], capture_output=True, check=True)
        subprocess.run(["tar", "-x", "-C", str(old)], input=archive.stdout, check=True)
        env = dict(os.environ, OMP_NUM_THREADS=str(threads), DREAMTALK_WHISPER_THREADS=str(threads))
        variants = [(f"before (`{base}`)", dict(env, PYTHONPATH=str(old / "backend"))), ("now, shipped models", env),
                    ("now, models relabelled to whisper-base-2", dict(env, **relabelled(tmp)))]
        for seconds in (1.0, 5.0):
            wav = tmp / f"line{seconds:.0f}.wav"
            soundfile.write(wav, speech(seconds), 16000)
            command = [sys.executable, "-m", "dreamtalk.cli", "generate", str(wav), "-o", str(tmp / "out.json")]
            cells = interleaved([(subprocess.run, (command,), {"env": variant_env, "check": True, "capture_output": True})
                                 for _, variant_env in variants], repeats)
            rows.append(f"| {seconds:.0f} s | " + " | ".join(f"{c:.2f} s" for c, _ in cells) + " |")
    return ["| line | " + " | ".join(name for name, _ in variants) + " |", "|---|---|---|---|", *rows]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--threads", type=int, default=2, help="CPU threads for both encoders")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--base", default="main", help="git revision whose code is 'before' in the CLI rows")
    parser.add_argument("--no-cli", action="store_true", help="skip the cold `dreamtalk generate` rows")
    args = parser.parse_args()
    import torch

    torch.set_num_threads(args.threads)
    os.environ["DREAMTALK_WHISPER_THREADS"] = str(args.threads)
    print(f"# Whisper front end: {platform.processor() or platform.machine()}, {args.threads} threads, "
          f"torch {torch.__version__}, {os.cpu_count()} visible CPUs; best of {args.repeats}, variants taking turns; "
          f"load average at start {os.getloadavg()[0]:.1f}")
    print("\n| audio | before: CTranslate2, 30 s padded | PyTorch, 30 s padded (whisper-base-ct2-1) | "
          "PyTorch, exact length (whisper-base-2) | speed-up | exact vs padded: rms difference / rms | "
          "cosine per state: mean / min |")
    print("|---|---|---|---|---|---|---|")
    print("\n".join(warm_rows(args.repeats, args.threads)))
    env = dict(os.environ, OMP_NUM_THREADS=str(args.threads))
    old, new = cold([COLD_OLD, COLD_NEW], args.repeats, env)
    print("\n| cold start of the front end (fresh process) | import | weights check | model load | total |")
    print("|---|---|---|---|---|")
    print(f"| before: faster-whisper + SHA-256 + CTranslate2 model | {old[0]:.2f} s | {old[1]:.2f} s | {old[2]:.2f} s | "
          f"{old.sum():.2f} s |")
    print(f"| now: torch + stamp + PyTorch encoder (memory-mapped weights) | {new[0]:.2f} s | {new[1]:.3f} s | "
          f"{new[2]:.2f} s | {new.sum():.2f} s |")
    if not args.no_cli:
        print("\n`dreamtalk generate LINE.wav -o out.json` in a new process (EmoDiff + lip refiner, whole command):\n")
        print("\n".join(cli_rows(args.base, args.repeats, args.threads)))


if __name__ == "__main__":
    main()
