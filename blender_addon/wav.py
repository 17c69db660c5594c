"""A small RIFF/WAVE reader (numpy only) for Blender builds without audaspace (`aud`).

Blender 4.2's PyPI build has no `aud` module, so the add-on cannot decode audio through Blender
there. This reads what most voice recordings are: PCM 8/16/24/32-bit integer or 32/64-bit float WAV,
plain or WAVE_FORMAT_EXTENSIBLE, any channel count (mixed to mono by the caller).
"""

from __future__ import annotations

import struct
from pathlib import Path

import numpy as np

PCM, IEEE_FLOAT, EXTENSIBLE = 1, 3, 0xFFFE


def read_wav(path: str | Path) -> tuple[np.ndarray, int]:
    """`(samples (N, channels) float32 in [-1, 1], sample rate)`; ValueError with one line if unreadable."""
    name = Path(path).name
    data = Path(path).read_bytes()
    if len(data) < 12 or data[:4] != b"RIFF" or data[8:12] != b"WAVE":
        raise ValueError(f"{name} is not a WAV file")
    chunks = _chunks(name, data)
    if b"fmt " not in chunks or b"data" not in chunks:
        raise ValueError(f"{name} has no {'fmt' if b'fmt ' not in chunks else 'data'} chunk")
    fmt = chunks[b"fmt "]
    tag, channels, rate, _, align, bits = struct.unpack("<HHIIHH", fmt[:16])
    if tag == EXTENSIBLE and len(fmt) >= 26:
        tag = struct.unpack("<H", fmt[24:26])[0]  # the sub-format GUID starts with the real tag
    if channels < 1 or rate < 1 or align != channels * bits // 8:
        raise ValueError(f"{name} has a broken fmt chunk")
    width = max(1, bits // 8) * channels
    raw = chunks[b"data"][: len(chunks[b"data"]) // width * width]  # whole frames only
    return _samples(name, raw, tag, bits).reshape(-1, channels), rate


def _chunks(name: str, data: bytes) -> dict[bytes, bytes]:
    """The RIFF chunks by id; a data chunk that claims more bytes than the file has is truncated."""
    chunks, offset = {}, 12
    while offset + 8 <= len(data):
        kind, size = data[offset:offset + 4], struct.unpack("<I", data[offset + 4:offset + 8])[0]
        body = data[offset + 8:offset + 8 + size]
        if len(body) < size:
            raise ValueError(f"{name} is truncated: its {kind.decode('latin-1').strip()} chunk claims {size} "
                             f"bytes, {len(body)} are there")
        chunks.setdefault(kind, body)
        offset += 8 + size + (size & 1)  # chunks are word aligned
    return chunks


def _samples(name: str, raw: bytes, tag: int, bits: int) -> np.ndarray:
    """Interleaved samples as float32 in [-1, 1]."""
    if tag == IEEE_FLOAT and bits in (32, 64):
        return np.frombuffer(raw, f"<f{bits // 8}").astype(np.float32)
    if tag != PCM or bits not in (8, 16, 24, 32):
        raise ValueError(f"{name}: WAV encoding {tag} at {bits} bits is not supported; use 16-bit PCM")
    if bits == 8:
        return (np.frombuffer(raw, np.uint8).astype(np.float32) - 128.0) / 128.0
    if bits == 24:
        triples = np.frombuffer(raw[: len(raw) // 3 * 3], np.uint8).reshape(-1, 3).astype(np.int32)
        ints = triples[:, 0] | (triples[:, 1] << 8) | (triples[:, 2] << 16)
        return (np.where(ints >= 1 << 23, ints - (1 << 24), ints) / float(1 << 23)).astype(np.float32)
    return (np.frombuffer(raw, f"<i{bits // 8}") / float(1 << (bits - 1))).astype(np.float32)
