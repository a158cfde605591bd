"""Warming the model's KV cache where the user is reading.

After a jump (go to definition, a search result, a click further down) the first
suggestion would evaluate a whole new prompt window: seconds on 2 cores. But the editor
tells the server where the cursor is well before the user types there: hover,
documentHighlight and signatureHelp at the cursor, codeAction for the cursor's range,
completion and definition requests. The proxy passes those on untouched; this module
only notes their positions (on the reader thread: a dict read and an event) and, once
the cursor has rested for `SETTLE_S`, asks the completion service to evaluate the
prompt a suggestion there would use. The service does that on its inference thread at
the model process's low priority, and any real completion request cancels it within
a small batch, keeping what was evaluated.

`didOpen` carries no position; VS Code follows it with documentHighlight at the cursor.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any, Protocol

from gosidecar.completion.service import CompletionRequest
from gosidecar.documents import DocumentStore
from gosidecar.message import Kind, Message
from gosidecar.proxy import Proxy, Side

log = logging.getLogger(__name__)

SETTLE_S = 0.3
"""The cursor must rest this long: moving through the file warms nothing."""
EXTRA_CONTEXT_FILES = 2
"""Other open files give the model names and types it cannot see in the current file; a
couple of them is what fits the prompt budget."""
_AT_POSITION = (
    "textDocument/hover",
    "textDocument/documentHighlight",
    "textDocument/signatureHelp",
    "textDocument/completion",
    "textDocument/definition",
)
_AT_RANGE = ("textDocument/codeAction",)


class Warmer(Protocol):
    def prefetch(self, request: CompletionRequest) -> None:
        """Evaluate, at low priority, the prompt a completion for `request` would use."""
        ...


class Prefetcher:
    """Turns cursor positions into warming requests, the latest one after the cursor settles."""

    def __init__(self, warmer: Warmer, documents: DocumentStore, settle_s: float = SETTLE_S) -> None:
        self._warmer = warmer
        self._documents = documents
        self._settle_s = settle_s
        self._lock = threading.Lock()
        self._latest: tuple[str, int, int] | None = None
        self._noted_at = 0.0
        self._waiting = False
        """The thread is already waiting for the cursor to rest: a new position needs no wake-up."""
        self._noted = threading.Event()
        self._closed = threading.Event()
        self.settled = 0
        """Positions where the cursor came to rest (warmed or not): for tests."""
        self._thread = threading.Thread(target=self._run, name="gosidecar-prefetch", daemon=True)
        self._thread.start()

    def note(self, uri: str, line: int, character: int) -> None:
        """The cursor is at this position (called on the proxy's reader thread for every hover,
        highlight, …: only the first of a burst wakes the thread, the others cost a lock)."""
        with self._lock:
            self._latest = (uri, line, character)
            self._noted_at = time.monotonic()
            wake, self._waiting = not self._waiting, True
        if wake:
            self._noted.set()

    def close(self) -> None:
        self._closed.set()
        self._noted.set()
        self._thread.join()

    def _run(self) -> None:
        while self._noted.wait() and not self._closed.is_set():
            self._noted.clear()
            latest = self._rested()
            if latest is not None:
                self._warm_at(*latest)
                self.settled += 1

    def _rested(self) -> tuple[str, int, int] | None:
        """The cursor's position once it has not moved for the settle time (None: closing)."""
        while True:
            with self._lock:
                still_for = time.monotonic() - self._noted_at
                if still_for >= self._settle_s:
                    latest, self._latest, self._waiting = self._latest, None, False
                    return latest
            if self._closed.wait(self._settle_s - still_for):
                return None

    def _warm_at(self, uri: str, line: int, character: int) -> None:
        doc = self._documents.get(uri)
        request = completion_request(self._documents, uri, line, character)
        if doc is None or doc.language_id != "go" or request is None:
            return
        try:
            self._warmer.prefetch(request)
        except Exception:  # warming is an optimisation: it must never break anything
            log.exception("warming the completion model failed")


def completion_request(documents: DocumentStore, uri: str, line: int, character: int) -> CompletionRequest | None:
    """The completion request at this position: the document and a couple of other open files
    of its language (the inline completion's, and the warming's: the same prompt)."""
    doc = documents.get(uri)
    if doc is None:
        return None
    others = [(d.uri, d.text) for d in documents.all() if d.uri != uri and d.language_id == doc.language_id]
    return CompletionRequest(uri, doc.text, line, character, others[:EXTRA_CONTEXT_FILES])


def cursor_of(method: str, params: Any) -> tuple[str, int, int] | None:
    """The (uri, line, character) a cursor signal names; None when its shape is not the expected one."""
    try:
        uri = params["textDocument"]["uri"]
        where = params["position"] if method in _AT_POSITION else params["range"]["start"]
        line, character = where["line"], where["character"]
    except (KeyError, TypeError):
        return None
    if not (isinstance(uri, str) and isinstance(line, int) and isinstance(character, int)):
        return None
    return uri, line, character


def attach(proxy: Proxy, warmer: Warmer, documents: DocumentStore) -> Prefetcher:
    """Note the cursor from the editor's requests that carry it; forward them unchanged."""
    prefetcher = Prefetcher(warmer, documents)
    for method in (*_AT_POSITION, *_AT_RANGE):
        proxy.intercept(Side.CLIENT, Kind.REQUEST, method, _noting(prefetcher, method))
    return prefetcher


def _noting(prefetcher: Prefetcher, method: str) -> Any:
    def hook(message: Message) -> Message:
        cursor = cursor_of(method, message.params)
        if cursor is not None:
            prefetcher.note(*cursor)
        return message

    return hook
