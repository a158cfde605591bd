"""The GGUF header reader, on the real model and on files written here."""

from __future__ import annotations

import struct
import tracemalloc
from pathlib import Path

import pytest

from gosidecar.completion.gguf import GgufError, read_gguf
from gosidecar.completion.local import fim_tokens
from gosidecar.completion.model import default_model_path, kv_cache_bytes

MIB = 1024 * 1024


def gguf_string(text: str) -> bytes:
    raw = text.encode()
    return struct.pack("<Q", len(raw)) + raw


def write_gguf(path: Path, metadata: dict[str, int | str], tensor_elements: int = 64) -> None:
    """A minimal GGUF v3 file: `metadata` (uint32 or string values) and one F32 tensor."""
    body = b"GGUF" + struct.pack("<IQQ", 3, 1, len(metadata))
    for key, value in metadata.items():
        if isinstance(value, str):
            body += gguf_string(key) + struct.pack("<I", 8) + gguf_string(value)
        else:
            body += gguf_string(key) + struct.pack("<II", 4, value)
    body += gguf_string("weight") + struct.pack("<IQIQ", 1, tensor_elements, 0, 0)
    body += b"\0" * (-len(body) % 32)
    path.write_bytes(body + b"\0" * (4 * tensor_elements))


@pytest.mark.model
def test_reads_the_embedded_model() -> None:
    info = read_gguf(default_model_path())
    assert info.architecture == "gemma3"
    assert info.quantization == "Q4_K_M" and info.is_4bit
    assert info.arch_int("block_count") == 18
    assert info.array_lengths["tokenizer.ggml.tokens"] == 262144
    assert info.data_end == info.path.stat().st_size
    assert fim_tokens(info) is None


@pytest.mark.model
def test_kv_cache_size_matches_what_llama_cpp_allocates() -> None:
    """The sizes llama.cpp logged for this model at n_ctx 8192 (anchors.md)."""
    info = read_gguf(default_model_path())
    assert kv_cache_bytes(info, 8192, "f16") == 144 * MIB
    assert kv_cache_bytes(info, 8192, "q8_0") == 76.5 * MIB
    assert kv_cache_bytes(info, 8192, "q4_0") == 40.5 * MIB


def test_reads_metadata_and_fim_tokens(tmp_path: Path) -> None:
    path = tmp_path / "tiny.gguf"
    write_gguf(
        path,
        {
            "general.architecture": "llama",
            "general.file_type": 7,
            "tokenizer.ggml.fim_pre_token_id": 5,
            "tokenizer.ggml.fim_suf_token_id": 6,
            "tokenizer.ggml.fim_mid_token_id": 7,
        },
    )
    info = read_gguf(path)
    assert info.quantization == "Q8_0" and not info.is_4bit
    fim = fim_tokens(info)
    assert fim is not None and (fim.prefix, fim.suffix, fim.middle) == (5, 6, 7)


def test_truncated_tensor_data_is_detected(tmp_path: Path) -> None:
    path = tmp_path / "cut.gguf"
    write_gguf(path, {"general.architecture": "llama"})
    path.write_bytes(path.read_bytes()[:-1])
    with pytest.raises(GgufError, match="truncated"):
        read_gguf(path)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "cannot read|truncated"),
        (b"GGML" + b"\0" * 64, "not a GGUF file"),
        (b"GGUF\x09\0\0\0" + b"\0" * 64, "version"),
    ],
)
def test_broken_files_are_refused(tmp_path: Path, content: bytes, message: str) -> None:
    path = tmp_path / "broken.gguf"
    path.write_bytes(content)
    with pytest.raises(GgufError, match=message):
        read_gguf(path)


def header(tensor_count: int, kv_count: int) -> bytes:
    return b"GGUF" + struct.pack("<IQQ", 3, tensor_count, kv_count)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (header(2**62, 0), "claims 4611686018427387904 tensors"),
        (header(0, 2**40), "claims 1099511627776 metadata entries"),
        (header(0, 5000) + b"\0" * 5000 * 13, "5000 metadata entries"),
        (header(0, 1) + gguf_string("k") + struct.pack("<IIQ", 9, 0, 2**50), "claims 1125899906842624 array items"),
        (header(0, 1) + gguf_string("k") + struct.pack("<IIQ", 9, 8, 10**6) + b"\0" * 1000, "array items"),
        (header(0, 1) + struct.pack("<Q", 2**20) + b"k" * 2**20, "a metadata key of 1048576 bytes"),
        (header(0, 1) + gguf_string("k") + struct.pack("<IQ", 8, 2**63), "ends early"),
        (header(0, 1) + gguf_string("k") + struct.pack("<II", 9, 99) + b"\0" * 64, "array item type 99"),
    ],
)
def test_crafted_counts_are_refused_with_one_line(tmp_path: Path, content: bytes, message: str) -> None:
    path = tmp_path / "crafted.gguf"
    path.write_bytes(content)
    with pytest.raises(GgufError) as raised:
        read_gguf(path)
    text = str(raised.value)
    assert text.startswith(f"{path} is not a valid GGUF model: ") and message in text
    assert text.endswith("; set goSidecar.ai.modelPath to a .gguf file or clear it") and "\n" not in text


def test_memory_stays_below_the_file_size_whatever_the_counts(tmp_path: Path) -> None:
    """Thousands of short arrays and distinct keys: what is kept is bounded, not ~6x the file."""
    entries = [gguf_string(f"key.{n}") + struct.pack("<IIQ", 9, 0, 1024) + b"\1" * 1024 for n in range(4000)]
    path = tmp_path / "many-arrays.gguf"
    body = header(0, len(entries)) + b"".join(entries)
    path.write_bytes(body + b"\0" * (-len(body) % 32))
    size = path.stat().st_size
    tracemalloc.start()
    try:
        info = read_gguf(path)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert len(info.array_lengths) == 4000 and all(length == 1024 for length in info.array_lengths.values())
    assert peak < size / 2, f"{peak} bytes allocated for a {size}-byte header"
