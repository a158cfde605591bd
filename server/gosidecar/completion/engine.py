"""What a completion backend does: turn a prompt into text, stoppable at every token."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from gosidecar.completion.prompt import PromptText
from gosidecar.completion.signatures import CallShapes


@dataclass(frozen=True)
class Limits:
    max_tokens: int
    time_budget_s: float
    """Generation time once the prompt is evaluated; prompt work is kept in the KV cache,
    so it is bounded by cancellation (the next keystroke), not by this budget."""
    identifier_continuations: tuple[str, ...] = ()
    """When not empty, the text after the cursor starts with one of these and then a
    character that ends an identifier: gopls's names at the cursor, less what is typed."""
    calls: CallShapes | None = None
    """When given, the text keeps the calls at the cursor balanced (`signatures.CallMonitor`)."""


@dataclass(frozen=True)
class Generation:
    text: str
    finished: bool
    """The model or a stop rule ended it; False when a budget or cancellation cut it."""
    cancelled: bool = False
    prompt_tokens: int = 0
    reused_tokens: int = 0
    """Prompt tokens whose KV entries were kept from the previous request."""
    generated_tokens: int = 0
    steered_tokens: int = 0
    """Tokens chosen over the model's first choice, which would have broken a call."""
    prompt_ms: float = 0.0
    generation_ms: float = 0.0


class Engine(Protocol):
    def generate(
        self,
        prompt: PromptText,
        limits: Limits,
        is_cancelled: Callable[[], bool],
        is_done: Callable[[str], bool],
    ) -> Generation:
        """Generate until `is_done(text so far)`, a limit, EOS, or `is_cancelled()`."""
        ...

    def close(self) -> None: ...


@dataclass(frozen=True)
class Warming:
    """A prompt evaluated ahead of a request (the cursor is there; typing may start)."""

    prompt_tokens: int
    reused_tokens: int
    evaluated_tokens: int
    cancelled: bool
    """Stopped for a real request (or a cancel) before the whole prompt was evaluated."""


@runtime_checkable  # the lifecycle asks a loaded engine whether it can warm (a remote one cannot)
class WarmableEngine(Engine, Protocol):
    def warm(self, prompt: PromptText, limits: Limits, is_cancelled: Callable[[], bool]) -> Warming:
        """Evaluate the prompt `generate` would, keep it in the KV cache, generate nothing."""
        ...


class EngineError(Exception):
    """The backend failed; the message says what to do."""


class EngineCrashedError(EngineError):
    """The backend's process died (or hung and was killed); a new one can be started."""
