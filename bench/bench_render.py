"""Benchmark + acceptance figures of the geometric photoreal renderer (docs/render.md, BENCHMARKS.md).

Two public-domain portraits available offline (scikit-image's astronaut, matplotlib's grace_hopper)
are driven by a 10 s emotional take that the default engine generates from real speech (Debian's
asterisk-core-sounds-en, held out from all training), with head motion and blinks. Measured:
identity PSNR, landmark fidelity (MediaPipe re-detection on the rendered frames), lip-gap correlation,
blinks seen, background SSIM outside the person mask, face sharpness, stability on a still take, and
speed: frames/s (face analysis excluded) and the whole clip end to end with encoding, against bare
encoding of the same frames in the same run.

Usage: .venv/bin/python bench/bench_render.py [--seconds 10] [--json out.json] [--skip-speed]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import tempfile
import time
from pathlib import Path

import numpy as np

from dreamtalk.align.real_speech import real_utterances
from dreamtalk.core.arkit import INDEX
from dreamtalk.core.audio import resample
from dreamtalk.core.curves import Curves
from dreamtalk.core.request import GenerateRequest
from dreamtalk.engines import generate
from dreamtalk.render import metrics
from dreamtalk.render.analysis import analyse
from dreamtalk.render.config import RenderConfig
from dreamtalk.render.portraits import offline_portraits
from dreamtalk.render.renderer import GeometricRenderer
from dreamtalk.render.video import read_video, write_video

MOUTH_KEYS = [i for name, i in INDEX.items() if name.startswith(("jaw", "mouth", "tongue"))]
BLINK_CLOSE, BLINK_OPEN = 0.6, 0.3  # hysteresis thresholds of a blink in the curves


def real_speech(seconds: float) -> tuple[np.ndarray, int]:
    """Real utterances of the held-out speaker, joined with 0.2 s pauses, cut to `seconds` at 16 kHz."""
    parts, total = [], 0
    for _, audio, rate, _ in real_utterances():
        audio = resample(audio, rate, 16000)
        parts += [audio, np.zeros(3200, np.float32)]
        total += len(audio) + 3200
        if total >= seconds * 16000:
            break
    return np.concatenate(parts)[: int(seconds * 16000)], 16000


def emotional_take(audio: np.ndarray, rate: int) -> Curves:
    request = GenerateRequest(audio=audio, sample_rate=rate, emotion="happy", intensity=0.8, seed=3)
    return generate(request)[0]


def blink_events(curves: Curves) -> list[tuple[int, int]]:
    """(first, last) frames of each blink: both lids past 0.6, until they reopen below 0.3."""
    value = curves.values[:, [INDEX["eyeBlinkLeft"], INDEX["eyeBlinkRight"]]].mean(1)
    events, start = [], None
    for frame, v in enumerate(value):
        if start is None and v > BLINK_CLOSE:
            start = frame
        elif start is not None and v < BLINK_OPEN:
            events.append((start, frame))
            start = None
    return events


def still_take(curves: Curves) -> Curves:
    """The take with the head held still and the mouth closed (eyes and brows still move)."""
    values = curves.values.copy()
    values[:, MOUTH_KEYS] = 0.0
    return Curves(curves.fps, values, np.zeros_like(curves.head_pose))


def quality(name: str, image: np.ndarray, take: Curves) -> dict:
    portrait = analyse(image)
    renderer = GeometricRenderer(portrait)
    iod = portrait.eye_distance
    zero = renderer.render_frame(np.zeros(52), np.zeros(3))
    result = {"portrait": name, "eye_distance_px": round(iod, 1), "identity_psnr_db": metrics.psnr(zero, portrait.image)}
    source_face = metrics.face_region(portrait.landmarks, portrait.image.shape)
    source_sharpness = metrics.sharpness(portrait.image, source_face)
    rows = []
    for index in range(take.num_frames):
        geometry = renderer.geometry(take.values[index], take.head_pose[index])
        frame = renderer.render_geometry(geometry)
        found = metrics.redetect(frame, geometry.landmarks)
        rows.append({
            "found": found, "intended": geometry.landmarks,
            "background_ssim": float(metrics.ssim_map(frame, portrait.image)[
                metrics.background(portrait.mask, renderer.person_mask(geometry))].mean()),
            "sharpness": metrics.sharpness(frame, metrics.face_region(geometry.landmarks, frame.shape)) / source_sharpness,
        })
    result.update(_fidelity(rows, take, iod))
    result["background_ssim_min"] = min(r["background_ssim"] for r in rows)
    result["sharpness_ratio_mean"] = float(np.mean([r["sharpness"] for r in rows]))
    result["sharpness_ratio_min"] = float(np.min([r["sharpness"] for r in rows]))
    result.update(_stability(renderer, still_take(take), iod))
    return result


def _fidelity(rows: list[dict], take: Curves, iod: float) -> dict:
    seen = [r for r in rows if r["found"] is not None]
    errors = np.array([metrics.landmark_errors(r["found"], r["intended"], iod) for r in seen])
    gaps = np.array([(metrics.lip_gap(r["intended"]), metrics.lip_gap(r["found"])) for r in seen])
    ears = np.array([metrics.eye_aspect_ratio(r["found"]) if r["found"] is not None else np.nan for r in rows])
    blink = take.values[:, [INDEX["eyeBlinkLeft"], INDEX["eyeBlinkRight"]]].mean(1)
    open_ear = float(np.nanmedian(ears[blink < 0.1]))
    events = blink_events(take)
    detected = [bool(np.nanmin(ears[max(a - 1, 0): b + 2]) < 0.5 * open_ear) for a, b in events]
    return {
        "frames": len(rows), "faces_redetected": len(seen),
        "landmark_error_face_iod": float(errors[:, 0].mean()), "landmark_error_mouth_iod": float(errors[:, 1].mean()),
        "lip_gap_correlation": float(np.corrcoef(gaps[:, 0], gaps[:, 1])[0, 1]),
        "blinks": len(events), "blinks_seen": int(sum(detected)),
        "open_ear": open_ear,
    }


def _steady_landmarks() -> np.ndarray:
    """Landmarks outside the eyes and brows (which a still take still moves)."""
    from dreamtalk.rig import landmarks as lm

    moving = set(lm.LEFT_EYE_UPPER + lm.LEFT_EYE_LOWER + lm.RIGHT_EYE_UPPER + lm.RIGHT_EYE_LOWER + lm.LEFT_BROW + lm.RIGHT_BROW)
    return np.array([i for i in range(468) if i not in moving])


def _steps(found: list[np.ndarray], iod: float) -> np.ndarray:
    return np.linalg.norm(np.diff(np.stack(found), axis=0), axis=2).mean(1) / iod


def _stability(renderer: GeometricRenderer, take: Curves, iod: float) -> dict:
    """Frame-to-frame motion of re-detected steady landmarks on a still take, beside the detector's own
    noise: the same portrait re-detected under +-1 grey level of noise (invisible), 25 times."""
    keep = _steady_landmarks()
    found = []
    for index in range(take.num_frames):
        geometry = renderer.geometry(take.values[index], take.head_pose[index])
        found.append(metrics.redetect(renderer.render_geometry(geometry), geometry.landmarks)[keep, :2])
    steps = _steps(found, iod)
    blink = take.values[:, [INDEX["eyeBlinkLeft"], INDEX["eyeBlinkRight"]]].max(1)
    open_eyes = (blink[1:] < 0.1) & (blink[:-1] < 0.1)
    image = renderer.portrait.image
    rng = np.random.default_rng(0)
    noisy = [np.clip(image.astype(int) + rng.integers(-1, 2, image.shape), 0, 255).astype(np.uint8) for _ in range(25)]
    floor = _steps([metrics.redetect(n, renderer.portrait.landmarks)[keep, :2] for n in noisy], iod)
    return {"still_motion_mean_iod": float(steps.mean()), "still_motion_p95_iod": float(np.percentile(steps, 95)),
            "still_motion_max_iod": float(steps.max()), "still_motion_max_open_eyes_iod": float(steps[open_eyes].max()),
            "detector_noise_mean_iod": float(floor.mean()),
            "detector_noise_max_iod": float(floor.max())}


def speed(image: np.ndarray, take: Curves, audio: np.ndarray, rate: int) -> dict:
    config = RenderConfig()
    portrait = analyse(image, config)
    renderer = GeometricRenderer(portrait, config)
    start = time.perf_counter()
    frames = list(renderer.frames(take))
    render_s = time.perf_counter() - start
    with tempfile.TemporaryDirectory() as folder:
        start = time.perf_counter()
        write_video(Path(folder) / "bare.mp4", frames, take.fps, (audio, rate), config)
        bare_s = time.perf_counter() - start
        start = time.perf_counter()
        renderer = GeometricRenderer(analyse(image, config), config)
        count = write_video(Path(folder) / "full.mp4", renderer.frames(take), take.fps, (audio, rate), config)
        full_s = time.perf_counter() - start
        decoded = read_video(Path(folder) / "full.mp4")
    return {
        "frames": len(frames), "size": f"{frames[0].shape[1]}x{frames[0].shape[0]}",
        "render_fps": len(frames) / render_s, "render_ms_per_frame": 1000 * render_s / len(frames),
        "end_to_end_s": full_s, "bare_encoding_s": bare_s, "clip_seconds": take.duration,
        "decoded_frames": int(len(decoded.frames)), "written_frames": count,
        "encoded_psnr_first_frame": metrics.psnr(decoded.frames[0], frames[0]),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--json", type=Path, help="also write the figures here")
    parser.add_argument("--skip-speed", action="store_true")
    parser.add_argument("--skip-quality", action="store_true")
    args = parser.parse_args()
    audio, rate = real_speech(args.seconds)
    take = emotional_take(audio, rate)
    print(f"take: {take.duration:.1f} s, {len(blink_events(take))} blinks, head yaw range "
          f"{np.degrees(np.ptp(take.head_pose[:, 0])):.1f} deg; machine: {platform.machine()}, {os.cpu_count()} cores")
    report = {"quality": [], "speed": []}
    for name, image in offline_portraits().items():
        if not args.skip_quality:
            report["quality"].append(quality(name, image, take))
            print(json.dumps(report["quality"][-1], indent=1, default=float))
        if not args.skip_speed:
            report["speed"].append({"portrait": name, **speed(image, take, audio, rate)})
            print(json.dumps(report["speed"][-1], indent=1, default=float))
    if args.json:
        args.json.write_text(json.dumps(report, indent=1, default=float))


if __name__ == "__main__":
    main()
