"""A small reader for GGUF file headers: metadata and tensor layout, no weights.

It lets the sidecar report a model's quantization and KV cache size before loading it,
and refuse a corrupt or truncated file with a clear message instead of handing it to
llama.cpp (which may abort the whole process on a bad file).
Format: https://github.com/ggml-org/ggml/blob/master/docs/gguf.md
"""

from __future__ import annotations

import mmap
import struct
from dataclasses import dataclass, field
from pathlib import Path

GGUF_MAGIC = b"GGUF"
_DEFAULT_ALIGNMENT = 32
# Arrays longer than this (token lists, scores) are skipped; only their length is kept.
_MAX_KEPT_ARRAY = 1024
# What the parser keeps is bounded whatever the file says: real models have a few dozen
# metadata entries, per-layer arrays of at most a few hundred items, and keys and
# strings (chat templates) of a few KiB. Longer strings are skipped like long arrays.
_MAX_METADATA_ENTRIES = 4096
_MAX_KEPT_ARRAY_ITEMS = 16384
_MAX_KEY_BYTES = 65535  # the GGUF specification's limit
_MAX_KEPT_STRING_BYTES = 4 * 1024 * 1024
"""All kept string values together."""
# The smallest encodings, to bound a count by the bytes left before trusting it.
_MIN_ENTRY_BYTES = 8 + 4 + 1  # key length, value type, a one-byte value
_MIN_TENSOR_INFO_BYTES = 8 + 4 + 4 + 8  # name length, dimension count, type, offset
_STRING_LENGTH_BYTES = 8

_SCALAR_FORMATS: dict[int, str] = {
    0: "<B",  # UINT8
    1: "<b",  # INT8
    2: "<H",  # UINT16
    3: "<h",  # INT16
    4: "<I",  # UINT32
    5: "<i",  # INT32
    6: "<f",  # FLOAT32
    7: "<?",  # BOOL
    10: "<Q",  # UINT64
    11: "<q",  # INT64
    12: "<d",  # FLOAT64
}
_STRING, _ARRAY = 8, 9

# ggml tensor type id -> (elements per block, bytes per block)
GGML_BLOCKS: dict[int, tuple[int, int]] = {
    0: (1, 4),  # F32
    1: (1, 2),  # F16
    2: (32, 18),  # Q4_0
    3: (32, 20),  # Q4_1
    6: (32, 22),  # Q5_0
    7: (32, 24),  # Q5_1
    8: (32, 34),  # Q8_0
    9: (32, 36),  # Q8_1
    10: (256, 84),  # Q2_K
    11: (256, 110),  # Q3_K
    12: (256, 144),  # Q4_K
    13: (256, 176),  # Q5_K
    14: (256, 210),  # Q6_K
    15: (256, 292),  # Q8_K
    20: (32, 18),  # IQ4_NL
    23: (256, 136),  # IQ4_XS
    24: (1, 1),  # I8
    25: (1, 2),  # I16
    26: (1, 4),  # I32
    27: (1, 8),  # I64
    28: (1, 8),  # F64
    30: (1, 2),  # BF16
}

# llama_ftype (general.file_type) -> name, from llama.h
FILE_TYPE_NAMES: dict[int, str] = {
    0: "F32",
    1: "F16",
    2: "Q4_0",
    3: "Q4_1",
    7: "Q8_0",
    8: "Q5_0",
    9: "Q5_1",
    10: "Q2_K",
    11: "Q3_K_S",
    12: "Q3_K_M",
    13: "Q3_K_L",
    14: "Q4_K_S",
    15: "Q4_K_M",
    16: "Q5_K_S",
    17: "Q5_K_M",
    18: "Q6_K",
    19: "IQ2_XXS",
    20: "IQ2_XS",
    21: "Q2_K_S",
    22: "IQ3_XS",
    23: "IQ3_XXS",
    24: "IQ1_S",
    25: "IQ4_NL",
    26: "IQ3_S",
    27: "IQ3_M",
    28: "IQ2_S",
    29: "IQ2_M",
    30: "IQ4_XS",
    31: "IQ1_M",
    32: "BF16",
    36: "TQ1_0",
    37: "TQ2_0",
    38: "MXFP4_MOE",
    39: "NVFP4",
}
FOUR_BIT_FILE_TYPES = frozenset({"Q4_0", "Q4_1", "Q4_K_S", "Q4_K_M", "IQ4_NL", "IQ4_XS", "MXFP4_MOE"})

MetadataValue = int | float | bool | str | list[object]


class GgufError(Exception):
    """The file is not a readable GGUF model; the message is one line."""


@dataclass(frozen=True)
class GgufInfo:
    path: Path
    version: int
    metadata: dict[str, MetadataValue]
    array_lengths: dict[str, int] = field(default_factory=dict)
    """Length of every array value, including the long ones not kept in `metadata`."""
    tensor_count: int = 0
    data_end: int = 0
    """Byte offset where the last tensor's data ends; the file must be at least this long."""

    @property
    def architecture(self) -> str:
        return str(self.metadata.get("general.architecture", ""))

    @property
    def quantization(self) -> str:
        """`general.file_type` as llama.cpp names it (Q4_K_M, Q8_0, ...); "" when absent."""
        file_type = self.metadata.get("general.file_type")
        if not isinstance(file_type, int):
            return ""
        return FILE_TYPE_NAMES.get(file_type, f"type {file_type}")

    @property
    def is_4bit(self) -> bool:
        return self.quantization in FOUR_BIT_FILE_TYPES

    def arch_int(self, key: str, default: int = 0) -> int:
        """An integer `<architecture>.<key>`; per-layer arrays give their maximum."""
        value = self.metadata.get(f"{self.architecture}.{key}", default)
        if isinstance(value, list):
            return max((int(v) for v in value if isinstance(v, int)), default=default)
        return int(value) if isinstance(value, (int, float)) else default

    def token_id(self, key: str) -> int | None:
        value = self.metadata.get(f"tokenizer.ggml.{key}")
        return value if isinstance(value, int) and not isinstance(value, bool) else None


def read_gguf(path: str | Path) -> GgufInfo:
    """Read the header of the GGUF file at `path`; raise GgufError when it is unusable."""
    model_path = Path(path)
    try:
        with (
            model_path.open("rb") as file,
            mmap.mmap(file.fileno(), 0, access=mmap.ACCESS_READ) as m,
        ):
            info = _Parser(m, model_path).parse()
            size = len(m)
    except (OSError, ValueError) as error:
        raise GgufError(f"cannot read {model_path}: {error}{_FIX}") from error
    if info.data_end > size:
        raise invalid_model(model_path, f"it is truncated: {size} bytes, the tensors need {info.data_end}")
    return info


_FIX = "; set goSidecar.ai.modelPath to a .gguf file or clear it"


def invalid_model(path: Path, reason: str) -> GgufError:
    return GgufError(f"{path} is not a valid GGUF model: {reason}{_FIX}")


class _Parser:
    """Reads the header; every count and length is checked against the bytes left in the
    file before anything is allocated for it, and what is kept is bounded."""

    def __init__(self, buffer: mmap.mmap, path: Path) -> None:
        self._buffer = buffer
        self._path = path
        self._offset = 0
        self._kept_items = 0
        self._kept_string_bytes = 0

    def parse(self) -> GgufInfo:
        if self._take(4) != GGUF_MAGIC:
            raise invalid_model(self._path, "bad magic number, not a GGUF file")
        version = self._scalar("<I")
        if version not in (2, 3):
            raise invalid_model(self._path, f"unsupported GGUF version {version}")
        tensor_count = self._count("tensors", self._scalar("<Q"), _MIN_TENSOR_INFO_BYTES)
        kv_count = self._count("metadata entries", self._scalar("<Q"), _MIN_ENTRY_BYTES)
        if kv_count > _MAX_METADATA_ENTRIES:
            raise invalid_model(self._path, f"{kv_count} metadata entries (models have a few dozen)")
        metadata: dict[str, MetadataValue] = {}
        array_lengths: dict[str, int] = {}
        for _ in range(kv_count):
            key = self._key()
            value_type = self._scalar("<I")
            if value_type == _ARRAY:
                items, length = self._array()
                array_lengths[key] = length
                if items is not None:
                    metadata[key] = items
            elif value_type == _STRING:
                text = self._kept_string()
                if text is not None:
                    metadata[key] = text
            else:
                metadata[key] = self._value(value_type)
        data_end = self._tensor_data_end(tensor_count, metadata)
        return GgufInfo(self._path, version, metadata, array_lengths, tensor_count, data_end)

    def _tensor_data_end(self, tensor_count: int, metadata: dict[str, MetadataValue]) -> int:
        end_in_data = 0
        for _ in range(tensor_count):
            self._skip_string()
            n_dims = self._scalar("<I")
            if n_dims > 8:
                raise invalid_model(self._path, f"a tensor with {n_dims} dimensions")
            elements = 1
            for _ in range(n_dims):
                elements *= self._scalar("<Q")
            tensor_type = self._scalar("<I")
            offset = self._scalar("<Q")
            block = GGML_BLOCKS.get(tensor_type)
            if block is not None:
                per_block, block_bytes = block
                end_in_data = max(end_in_data, offset + elements // per_block * block_bytes)
        alignment = metadata.get("general.alignment", _DEFAULT_ALIGNMENT)
        align = alignment if isinstance(alignment, int) and alignment > 0 else _DEFAULT_ALIGNMENT
        data_start = (self._offset + align - 1) // align * align
        return data_start + end_in_data

    def _remaining(self) -> int:
        return len(self._buffer) - self._offset

    def _count(self, what: str, count: int, min_item_bytes: int) -> int:
        """`count` items of at least `min_item_bytes` each, if the rest of the file can hold them."""
        if count * min_item_bytes > self._remaining():
            raise invalid_model(
                self._path, f"it claims {count} {what} but only {self._remaining()} bytes follow (truncated or corrupt)"
            )
        return count

    def _take(self, size: int) -> bytes:
        if size > self._remaining():
            raise invalid_model(self._path, "the header is truncated or corrupt (it ends early)")
        chunk = self._buffer[self._offset : self._offset + size]
        self._offset += size
        return chunk

    def _skip(self, size: int) -> None:
        if size > self._remaining():
            raise invalid_model(self._path, "the header is truncated or corrupt (it ends early)")
        self._offset += size

    def _scalar(self, fmt: str) -> int:
        value: int = struct.unpack(fmt, self._take(struct.calcsize(fmt)))[0]
        return value

    def _key(self) -> str:
        length = self._scalar("<Q")
        if length > _MAX_KEY_BYTES:
            raise invalid_model(self._path, f"a metadata key of {length} bytes")
        return self._take(length).decode("utf-8", errors="replace")

    def _string(self) -> str:
        return self._take(self._scalar("<Q")).decode("utf-8", errors="replace")

    def _kept_string(self) -> str | None:
        """A string value, or None (skipped) when it is too long to be worth keeping."""
        length = self._scalar("<Q")
        if self._kept_string_bytes + length > _MAX_KEPT_STRING_BYTES:
            self._skip(length)
            return None
        self._kept_string_bytes += length
        return self._take(length).decode("utf-8", errors="replace")

    def _skip_string(self) -> None:
        self._skip(self._scalar("<Q"))

    def _value(self, value_type: int) -> MetadataValue:
        if value_type == _STRING:
            return self._string()
        fmt = _SCALAR_FORMATS.get(value_type)
        if fmt is None:
            raise invalid_model(self._path, f"unknown metadata type {value_type}")
        value: int | float | bool = struct.unpack(fmt, self._take(struct.calcsize(fmt)))[0]
        return value

    def _array(self) -> tuple[list[object] | None, int]:
        item_type = self._scalar("<I")
        fmt = _SCALAR_FORMATS.get(item_type)
        if fmt is None and item_type != _STRING:
            raise invalid_model(self._path, f"unsupported array item type {item_type}")
        item_bytes = struct.calcsize(fmt) if fmt is not None else _STRING_LENGTH_BYTES
        length = self._count("array items", self._scalar("<Q"), item_bytes)
        if length > _MAX_KEPT_ARRAY or self._kept_items + length > _MAX_KEPT_ARRAY_ITEMS:
            self._skip_array(fmt, length)
            return None, length
        self._kept_items += length
        return [self._value(item_type) for _ in range(length)], length

    def _skip_array(self, fmt: str | None, length: int) -> None:
        if fmt is not None:
            self._skip(struct.calcsize(fmt) * length)
            return
        for _ in range(length):
            self._skip_string()
