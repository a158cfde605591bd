"""The completion service: the one object the LSP server and the CLI talk to.

Threads: `complete()` blocks its caller (an LSP worker thread, never the event loop).
All model work (loading and inference) is driven from one dedicated inference thread;
the local model itself runs in a child process at a lower CPU priority
(`gosidecar.completion.worker`), so gopls keeps the cores it needs and a crash in
llama.cpp costs a model reload, not the sidecar. A newer request for a document
supersedes the running one, which stops within a token; the debounce is a wait that a
newer request cuts short.

A crashed model process is restarted by the next request, at most `_CRASH_LIMIT` times
in `_CRASH_WINDOW_S`; after that it stays in the error state until the settings or the
model file change.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import functools
import logging
import threading
import time
from collections import Counter, deque
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal, Protocol

from gosidecar.completion.cache import CacheKey, SuggestionCache
from gosidecar.completion.cursor import CursorContext, Edit
from gosidecar.completion.engine import Engine, EngineCrashedError, EngineError, Generation, Limits
from gosidecar.completion.gguf import GgufError, GgufInfo, read_gguf
from gosidecar.completion.grounding import Candidates, CandidateSource, Site, checked, site_at
from gosidecar.completion.model import (
    ModelUnavailableError,
    check_fits_in_memory,
    kv_cache_bytes,
    llama_cpp_missing_fix,
    require_llama_cpp,
    resolve_model_path,
)
from gosidecar.completion.postprocess import finalize, should_stop
from gosidecar.completion.prompt import PromptBudget, PromptText, build_prompt_text
from gosidecar.completion.remote import RemoteEngine, plain_http_warning
from gosidecar.completion.worker import WorkerEngine
from gosidecar.history import History
from gosidecar.problems import Problem
from gosidecar.settings import AiSettings

log = logging.getLogger(__name__)

CONTEXT_TOKENS = 3072
"""n_ctx: the prompt budget plus the longest suggestion, with room to spare."""
_CRASH_LIMIT = 3
_CRASH_WINDOW_S = 600.0
_LATENCY_WINDOW = 200
_SLOW_P95_MS = 5000
_MODEL_FIX = (
    "Set goSidecar.ai.modelPath to a 4-bit GGUF model (or clear it to use the embedded "
    "Gemma 3 270M); the next completion request tries again."
)
_REMOTE_FIX = (
    "Check the completion server named in goSidecar.ai.backend (running, reachable, a llama.cpp "
    'or OpenAI-compatible server), or set it to "local".'
)
_PLAIN_HTTP_FIX = 'Use an https:// URL, a server on this machine, or "local" in goSidecar.ai.backend.'

State = Literal["ready", "loading", "unloaded", "disabled", "error"]
"""`unloaded`: no error, and no model in memory yet (or any more, after the idle time);
the next request loads it."""


class ProgressReporter(Protocol):
    """Shown to the user as `window/workDoneProgress` while the model loads."""

    def begin(self, title: str, message: str) -> None: ...

    def report(self, message: str, percentage: int) -> None: ...

    def end(self, message: str) -> None: ...


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


@dataclass
class _LoadedModel:
    engine: Engine
    path: str
    info: GgufInfo | None
    """None for a remote backend."""
    load_ms: float = 0.0
    pid: int = 0
    """The model process; 0 for a remote backend."""


class CompletionService:
    """Implements gosidecar.problems.HealthSource. Thread-safe."""

    def __init__(
        self,
        settings: AiSettings,
        progress: ProgressReporter | None = None,
        history: History | None = None,
        grounding: CandidateSource | None = None,
    ) -> None:
        self._settings = settings
        self._grounding = grounding
        self._grounded: Counter[str] = Counter()
        """Suggestions "constrained" to gopls's names, "cut" or "dropped" by the check."""
        self._history = history if history is not None else History()
        self._progress = progress
        self._budget = PromptBudget()
        self._lock = threading.Lock()
        self._inference = concurrent.futures.ThreadPoolExecutor(max_workers=1, thread_name_prefix="gosidecar-ai")
        self._cache = SuggestionCache()
        self._model: _LoadedModel | None = None
        self._info: GgufInfo | None = None
        self._loading: concurrent.futures.Future[None] | None = None
        self._error: str | None = None
        self._error_key: tuple[object, ...] | None = None
        self._epoch = 0
        """Bumped when settings change the model: results of older loads are discarded."""
        self._latest: dict[str, threading.Event] = {}
        self._latencies: deque[float] = deque(maxlen=_LATENCY_WINDOW)
        self._crashes: deque[float] = deque(maxlen=_CRASH_LIMIT)
        self._crash_count = 0
        self._requests = 0
        self._cache_hits = 0
        self._last_reused = 0
        self._last_used = time.monotonic()
        self._idle_timer: threading.Timer | None = None
        self._closed = False

    # ----------------------------------------------------------------- requests

    def complete(self, request: CompletionRequest, cancel: threading.Event) -> CompletionResult:
        """One suggestion at the request's position; never raises."""
        started = time.perf_counter()
        try:
            result = self._complete(request, cancel)
        except Exception as error:  # the editor must never see a traceback
            log.exception("AI completion failed")
            result = CompletionResult("", error=f"AI completion failed: {error}")
        if result.text:
            self._history.record_shown()
        return replace(result, latency_ms=(time.perf_counter() - started) * 1000)

    def _complete(self, request: CompletionRequest, cancel: threading.Event) -> CompletionResult:
        settings = self._settings
        if not settings.enabled or self._closed:
            return CompletionResult("")
        context = CursorContext.at(request.text, request.line, request.character)
        key = CacheKey.of(request.uri, context)
        cached = self._cache.get(key, context.line_prefix)
        if cached is not None:
            self._count(cache_hit=True)
            return CompletionResult(cached.text, source="cache", edit=cached)
        superseded = self._supersede(request.uri)
        try:

            def is_cancelled() -> bool:
                return cancel.is_set() or superseded.is_set()

            if superseded.wait(settings.debounceMs / 1000) or cancel.is_set():
                return CompletionResult("", cancelled=True)
            asked = self._ask_gopls(request, context)
            model = self._ready_model(is_cancelled)
            if model is None:
                return CompletionResult("", cancelled=is_cancelled(), error=self._error)
            prompt = build_prompt_text(context.text, context.offset, request.uri, request.extra_context, self._budget)
            candidates = self._candidates(asked, is_cancelled)
            limits = Limits(
                settings.maxTokens,
                settings.timeBudgetMs / 1000,
                candidates.continuations if candidates and model.info else (),
            )
            generation = self._inference.submit(self._generate, model, prompt, limits, is_cancelled, context).result()
            if generation is None:
                return CompletionResult("", cancelled=is_cancelled(), error=self._error)
            if generation.cancelled:
                return _result(context.edit(""), generation)
            suggestion = finalize(context, self._checked(generation.text, candidates, limits), generation.finished)
            self._record(generation)
            if suggestion.text or generation.finished:  # a cut-short nothing may do better next time
                self._cache.put(key, context.line_prefix, suggestion)
            return _result(suggestion, generation)
        finally:
            self._release(request.uri, superseded)
            self._touch()

    def _ask_gopls(self, request: CompletionRequest, context: CursorContext) -> tuple[Site, Future[Any]] | None:
        """Ask gopls for its candidates at a member access or an identifier being typed."""
        site = site_at(context)
        if site is None or self._grounding is None or not self._settings.grounding or not request.gopls_text:
            return None
        return site, self._grounding.ask(request.uri, context.position)

    def _candidates(
        self, asked: tuple[Site, Future[Any]] | None, is_cancelled: Callable[[], bool]
    ) -> Candidates | None:
        if asked is None or self._grounding is None:
            return None
        site, future = asked
        names = self._grounding.names(future, is_cancelled)
        return Candidates(site, names) if names else None

    def _checked(self, text: str, candidates: Candidates | None, limits: Limits) -> str:
        """The generated text with what gopls does not know cut off (checked before shown)."""
        if candidates is None:
            return text
        with self._lock:
            self._grounded["constrained"] += bool(limits.identifier_continuations)
        if not text:
            return text
        text, verdict = checked(text, candidates)
        with self._lock:
            self._grounded[verdict] += 1
        return text

    def _generate(
        self,
        model: _LoadedModel,
        prompt: PromptText,
        limits: Limits,
        is_cancelled: Callable[[], bool],
        context: CursorContext,
    ) -> Generation | None:
        """On the inference thread, the only one that touches the model."""
        with self._lock:
            unloaded = model is not self._model
        if unloaded or is_cancelled():
            return Generation("", False, cancelled=True)
        try:
            generation = model.engine.generate(prompt, limits, is_cancelled, functools.partial(should_stop, context))
        except EngineCrashedError as error:
            self._crashed(model, str(error))
            return None
        except EngineError as error:
            self._set_error(str(error), key=None)
            return None
        if model.info is None:
            self._set_error(None, key=None)
        return generation

    def _crashed(self, model: _LoadedModel, error: str) -> None:
        """Drop the dead model; the next request starts a new one, within the crash limit."""
        log.warning("%s", error)
        now = time.monotonic()
        with self._lock:
            self._crashes.append(now)
            self._crash_count += 1
            given_up = len(self._crashes) == _CRASH_LIMIT and now - self._crashes[0] < _CRASH_WINDOW_S
            settings = self._settings
        if given_up:
            error += f"; it crashed {_CRASH_LIMIT} times in {_CRASH_WINDOW_S / 60:.0f} minutes and is not restarted"
        self._set_error(error, key=_source_key(settings) if given_up else None)
        self._unload(reason="the model process crashed", only=model)

    def _supersede(self, uri: str) -> threading.Event:
        """Cancel the document's running request; return the new request's own event."""
        event = threading.Event()
        with self._lock:
            previous = self._latest.get(uri)
            if previous is not None:
                previous.set()
            self._latest[uri] = event
        return event

    def _release(self, uri: str, event: threading.Event) -> None:
        with self._lock:
            if self._latest.get(uri) is event:
                del self._latest[uri]

    # ----------------------------------------------------------------- lifecycle

    def warm_up(self) -> None:
        """Start loading the model now, in the background, so the first suggestion need not wait."""
        with self._lock:
            settings = self._settings
            failed = self._error_key is not None and self._error_key == _source_key(settings)
            if not settings.enabled or self._closed or failed or self._model is not None or self._loading:
                return
            self._loading = self._inference.submit(self._load, self._epoch, settings)

    def _ready_model(self, is_cancelled: Callable[[], bool]) -> _LoadedModel | None:
        """The loaded model, loading it in the background first; None on error or cancel."""
        with self._lock:
            if self._model is not None:
                return self._model
            failed_key = self._error_key
            if failed_key is not None and failed_key == _source_key(self._settings):
                return None
            if self._loading is None:
                self._loading = self._inference.submit(self._load, self._epoch, self._settings)
            loading = self._loading
        while not loading.done():
            if is_cancelled():
                return None
            concurrent.futures.wait([loading], timeout=0.05)
        with self._lock:
            return self._model

    def _load(self, epoch: int, settings: AiSettings) -> None:
        """On the inference thread: open the configured backend, reporting progress."""
        progress = self._progress
        if progress is not None:
            progress.begin("Go Sidecar AI", "loading the completion model")
        model: _LoadedModel | None = None
        try:
            model = self._open_backend(settings, progress)
        except Exception as error:  # whatever the model does, the sidecar carries on
            log.info("completion model failed to load: %s", error)
            if not self._closed:  # a load cut short by shutdown is no error of the model's
                self._set_error(_describe(error), key=_source_key(settings))
        if progress is not None:
            progress.end("completion model ready" if model else "completion model failed")
        with self._lock:
            self._loading = None
            current = model is not None and epoch == self._epoch and not self._closed
            if current:
                self._model, self._error, self._error_key = model, None, None
        if model is not None and not current:
            model.engine.close()

    def _open_backend(self, settings: AiSettings, progress: ProgressReporter | None) -> _LoadedModel:
        if settings.backend != "local":
            return _LoadedModel(RemoteEngine(settings.backend), settings.backend, None)
        require_llama_cpp()
        if progress is not None:
            progress.report("reading the model header", 10)
        path = resolve_model_path(settings.modelPath)
        info = read_gguf(path)
        with self._lock:
            self._info = info
        if progress is not None:
            progress.report(f"loading {path.name} ({info.quantization})", 40)
        check_fits_in_memory(info, CONTEXT_TOKENS, settings.kvCacheType)
        engine = WorkerEngine(path, info, settings.kvCacheType, CONTEXT_TOKENS, abandoned=lambda: self._closed)
        return _LoadedModel(engine, str(path), info, load_ms=engine.load_ms, pid=engine.pid)

    def _set_error(self, error: str | None, key: tuple[object, ...] | None) -> None:
        with self._lock:
            self._error = error
            self._error_key = key

    def apply_settings(self, settings: AiSettings) -> None:
        """Take new settings; a different model, KV type or backend reloads on next use."""
        with self._lock:
            old = self._settings
            self._settings = settings
            model_changed = (old.modelPath, old.kvCacheType, old.backend) != (
                settings.modelPath,
                settings.kvCacheType,
                settings.backend,
            )
        if model_changed or not settings.enabled:
            self._unload(reason="settings changed")
            self._cache.clear()
            self._set_error(None, key=None)
            with self._lock:
                self._info = None
                self._crashes.clear()

    def _unload(self, reason: str, only: _LoadedModel | None = None) -> None:
        """Close the model (only `only`, if it is still the current one)."""
        with self._lock:
            if only is not None and only is not self._model:
                return
            self._epoch += 1
            model, self._model = self._model, None
            self._loading = None
            for event in self._latest.values():
                event.set()
        if model is not None:
            log.info("unloading the completion model: %s", reason)
            # After any running generation: only the inference thread touches the model.
            with contextlib.suppress(RuntimeError):
                self._inference.submit(model.engine.close)

    def _touch(self) -> None:
        minutes = self._settings.idleUnloadMinutes
        with self._lock:
            self._last_used = time.monotonic()
            if self._idle_timer is not None:
                self._idle_timer.cancel()
            self._idle_timer = None
            if minutes > 0 and not self._closed:
                self._idle_timer = threading.Timer(minutes * 60, self._unload_if_idle)
                self._idle_timer.daemon = True
                self._idle_timer.start()

    def _unload_if_idle(self) -> None:
        idle_s = self._settings.idleUnloadMinutes * 60
        with self._lock:
            busy = bool(self._latest) or time.monotonic() - self._last_used < idle_s
        if not busy:
            self._unload(reason="idle")

    def close(self) -> None:
        with self._lock:
            self._closed = True
            if self._idle_timer is not None:
                self._idle_timer.cancel()
        self._unload(reason="shutdown")
        self._inference.shutdown(wait=True)

    # ----------------------------------------------------------------- health

    def _count(self, cache_hit: bool) -> None:
        with self._lock:
            self._requests += 1
            self._cache_hits += int(cache_hit)

    def _record(self, generation: Generation) -> None:
        with self._lock:
            self._requests += 1
            self._latencies.append(generation.prompt_ms + generation.generation_ms)
            self._last_reused = generation.reused_tokens
        self._history.record_latency(generation.prompt_ms + generation.generation_ms)

    def _state_locked(self) -> State:
        if not self._settings.enabled:
            return "disabled"
        if self._error is not None:
            return "error"
        if self._loading is not None:
            return "loading"
        return "ready" if self._model is not None else "unloaded"

    def health_section(self) -> dict[str, object]:
        with self._lock:
            settings, info, model = self._settings, self._info, self._model
            latencies = sorted(self._latencies)
            loaded = model is not None and info is not None
            return {
                "enabled": settings.enabled,
                "state": self._state_locked(),
                "modelPath": model.path if model else settings.modelPath,
                "modelQuantization": info.quantization if info else "",
                "kvCacheTypeK": settings.kvCacheType,
                "kvCacheTypeV": settings.kvCacheType,
                "flashAttention": True,
                "contextTokens": CONTEXT_TOKENS if loaded else 0,
                "kvCacheBytes": kv_cache_bytes(info, CONTEXT_TOKENS, settings.kvCacheType) if loaded and info else 0,
                "requests": self._requests,
                "latencyMsP50": round(_percentile(latencies, 0.50)),
                "latencyMsP95": round(_percentile(latencies, 0.95)),
                "error": self._error,
                "backend": settings.backend,
                "loaded": model is not None,
                "cacheHits": self._cache_hits,
                "lastReusedPrefixTokens": self._last_reused,
                "loadMs": round(model.load_ms) if model else 0,
                "modelProcessPid": model.pid if model else 0,
                "modelProcessCrashes": self._crash_count,
                "groundingConstrained": self._grounded["constrained"],
                "groundingCut": self._grounded["cut"],
                "groundingDropped": self._grounded["dropped"],
            }

    def problems(self) -> list[Problem]:
        with self._lock:
            settings, info, error = self._settings, self._info, self._error
            latencies = sorted(self._latencies)
        if not settings.enabled:
            return []
        found: list[Problem] = []
        if error is not None:
            fix = _REMOTE_FIX if settings.backend != "local" else llama_cpp_missing_fix() or _MODEL_FIX
            found.append(Problem("error", f"AI completions unavailable: {error}", fix))
        exposure = plain_http_warning(settings.backend) if settings.backend != "local" else None
        if exposure is not None:
            found.append(Problem("warning", exposure, _PLAIN_HTTP_FIX))
        if info is not None and not info.is_4bit:
            found.append(
                Problem(
                    "warning",
                    f"the AI model is {info.quantization or 'of unknown quantization'}, "
                    f"not 4-bit: it is larger and slower than needed for completions",
                    "Use a Q4_K_M (or other 4-bit) GGUF in goSidecar.ai.modelPath.",
                )
            )
        if len(latencies) >= 10 and _percentile(latencies, 0.95) > _SLOW_P95_MS:
            found.append(
                Problem(
                    "warning",
                    "AI completions are slow (p95 over 5 s)",
                    "Use a smaller model, or a remote server in goSidecar.ai.backend.",
                )
            )
        return found


def _source_key(settings: AiSettings) -> tuple[object, ...] | None:
    """What a failed load depended on: it is retried once this changes.

    None for a remote backend, which is retried on every request (a server comes back).
    """
    if settings.backend != "local":
        return None
    stat: tuple[object, ...] = ()
    if settings.modelPath:
        with contextlib.suppress(OSError):
            file_stat = Path(settings.modelPath).expanduser().stat()
            stat = (file_stat.st_mtime_ns, file_stat.st_size)
    return (settings.modelPath, settings.kvCacheType, *stat)


def _describe(error: Exception) -> str:
    if isinstance(error, (GgufError, ModelUnavailableError, EngineError)):
        return str(error)
    return f"the completion model failed to load ({type(error).__name__}: {error})"


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


def _percentile(sorted_values: list[float], share: float) -> float:
    if not sorted_values:
        return 0.0
    return sorted_values[min(int(share * len(sorted_values)), len(sorted_values) - 1)]
