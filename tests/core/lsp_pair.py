"""Two editors side by side: one talks to gopls directly, one through the sidecar."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from gosidecar.documents import position_at
from gosidecar.message import Message
from gosidecar.uris import path_to_uri
from tests.lsp_client import LspClient
from tests.support import sidecar_command


class LspPair:
    def __init__(self, direct: LspClient, sidecar: LspClient, root: Path) -> None:
        self.direct = direct
        self.sidecar = sidecar
        self.root = root

    @property
    def both(self) -> tuple[LspClient, LspClient]:
        return self.direct, self.sidecar

    def open(self, relative: str, unsaved_text: str | None = None) -> str:
        """Open a file as it is on disk, or as an editor buffer with `unsaved_text`."""
        path = self.root / relative
        uri = path_to_uri(path)
        text = path.read_text() if unsaved_text is None else unsaved_text
        item = {"uri": uri, "languageId": "go", "version": 1, "text": text}
        for client in self.both:
            client.notify("textDocument/didOpen", {"textDocument": item})
        return uri

    def request_both(self, method: str, params: Any, timeout: float = 60.0) -> tuple[Any, Any]:
        futures = [client.request_async(method, params) for client in self.both]
        direct, sidecar = (future.result(timeout) for future in futures)
        return direct, sidecar

    def position_of(self, relative: str, needle: str, offset_in_needle: int = 0) -> dict[str, int]:
        text = (self.root / relative).read_text()
        index = text.index(needle) + offset_in_needle
        line, character = position_at(text, index)
        return {"line": line, "character": character}


GOPLS_SETTINGS = {"semanticTokens": True, "hints": {"parameterNames": True, "assignVariableTypes": True}}


def _editor_answer(message: Message) -> Any:
    """What VS Code with a few gopls settings on would answer gopls."""
    if message.method == "workspace/configuration":
        items = (message.params or {}).get("items") or []
        return [GOPLS_SETTINGS if item.get("section") == "gopls" else None for item in items]
    return None


@contextmanager
def lsp_pair(gopls: str, root: Path, sidecar_options: dict[str, Any] | None = None) -> Iterator[LspPair]:
    """`sidecar_options`: the sidecar's initialization options (its settings); the direct
    gopls gets none, as from VS Code's Go extension."""
    direct = LspClient([gopls, "serve"], cwd=str(root))
    sidecar = LspClient(sidecar_command(), cwd=str(root))
    try:
        for client, options in ((direct, None), (sidecar, sidecar_options)):
            client.on_server_request = _editor_answer
            client.initialize(path_to_uri(root), options)
        for client in (direct, sidecar):
            client.request("workspace/symbol", {"query": ""}, timeout=120)  # waits for the load
        yield LspPair(direct, sidecar, root)
    finally:
        for client in (direct, sidecar):
            client.shutdown()
