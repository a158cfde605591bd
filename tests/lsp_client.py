"""The tests' and benchmarks' LSP client: the product's one (gosidecar.lsp_client), plus
an editor's full capabilities, a record of everything the server sent, and raw bytes out.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from gosidecar import lsp_client
from gosidecar.lsp_client import LspError, default_answer
from gosidecar.message import Kind, Message

__all__ = ["LspClient", "LspError"]

ServerRequestHandler = Callable[[Message], Any]


# What VS Code announces, in the parts gopls and the sidecar look at.
EDITOR_CAPABILITIES: dict[str, Any] = {
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


class LspClient(lsp_client.LspClient):
    capabilities = EDITOR_CAPABILITIES

    def __init__(
        self,
        command: Sequence[str],
        env: Mapping[str, str] | None = None,
        cwd: str | None = None,
        stderr: int | None = None,
    ) -> None:
        # Set before the base class starts its reader thread, which fills them.
        self.notifications: list[Message] = []
        self.unmatched_responses: list[Message] = []
        self.server_requests: list[Message] = []
        self._notified = threading.Condition()
        self.on_server_request: ServerRequestHandler = default_answer
        super().__init__(command, env, cwd, stderr)

    def send_raw(self, data: bytes) -> None:
        """Bytes as they are, for tests that send malformed frames."""
        self._writer.write_raw(data)

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

    def received(self, message: Message) -> None:
        if message.kind is Kind.RESPONSE:
            self.unmatched_responses.append(message)
        elif message.kind is Kind.REQUEST:
            self.server_requests.append(message)
            self.answer(message, self.on_server_request(message))
        elif message.kind is Kind.NOTIFICATION:
            with self._notified:
                self.notifications.append(message)
                self._notified.notify_all()
