"""Benchmark: the Whisper audio front end for short lines. Same run, same speech (espeak-ng sentences):

* warm features for 1 s, 5 s and 60 s of audio: the previous path (faster-whisper / CTranslate2 over 30 s
  zero-padded windows, `whisper.encode_ct2`) vs the PyTorch encoder on the same padded windows
  (`whisper-base-ct2-1`, the shipped models' features) vs exact-length pieces (`whisper-base-2`);
  best of `--repeats`; and how far the exact-length features are from the padded ones;
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


def best(fn, repeats: int, *args, **kwargs) -> tuple[float, object]:
    times, out = [], None
    for _ in range(repeats):
        start = time.perf_counter()
        out = fn(*args, **kwargs)
        times.append(time.perf_counter() - start)
    return min(times), out


def warm_rows(repeats: int) -> list[str]:
    from dreamtalk.features import whisper

    whisper.encode(speech(1.0))  # load both encoders before timing
    whisper.encode_ct2(speech(1.0))
    rows = []
    for seconds in (1.0, 5.0, 60.0):
        audio = speech(seconds)
        t_ct2, ct2 = best(whisper.encode_ct2, repeats, audio)
        t_pad, _ = best(whisper.encode, repeats, audio, whisper.VERSION_PADDED)
        t_exact, exact = best(whisper.encode, repeats, audio, whisper.VERSION_EXACT)
        rel = np.sqrt(((exact - ct2) ** 2).mean() / (ct2**2).mean())
        cos = (exact * ct2).sum(1) / np.linalg.norm(exact, axis=1) / np.linalg.norm(ct2, axis=1)
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


def cold(code: str, repeats: int, env: dict | None = None) -> np.ndarray:
    runs = [subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env)
            for _ in range(repeats)]
    return np.min([[float(x) for x in r.stdout.split()] for r in runs], axis=0)


def relabelled(folder: Path) -> dict:
    """Copies of the shipped checkpoints that name `whisper-base-2` (timing only), as env overrides."""
    import torch

    from dreamtalk.models.emodiff.engine import checkpoint_path
    from dreamtalk.models.lip.engine import DEFAULT_CHECKPOINT as LIP

    env = {}
    for source, name, var in ((checkpoint_path(), "emodiff.pt", "DREAMTALK_EMODIFF_CHECKPOINT"),
                              (LIP, "lip.pt", "DREAMTALK_LIP_CHECKPOINT")):
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
            cells = []
            for _, variant_env in variants:
                command = [sys.executable, "-m", "dreamtalk.cli", "generate", str(wav), "-o", str(tmp / "out.json")]
                cells.append(best(subprocess.run, repeats, command, env=variant_env, check=True, capture_output=True)[0])
            rows.append(f"| {seconds:.0f} s | " + " | ".join(f"{c:.2f} s" for c in cells) + " |")
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
          f"torch {torch.__version__}, {os.cpu_count()} visible CPUs; best of {args.repeats}")
    print("\n| audio | before: CTranslate2, 30 s padded | PyTorch, 30 s padded (whisper-base-ct2-1) | "
          "PyTorch, exact length (whisper-base-2) | speed-up | exact vs padded: rms difference / rms | "
          "cosine per state: mean / min |")
    print("|---|---|---|---|---|---|---|")
    print("\n".join(warm_rows(args.repeats)))
    env = dict(os.environ, OMP_NUM_THREADS=str(args.threads))
    old, new = cold(COLD_OLD, args.repeats, env), cold(COLD_NEW, args.repeats, env)
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
