"""The completion service: the one object the LSP server and the CLI talk to.

It runs a request's flow: the cache, the debounce, gopls's candidates, a generation on the
model (owned by `model_lifecycle`), the grounding check, and the result; `metrics` counts.

Threads: `complete()` blocks its caller (an LSP worker thread, never the event loop). A
newer request for a document supersedes the running one, which stops within a token; the
debounce is a wait that a newer request cuts short.
"""

from __future__ import annotations

import functools
import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass, field, replace
from typing import Any, Literal

from gosidecar.completion.cache import CacheKey, SuggestionCache
from gosidecar.completion.cursor import CursorContext, Edit
from gosidecar.completion.engine import Generation, Limits, Warming
from gosidecar.completion.grounding import Candidates, GroundingSource, Site, Verdict, checked, names_of, site_at
from gosidecar.completion.metrics import CompletionMetrics
from gosidecar.completion.model_lifecycle import ModelLifecycle, ProgressReporter
from gosidecar.completion.postprocess import finalize, should_stop
from gosidecar.completion.prompt import PromptBudget, build_prompt_text
from gosidecar.completion.signatures import CallShapes, balanced_prefix, called_at_cursor, callees_of, enclosing_arity
from gosidecar.history import History
from gosidecar.problems import Problem
from gosidecar.settings import AiSettings

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class CompletionRequest:
    uri: str
    text: str
    """The whole document."""
    line: int
    character: int
    """LSP position: 0-based line, UTF-16 code units."""
    extra_context: list[tuple[str, str]] = field(default_factory=list)
    """Other open files as (uri, text)."""
    gopls_text: bool = True
    """`text` is the document as gopls has it (not with a suggestion-list item accepted
    in it): only then can gopls ground the suggestion."""


@dataclass(frozen=True)
class CompletionResult:
    text: str
    """The ghost text; "" = no suggestion."""
    source: Literal["model", "cache", "none"] = "none"
    cancelled: bool = False
    latency_ms: float = 0.0
    prompt_tokens: int = 0
    reused_tokens: int = 0
    generated_tokens: int = 0
    prompt_ms: float = 0.0
    generation_ms: float = 0.0
    error: str | None = None
    edit: Edit | None = None
    """`text` with the range it replaces: from the request's position to the end of the
    characters the editor auto-closed that the suggestion closes itself."""


@dataclass(frozen=True)
class _Questions:
    """What the sidecar asked gopls for a suggestion."""

    site: Site | None
    completion: Future[Any] | None
    """Candidates at a member access or an identifier being typed."""
    signature: Future[Any] | None
    """The call the cursor is in."""

    @property
    def futures(self) -> list[Future[Any]]:
        return [future for future in (self.completion, self.signature) if future is not None]


class _LatestRequests:
    """Each document's running request: a newer one supersedes it (sets its event)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._latest: dict[str, threading.Event] = {}

    def supersede(self, uri: str) -> threading.Event:
        """Cancel the document's running request; return the new request's own event."""
        event = threading.Event()
        with self._lock:
            previous = self._latest.get(uri)
            if previous is not None:
                previous.set()
            self._latest[uri] = event
        return event

    def release(self, uri: str, event: threading.Event) -> None:
        with self._lock:
            if self._latest.get(uri) is event:
                del self._latest[uri]

    def any_running(self) -> bool:
        with self._lock:
            return bool(self._latest)

    def cancel_all(self) -> None:
        with self._lock:
            for event in self._latest.values():
                event.set()


class CompletionService:
    """Implements gosidecar.problems.HealthSource. Thread-safe."""

    def __init__(
        self,
        settings: AiSettings,
        progress: ProgressReporter | None = None,
        history: History | None = None,
        grounding: GroundingSource | None = None,
    ) -> None:
        self._settings = settings
        self._grounding = grounding
        self._metrics = CompletionMetrics(history if history is not None else History())
        self._budget = PromptBudget()
        self._cache = SuggestionCache()
        self._latest = _LatestRequests()
        self._models = ModelLifecycle(settings, progress, self._latest)

    def complete(self, request: CompletionRequest, cancel: threading.Event) -> CompletionResult:
        """One suggestion at the request's position; never raises."""
        started = time.perf_counter()
        try:
            result = self._complete(request, cancel)
        except Exception as error:  # the editor must never see a traceback
            log.exception("AI completion failed")
            result = CompletionResult("", error=f"AI completion failed: {error}")
        if result.text:
            self._metrics.shown()
        return replace(result, latency_ms=(time.perf_counter() - started) * 1000)

    def _complete(self, request: CompletionRequest, cancel: threading.Event) -> CompletionResult:
        settings = self._settings
        if not settings.enabled or self._models.closed:
            return CompletionResult("")
        context = CursorContext.at(request.text, request.line, request.character)
        key = CacheKey.of(request.uri, context)
        cached = self._cache.get(key, context.line_prefix)
        if cached is not None:
            self._metrics.cache_hit()
            return CompletionResult(cached.text, source="cache", edit=cached)
        superseded = self._latest.supersede(request.uri)
        try:

            def is_cancelled() -> bool:
                return cancel.is_set() or superseded.is_set()

            if superseded.wait(settings.debounceMs / 1000) or cancel.is_set():
                return CompletionResult("", cancelled=True)
            asked = self._ask_gopls(request, context)
            model = self._models.ready_model(is_cancelled)
            if model is None:
                if asked is not None and self._grounding is not None:
                    self._grounding.cancel(asked.futures)
                return CompletionResult("", cancelled=is_cancelled(), error=self._models.error)
            prompt = build_prompt_text(context.text, context.offset, request.uri, request.extra_context, self._budget)
            if asked is not None:  # evaluate the prompt while gopls looks for the names
                self._models.warm(prompt, Limits(settings.maxTokens, settings.timeBudgetMs / 1000))
            candidates, calls = self._grounded(asked, context.line_prefix, is_cancelled)
            limits = Limits(
                settings.maxTokens,
                settings.timeBudgetMs / 1000,
                candidates.continuations if candidates and model.info else (),
                calls,
            )
            is_done = functools.partial(should_stop, context)
            generation = self._models.generate(model, prompt, limits, is_cancelled, is_done)
            if generation is None:
                return CompletionResult("", cancelled=is_cancelled(), error=self._models.error)
            if generation.cancelled:
                return _result(context.edit(""), generation)
            suggestion = finalize(context, self._checked(generation, candidates, limits), generation.finished)
            self._metrics.generated(generation)
            if suggestion.text or generation.finished:  # a cut-short nothing may do better next time
                self._cache.put(key, context.line_prefix, suggestion)
            return _result(suggestion, generation)
        finally:
            self._latest.release(request.uri, superseded)
            self._models.touch()

    @property
    def last_warming(self) -> Warming | None:
        """The latest KV cache warming that ran (for tests and the bench)."""
        return self._models.last_warming

    def prefetch(self, request: CompletionRequest) -> None:
        """Warm the KV cache for a completion at `request`'s position (the cursor rests there).

        Only while no completion runs: a real request always comes first, and cancels it.
        """
        settings = self._settings
        if not settings.enabled or self._models.closed or self._latest.any_running():
            return
        context = CursorContext.at(request.text, request.line, request.character)
        prompt = build_prompt_text(context.text, context.offset, request.uri, request.extra_context, self._budget)
        self._models.warm(prompt, Limits(settings.maxTokens, settings.timeBudgetMs / 1000))

    def _ask_gopls(self, request: CompletionRequest, context: CursorContext) -> _Questions | None:
        """Ask gopls for its candidates at a member access or an identifier being typed, and
        for the signature of the call the cursor is in."""
        if self._grounding is None or not self._settings.grounding or not request.gopls_text:
            return None
        site, in_call = site_at(context), called_at_cursor(context.line_prefix) is not None
        if site is None and not in_call:
            return None
        ask = functools.partial(self._grounding.ask, uri=request.uri, position=context.position)
        return _Questions(
            site,
            ask("textDocument/completion") if site is not None else None,
            ask("textDocument/signatureHelp") if in_call else None,
        )

    def _grounded(
        self, asked: _Questions | None, line_prefix: str, is_cancelled: Callable[[], bool]
    ) -> tuple[Candidates | None, CallShapes | None]:
        """gopls's names at the site, and what its answers say about the calls at the cursor."""
        if asked is None or self._grounding is None:
            return None, None
        answered = dict(zip(asked.futures, self._grounding.answers(asked.futures, is_cancelled), strict=True))
        completion = answered.get(asked.completion) if asked.completion else None
        names = names_of(completion)
        candidates = Candidates(asked.site, names) if asked.site and names else None
        signature = answered.get(asked.signature) if asked.signature else None
        enclosing = enclosing_arity(line_prefix, signature) if signature is not None else None
        callees = callees_of(completion)
        return candidates, CallShapes(line_prefix, enclosing, callees) if enclosing or callees else None

    def _checked(self, generation: Generation, candidates: Candidates | None, limits: Limits) -> str:
        """The generated text with what gopls does not know cut off, and cut before a call it
        breaks (checked before shown); one verdict per suggestion."""
        text = generation.text
        if generation.steered_tokens:
            self._metrics.grounded("steered")
        if candidates is not None and limits.identifier_continuations:
            self._metrics.grounded("constrained")
        verdict: Verdict = "kept"
        if candidates is not None and text:
            text, verdict = checked(text, candidates)
        if limits.calls is not None and text:
            balanced = balanced_prefix(text, limits.calls, whole=generation.finished)
            verdict = "cut" if balanced != text and verdict == "kept" else verdict
            text = balanced
        if candidates is not None or verdict != "kept":
            self._metrics.grounded(verdict)
        return text

    def warm_up(self) -> None:
        """Start loading the model now, in the background, so the first suggestion need not wait."""
        self._models.warm_up()

    def apply_settings(self, settings: AiSettings) -> None:
        """Take new settings; a different model, KV type or backend reloads on next use."""
        self._settings = settings
        if self._models.apply_settings(settings):
            self._cache.clear()

    def close(self) -> None:
        self._models.close()

    def health_section(self) -> dict[str, object]:
        settings = self._settings
        model = self._models.status()
        numbers = self._metrics.snapshot()
        return {
            "enabled": settings.enabled,
            "state": model.state,
            "modelPath": model.path,
            "modelQuantization": model.quantization,
            "kvCacheTypeK": settings.kvCacheType,
            "kvCacheTypeV": settings.kvCacheType,
            "flashAttention": True,
            "contextTokens": model.context_tokens,
            "kvCacheBytes": model.kv_cache_bytes,
            "requests": numbers.requests,
            "latencyMsP50": numbers.latency_ms_p50,
            "latencyMsP95": numbers.latency_ms_p95,
            "error": model.error,
            "backend": settings.backend,
            "loaded": model.loaded,
            "cacheHits": numbers.cache_hits,
            "lastReusedPrefixTokens": numbers.last_reused_prefix_tokens,
            "loadMs": model.load_ms,
            "modelProcessPid": model.pid,
            "modelProcessCrashes": model.crashes,
            "groundingConstrained": numbers.grounding_constrained,
            "groundingSteered": numbers.grounding_steered,
            "groundingCut": numbers.grounding_cut,
            "groundingDropped": numbers.grounding_dropped,
        }

    def problems(self) -> list[Problem]:
        if not self._settings.enabled:
            return []
        return self._models.problems() + self._metrics.problems()


def _result(suggestion: Edit, generation: Generation) -> CompletionResult:
    return CompletionResult(
        suggestion.text,
        edit=suggestion,
        source="model",
        cancelled=generation.cancelled,
        prompt_tokens=generation.prompt_tokens,
        reused_tokens=generation.reused_tokens,
        generated_tokens=generation.generated_tokens,
        prompt_ms=generation.prompt_ms,
        generation_ms=generation.generation_ms,
    )
