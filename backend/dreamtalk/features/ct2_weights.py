"""Read tensors from a CTranslate2 `model.bin` without CTranslate2 (numpy memory map, no copy).

The binary layout (CTranslate2 `specs/model_spec.py`, `_serialize`, binary version 6): uint32 version,
string spec name, uint32 spec revision, uint32 variable count, then per variable: string name, uint8 rank,
rank x uint32 dims, uint8 dtype id, uint32 byte count, the raw bytes; then aliases. Strings are a uint16
length (including a trailing NUL) followed by UTF-8 bytes. All little-endian.
"""

from __future__ import annotations

import struct
from pathlib import Path

import numpy as np

from ..core.errors import InputError

SUPPORTED_VERSIONS = (5, 6)
DTYPES = ("float32", "int8", "int16", "int32", "float16", "bfloat16")  # CTranslate2 DataType enum order


class _Reader:
    def __init__(self, data: bytes | np.memmap) -> None:
        self.data, self.pos = data, 0

    def unpack(self, fmt: str):
        size = struct.calcsize(fmt)
        value = struct.unpack_from("<" + fmt, self.data, self.pos)[0]
        self.pos += size
        return value

    def string(self) -> str:
        length = self.unpack("H")
        text = bytes(self.data[self.pos: self.pos + length - 1]).decode("utf-8")
        self.pos += length
        return text


def read_ct2(path: str | Path, prefix: str = "") -> dict[str, np.ndarray]:
    """name -> array (a read-only view into a memory map of the file) for every variable whose name
    starts with `prefix`. Raises InputError for a file that is not a CTranslate2 model."""
    data = np.memmap(path, dtype=np.uint8, mode="r")
    reader = _Reader(data)
    try:
        version = reader.unpack("I")
        if version not in SUPPORTED_VERSIONS:
            raise InputError(f"{path}: CTranslate2 binary version {version} is not supported")
        reader.string()  # spec name
        reader.unpack("I")  # spec revision
        out = {}
        for _ in range(reader.unpack("I")):
            name = reader.string()
            dims = tuple(reader.unpack("I") for _ in range(reader.unpack("B")))
            dtype, size = DTYPES[reader.unpack("B")], reader.unpack("I")
            if name.startswith(prefix) and dtype != "bfloat16":
                out[name] = data[reader.pos: reader.pos + size].view(dtype).reshape(dims)
            reader.pos += size
    except (struct.error, IndexError, UnicodeDecodeError, ValueError) as exc:
        raise InputError(f"{path} is not a readable CTranslate2 model ({exc})") from None
    return out
