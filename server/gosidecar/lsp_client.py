"""A small synchronous LSP client over a subprocess's stdio.

Used by `gosidecar health`, the tests and the benchmarks to talk to the sidecar (or to
gopls directly) exactly as an editor would. Server-to-client requests get the answers
an editor gives by default (configuration: null items, everything else: null).
"""

from __future__ import annotations

import itertools
import os
import subprocess
import threading
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Future
from typing import Any

from .framing import FrameReader, FrameWriter, enlarge_pipe
from .message import Kind, Message, notification, request, response

ServerRequestHandler = Callable[[Message], Any]


class LspError(RuntimeError):
    def __init__(self, error: Mapping[str, Any]) -> None:
        super().__init__(f"{error.get('code')}: {error.get('message')}")
        self.code = error.get("code")


class LspClient:
    def __init__(
        self,
        command: Sequence[str],
        env: Mapping[str, str] | None = None,
        cwd: str | None = None,
        stderr: int | None = None,
    ) -> None:
        self.process = subprocess.Popen(
            list(command),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=stderr,
            env={**os.environ, **(env or {})},
            cwd=cwd,
            bufsize=0,
        )
        assert self.process.stdin is not None and self.process.stdout is not None
        enlarge_pipe(self.process.stdin.fileno())
        enlarge_pipe(self.process.stdout.fileno())
        self._writer = FrameWriter(os.dup(self.process.stdin.fileno()), "server")
        self.process.stdin.close()
        self._reader = FrameReader(self.process.stdout.fileno(), "server")
        self._ids = itertools.count(1)
        self._pending: dict[Any, Future[Any]] = {}
        self._lock = threading.Lock()
        self.notifications: list[Message] = []
        self.unmatched_responses: list[Message] = []
        self.server_requests: list[Message] = []
        self._notified = threading.Condition()
        self.on_server_request: ServerRequestHandler = _default_answer
        self._thread = threading.Thread(target=self._read_loop, daemon=True, name="lsp-client")
        self._thread.start()

    # ----- sending --------------------------------------------------------------------

    def request_async(self, method: str, params: Any = None) -> Future[Any]:
        msg_id = next(self._ids)
        future: Future[Any] = Future()
        with self._lock:
            self._pending[msg_id] = future
        self._writer.write(request(msg_id, method, params).body)
        return future

    def request(self, method: str, params: Any = None, timeout: float = 60.0) -> Any:
        return self.request_async(method, params).result(timeout)

    def notify(self, method: str, params: Any = None) -> None:
        self._writer.write(notification(method, params).body)

    def send_raw(self, data: bytes) -> None:
        """Bytes as they are, for tests that send malformed frames."""
        self._writer.write_raw(data)

    def initialize(self, root_uri: str, initialization_options: Any = None, **extra: Any) -> Any:
        params = {
            "processId": os.getpid(),
            "rootUri": root_uri,
            "workspaceFolders": [{"uri": root_uri, "name": "workspace"}],
            "capabilities": _CLIENT_CAPABILITIES,
            "initializationOptions": initialization_options,
            **extra,
        }
        result = self.request("initialize", params)
        self.notify("initialized", {})
        return result

    def shutdown(self, timeout: float = 10.0) -> int | None:
        try:
            self.request("shutdown", None, timeout=timeout)
            self.notify("exit")
        except Exception:
            pass
        return self.close(timeout)

    def close(self, timeout: float = 5.0) -> int | None:
        self._writer.close()
        try:
            return self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            return self.process.wait()

    # ----- receiving ------------------------------------------------------------------

    def wait_for_notification(
        self, method: str, predicate: Callable[[Any], bool] = lambda p: True, timeout: float = 60.0
    ) -> Any:
        def found() -> Message | None:
            return next((n for n in self.notifications if n.method == method and predicate(n.params)), None)

        with self._notified:
            if not self._notified.wait_for(lambda: found() is not None, timeout):
                raise TimeoutError(f"no {method} notification within {timeout} s")
            message = found()
            assert message is not None
            return message.params

    def _read_loop(self) -> None:
        while (body := self._reader.read_frame()) is not None:
            message = Message(body)
            if message.kind is Kind.RESPONSE:
                self._resolve(message)
            elif message.kind is Kind.REQUEST:
                self.server_requests.append(message)
                self._writer.write(response(message.id, self.on_server_request(message)).body)
            elif message.kind is Kind.NOTIFICATION:
                with self._notified:
                    self.notifications.append(message)
                    self._notified.notify_all()
        with self._lock:
            for future in self._pending.values():
                future.set_exception(ConnectionError("server closed the connection"))
            self._pending.clear()

    def _resolve(self, message: Message) -> None:
        with self._lock:
            future = self._pending.pop(message.id, None)
        if future is None:
            self.unmatched_responses.append(message)
            return
        error = message.obj.get("error")
        if error is not None:
            future.set_exception(LspError(error))
        else:
            future.set_result(message.obj.get("result"))


def _default_answer(message: Message) -> Any:
    if message.method == "workspace/configuration":
        items = (message.params or {}).get("items") or []
        return [None for _ in items]
    return None


_CLIENT_CAPABILITIES: dict[str, Any] = {
    "workspace": {
        "configuration": True,
        "workspaceFolders": True,
        "didChangeWatchedFiles": {"dynamicRegistration": True, "relativePatternSupport": True},
        "didChangeConfiguration": {"dynamicRegistration": True},
        "symbol": {"dynamicRegistration": False},
        "executeCommand": {"dynamicRegistration": False},
        "applyEdit": True,
        "workspaceEdit": {"documentChanges": True},
        "semanticTokens": {"refreshSupport": True},
        "inlayHint": {"refreshSupport": True},
    },
    "textDocument": {
        "synchronization": {"dynamicRegistration": True, "didSave": True},
        "hover": {"contentFormat": ["markdown", "plaintext"]},
        "completion": {"completionItem": {"snippetSupport": True}},
        "definition": {"linkSupport": True},
        "references": {},
        "documentSymbol": {"hierarchicalDocumentSymbolSupport": True},
        "publishDiagnostics": {"relatedInformation": True, "versionSupport": True},
        "rename": {"prepareSupport": True},
        "formatting": {},
        "codeAction": {
            "codeActionLiteralSupport": {
                "codeActionKind": {"valueSet": ["quickfix", "refactor", "source", "source.organizeImports"]}
            }
        },
        "semanticTokens": {
            "requests": {"full": True, "range": True},
            "tokenTypes": [
                "namespace",
                "type",
                "class",
                "enum",
                "interface",
                "struct",
                "typeParameter",
                "parameter",
                "variable",
                "property",
                "enumMember",
                "event",
                "function",
                "method",
                "macro",
                "keyword",
                "modifier",
                "comment",
                "string",
                "number",
                "regexp",
                "operator",
                "decorator",
            ],
            "tokenModifiers": [
                "declaration",
                "definition",
                "readonly",
                "static",
                "deprecated",
                "abstract",
                "async",
                "modification",
                "documentation",
                "defaultLibrary",
            ],
            "formats": ["relative"],
        },
        "inlayHint": {},
        "inlineCompletion": {},
    },
    "window": {"workDoneProgress": True, "showMessage": {}},
    "general": {"positionEncodings": ["utf-16"]},
}
