"""H.264 + AAC mp4 writing and reading through PyAV (its wheels bundle FFmpeg with libx264; no system ffmpeg).

The video runs at the curves' frame rate and the audio starts with the first frame (both at t = 0).
Files are written atomically: a failed or interrupted render leaves no partial mp4 behind.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import numpy as np

from ..core.errors import InputError
from ..core.formats import atomic_write
from .config import DEFAULT_CONFIG, RenderConfig

AAC_RATES = (8000, 11025, 12000, 16000, 22050, 24000, 32000, 44100, 48000, 64000, 88200, 96000)
AAC_FRAME = 1024  # samples per AAC frame


def frame_rate(fps: float) -> Fraction:
    """A rational frame rate for the container (29.97 -> 30000/1001)."""
    for ntsc in (24, 30, 60):
        if abs(fps - ntsc * 1000 / 1001) < 1e-3:
            return Fraction(ntsc * 1000, 1001)
    return Fraction(fps).limit_denominator(1001)


def _audio_for_aac(audio: np.ndarray, rate: int) -> tuple[np.ndarray, int]:
    """Mono float32 audio at a rate AAC supports (resampled to 48 kHz otherwise)."""
    audio = np.asarray(audio, np.float32).reshape(-1)
    if rate in AAC_RATES:
        return audio, rate
    from scipy.signal import resample_poly

    g = np.gcd(int(rate), 48000)
    return resample_poly(audio, 48000 // g, int(rate) // g).astype(np.float32), 48000


def _encode_audio(container, stream, audio: np.ndarray) -> None:
    import av

    for start in range(0, len(audio), AAC_FRAME):
        chunk = np.ascontiguousarray(audio[start:start + AAC_FRAME][None, :])
        frame = av.AudioFrame.from_ndarray(chunk, format="flt", layout="mono")
        frame.sample_rate = stream.codec_context.sample_rate
        frame.pts = start
        for packet in stream.encode(frame):
            container.mux(packet)
    for packet in stream.encode(None):
        container.mux(packet)


def _write(handle, frames: Iterable[np.ndarray], fps: float, audio, config: RenderConfig) -> int:
    import av

    count = 0
    with av.open(handle, mode="w", format="mp4") as container:
        video = None
        sound = None
        if audio is not None:
            samples, rate = _audio_for_aac(*audio)
            sound = container.add_stream("aac", rate=rate, layout="mono")
            sound.bit_rate = config.audio_bitrate
        for image in frames:
            if video is None:
                video = container.add_stream("libx264", rate=frame_rate(fps))
                video.height, video.width = image.shape[:2]
                video.pix_fmt = "yuv420p"
                video.options = {"crf": str(config.crf), "preset": config.preset}
            frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(image), format="rgb24")
            for packet in video.encode(frame):
                container.mux(packet)
            count += 1
        if video is None:
            raise InputError("nothing to render: the curves have no frames")
        for packet in video.encode(None):
            container.mux(packet)
        if sound is not None:
            _encode_audio(container, sound, samples)
    return count


def write_video(path: str | os.PathLike, frames: Iterable[np.ndarray], fps: float,
                audio: tuple[np.ndarray, int] | None = None, config: RenderConfig = DEFAULT_CONFIG) -> int:
    """Encode RGB uint8 frames (and mono audio, sample rate) into an mp4 at `path`; returns the frame count."""
    count = [0]

    def write(handle) -> None:
        count[0] = _write(handle, frames, fps, audio, config)

    atomic_write(path, write)
    return count[0]


def encode_video(frames: Iterable[np.ndarray], fps: float, audio: tuple[np.ndarray, int] | None = None,
                 config: RenderConfig = DEFAULT_CONFIG) -> bytes:
    """The same mp4, in memory (for the service's reply)."""
    import io

    buffer = io.BytesIO()
    _write(buffer, frames, fps, audio, config)
    return buffer.getvalue()


@dataclass
class DecodedVideo:
    """What `read_video` found in a file."""

    frames: np.ndarray  # (T, H, W, 3) uint8 RGB
    fps: float
    audio: np.ndarray | None  # (N,) float32 mono
    sample_rate: int | None
    video_start: float  # seconds, first video frame's presentation time
    audio_start: float | None  # seconds, first audio sample's presentation time


def read_video(source: str | os.PathLike | bytes, max_frames: int | None = None) -> DecodedVideo:
    """Decode an mp4/mov/webm (path or bytes) into RGB frames and mono audio."""
    import io

    import av

    target = io.BytesIO(source) if isinstance(source, bytes) else str(source)
    if not isinstance(source, bytes) and not Path(source).is_file():
        raise InputError(f"video {source} does not exist")
    try:
        with av.open(target) as container:
            return _decode(container, max_frames)
    except av.FFmpegError as error:
        raise InputError(f"cannot read video: {error}") from None


def _decode(container, max_frames: int | None) -> DecodedVideo:
    video = container.streams.video[0]
    frames, starts = [], []
    for frame in container.decode(video):
        frames.append(frame.to_ndarray(format="rgb24"))
        starts.append(float(frame.time or 0.0))
        if max_frames and len(frames) >= max_frames:
            break
    audio, rate, audio_start = None, None, None
    if container.streams.audio and not max_frames:
        container.seek(0)
        stream = container.streams.audio[0]
        chunks = []
        for frame in container.decode(stream):
            if audio_start is None:
                audio_start = float(frame.time or 0.0)
            samples = frame.to_ndarray()
            chunks.append(samples.reshape(samples.shape[0], -1).mean(0))
        audio, rate = np.concatenate(chunks).astype(np.float32), stream.codec_context.sample_rate
    fps = float(video.average_rate) if video.average_rate else 0.0
    return DecodedVideo(np.stack(frames), fps, audio, rate, min(starts) if starts else 0.0, audio_start)


def iter_frames(path: str | os.PathLike) -> Iterator[tuple[np.ndarray, float, int]]:
    """Decode a video file frame by frame (for footage too long to hold in memory, e.g. training data):
    yields (RGB uint8 frame, the stream's frame rate, its frame count or 0 when the container does not say)."""
    import av

    if not Path(path).is_file():
        raise InputError(f"video {path} does not exist")
    try:
        with av.open(str(path)) as container:
            if not container.streams.video:
                raise InputError(f"{path} has no video stream")
            stream = container.streams.video[0]
            fps, count = float(stream.average_rate or 0.0), int(stream.frames or 0)
            for frame in container.decode(stream):
                yield frame.to_ndarray(format="rgb24"), fps, count
    except av.FFmpegError as error:
        raise InputError(f"cannot read video {Path(path).name}: {error}") from None
