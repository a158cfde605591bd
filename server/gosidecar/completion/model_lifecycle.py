"""The completion model's lifecycle: load, idle unload, crash restarts, and the inference thread.

All model work (loading and inference) is driven from one dedicated inference thread;
the local model itself runs in a child process at a lower CPU priority
(`gosidecar.completion.worker`), so gopls keeps the cores it needs and a crash in
llama.cpp costs a model reload, not the sidecar.

A crashed model process is restarted by the next request, at most `_CRASH_LIMIT` times
in `_CRASH_WINDOW_S`; after that it stays in the error state until the settings or the
model file change.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, Protocol

from gosidecar.completion.engine import (
    Engine,
    EngineCrashedError,
    EngineError,
    Generation,
    Limits,
    WarmableEngine,
    Warming,
)
from gosidecar.completion.gguf import GgufError, GgufInfo, read_gguf
from gosidecar.completion.model import (
    ModelUnavailableError,
    check_fits_in_memory,
    kv_cache_bytes,
    llama_cpp_missing_fix,
    require_llama_cpp,
    resolve_model_path,
)
from gosidecar.completion.prompt import PromptText
from gosidecar.completion.remote import RemoteEngine, plain_http_warning
from gosidecar.completion.worker import WorkerEngine
from gosidecar.problems import Problem, SettingAction
from gosidecar.settings import AiSettings

log = logging.getLogger(__name__)

CONTEXT_TOKENS = 3072
"""n_ctx: the prompt budget plus the longest suggestion, with room to spare."""
_CRASH_LIMIT = 3
_CRASH_WINDOW_S = 600.0
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


class RunningRequests(Protocol):
    """The requests the model serves: an unload cancels them, and none may run for an idle unload."""

    def any_running(self) -> bool: ...

    def cancel_all(self) -> None: ...


@dataclass
class LoadedModel:
    engine: Engine
    path: str
    info: GgufInfo | None
    """None for a remote backend."""
    load_ms: float = 0.0
    pid: int = 0
    """The model process; 0 for a remote backend."""


@dataclass(frozen=True)
class ModelStatus:
    """The model's part of the health section."""

    state: State
    path: str
    quantization: str
    context_tokens: int
    kv_cache_bytes: int
    error: str | None
    loaded: bool
    load_ms: int
    pid: int
    crashes: int


class ModelLifecycle:
    """Owns the model and the inference thread, the only thread that touches it. Thread-safe."""

    def __init__(self, settings: AiSettings, progress: ProgressReporter | None, running: RunningRequests) -> None:
        self._settings = settings
        self._progress = progress
        self._running = running
        self._lock = threading.Lock()
        self._inference = concurrent.futures.ThreadPoolExecutor(max_workers=1, thread_name_prefix="gosidecar-ai")
        self._model: LoadedModel | None = None
        self._info: GgufInfo | None = None
        self._loading: concurrent.futures.Future[None] | None = None
        self._error: str | None = None
        self._error_key: tuple[object, ...] | None = None
        self._epoch = 0
        """Bumped when settings change the model: results of older loads are discarded."""
        self._crashes: deque[float] = deque(maxlen=_CRASH_LIMIT)
        self._crash_count = 0
        self._last_used = time.monotonic()
        self._idle_timer: threading.Timer | None = None
        self._closed = False
        self._warming = threading.Event()
        """Set to stop the running warming: a real request (or newer warming) comes first."""
        self.last_warming: Warming | None = None
        """The latest warming that ran (for tests and the bench)."""

    @property
    def closed(self) -> bool:
        return self._closed

    @property
    def error(self) -> str | None:
        with self._lock:
            return self._error

    def warm_up(self) -> None:
        """Start loading the model now, in the background, so the first suggestion need not wait."""
        with self._lock:
            settings = self._settings
            failed = self._error_key is not None and self._error_key == _source_key(settings)
            if not settings.enabled or self._closed or failed or self._model is not None or self._loading:
                return
            self._loading = self._inference.submit(self._load, self._epoch, settings)

    def ready_model(self, is_cancelled: Callable[[], bool]) -> LoadedModel | None:
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

    def generate(
        self,
        model: LoadedModel,
        prompt: PromptText,
        limits: Limits,
        is_cancelled: Callable[[], bool],
        is_done: Callable[[str], bool],
    ) -> Generation | None:
        """Generate on the inference thread, waiting for it; None when the model failed."""
        self._warming.set()  # warming yields within a small batch, keeping what it evaluated
        return self._inference.submit(self._generate, model, prompt, limits, is_cancelled, is_done).result()

    def warm(self, prompt: PromptText, limits: Limits) -> bool:
        """Evaluate `prompt` on the inference thread in the background; False when no local model is loaded."""
        with self._lock:
            model = self._model
            if model is None or not isinstance(model.engine, WarmableEngine):
                return False
            self._warming.set()
            cancel = self._warming = threading.Event()
        self._inference.submit(self._warm, model, model.engine, prompt, limits, cancel)
        return True

    def _warm(
        self, model: LoadedModel, engine: WarmableEngine, prompt: PromptText, limits: Limits, cancel: threading.Event
    ) -> None:
        with self._lock:
            unloaded = model is not self._model
        if unloaded or cancel.is_set():
            return
        try:
            self.last_warming = engine.warm(prompt, limits, cancel.is_set)
        except EngineCrashedError as error:
            self._crashed(model, str(error))
        except EngineError as error:
            log.info("warming the KV cache failed: %s", error)

    def _generate(
        self,
        model: LoadedModel,
        prompt: PromptText,
        limits: Limits,
        is_cancelled: Callable[[], bool],
        is_done: Callable[[str], bool],
    ) -> Generation | None:
        with self._lock:
            unloaded = model is not self._model
        if unloaded or is_cancelled():
            return Generation("", False, cancelled=True)
        try:
            generation = model.engine.generate(prompt, limits, is_cancelled, is_done)
        except EngineCrashedError as error:
            self._crashed(model, str(error))
            return None
        except EngineError as error:
            self._set_error(str(error), key=None)
            return None
        if model.info is None:
            self._set_error(None, key=None)
        return generation

    def _crashed(self, model: LoadedModel, error: str) -> None:
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

    def _load(self, epoch: int, settings: AiSettings) -> None:
        """On the inference thread: open the configured backend, reporting progress."""
        progress = self._progress
        if progress is not None:
            progress.begin("Go Sidecar AI", "loading the completion model")
        model: LoadedModel | None = None
        try:
            model = self._open_backend(settings, progress)
        except Exception as error:  # whatever the model does, the sidecar carries on
            log.info("completion model failed to load: %s", error)
            if not self._closed and epoch == self._epoch:  # neither shutdown nor new settings cut it short
                self._set_error(_describe(error), key=_source_key(settings))
        if progress is not None:
            progress.end("completion model ready" if model else "completion model failed")
        with self._lock:
            if epoch == self._epoch:  # a stale load must not forget the newer one queued behind it
                self._loading = None
            current = model is not None and epoch == self._epoch and not self._closed and self._model is None
            if current:
                self._model, self._error, self._error_key = model, None, None
        if model is not None and not current:
            model.engine.close()

    def _open_backend(self, settings: AiSettings, progress: ProgressReporter | None) -> LoadedModel:
        if settings.backend != "local":
            return LoadedModel(RemoteEngine(settings.backend), settings.backend, None)
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
        return LoadedModel(engine, str(path), info, load_ms=engine.load_ms, pid=engine.pid)

    def _set_error(self, error: str | None, key: tuple[object, ...] | None) -> None:
        with self._lock:
            self._error = error
            self._error_key = key

    def apply_settings(self, settings: AiSettings) -> bool:
        """Take new settings; True when they reset the model (a different model, KV type or
        backend, reloaded on next use; or disabled), so earlier suggestions no longer hold."""
        with self._lock:
            old = self._settings
            self._settings = settings
            model_changed = (old.modelPath, old.kvCacheType, old.backend) != (
                settings.modelPath,
                settings.kvCacheType,
                settings.backend,
            )
        if not model_changed and settings.enabled:
            return False
        self._unload(reason="settings changed")
        with self._lock:
            self._error, self._error_key = None, None
            self._info = None
            self._crashes.clear()
        return True

    def _unload(self, reason: str, only: LoadedModel | None = None) -> None:
        """Close the model (only `only`, if it is still the current one)."""
        with self._lock:
            if only is not None and only is not self._model:
                return
            self._epoch += 1
            model, self._model = self._model, None
            self._loading = None
            self._running.cancel_all()
        if model is not None:
            log.info("unloading the completion model: %s", reason)
            # After any running generation: only the inference thread touches the model.
            with contextlib.suppress(RuntimeError):
                self._inference.submit(model.engine.close)

    def touch(self) -> None:
        """A request just ended: the idle time starts again."""
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
            busy = self._running.any_running() or time.monotonic() - self._last_used < idle_s
        if not busy:
            self._unload(reason="idle")

    def close(self) -> None:
        with self._lock:
            self._closed = True
            if self._idle_timer is not None:
                self._idle_timer.cancel()
        self._unload(reason="shutdown")
        self._inference.shutdown(wait=True)

    def status(self) -> ModelStatus:
        with self._lock:
            settings, info, model = self._settings, self._info, self._model
            loaded = model is not None and info is not None
            return ModelStatus(
                state=self._state_locked(),
                path=model.path if model else settings.modelPath,
                quantization=info.quantization if info else "",
                context_tokens=CONTEXT_TOKENS if loaded else 0,
                kv_cache_bytes=kv_cache_bytes(info, CONTEXT_TOKENS, settings.kvCacheType) if loaded and info else 0,
                error=self._error,
                loaded=model is not None,
                load_ms=round(model.load_ms) if model else 0,
                pid=model.pid if model else 0,
                crashes=self._crash_count,
            )

    def _state_locked(self) -> State:
        if not self._settings.enabled:
            return "disabled"
        if self._error is not None:
            return "error"
        if self._loading is not None:
            return "loading"
        return "ready" if self._model is not None else "unloaded"

    def problems(self) -> list[Problem]:
        """The backend's and the model's problems (asked only while completions are enabled)."""
        with self._lock:
            settings, info, error = self._settings, self._info, self._error
        found: list[Problem] = []
        if error is not None:
            fix = _REMOTE_FIX if settings.backend != "local" else llama_cpp_missing_fix() or _MODEL_FIX
            to_open = SettingAction("ai.modelPath" if fix == _MODEL_FIX else "ai.backend")  # the setting the fix names
            found.append(Problem("error", f"AI completions unavailable: {error}", fix, to_open))
        exposure = plain_http_warning(settings.backend) if settings.backend != "local" else None
        if exposure is not None:
            found.append(Problem("warning", exposure, _PLAIN_HTTP_FIX, SettingAction("ai.backend")))
        if info is not None and not info.is_4bit:
            found.append(
                Problem(
                    "warning",
                    f"the AI model is {info.quantization or 'of unknown quantization'}, "
                    f"not 4-bit: it is larger and slower than needed for completions",
                    "Use a Q4_K_M (or other 4-bit) GGUF in goSidecar.ai.modelPath.",
                    SettingAction("ai.modelPath", ""),  # empty: the embedded default, Q4_K_M
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
