"""Local AI inline completions: a llama-cpp-python engine with a compressed KV cache."""

from gosidecar.completion.cli import run_complete_cli
from gosidecar.completion.model_lifecycle import ProgressReporter
from gosidecar.completion.service import CompletionRequest, CompletionResult, CompletionService

__all__ = [
    "CompletionRequest",
    "CompletionResult",
    "CompletionService",
    "ProgressReporter",
    "run_complete_cli",
]
