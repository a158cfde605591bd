"""What the editor has told gopls, recorded so a new gopls can be told the same.

Observes the traffic through hooks on the proxy: the `initialize` params (recorded by
a step of the sidecar's `initialize` pipeline, after the sidecar's own changes to them),
the workspace folders (kept here once: the file-event service subscribes to them), the
latest configuration, every open document with its latest text and version, the dynamic
registrations gopls made at the client, gopls's progress tokens still open and the files
gopls has published diagnostics for.

What it records is exactly what gopls is told: an editor notification whose shape it
cannot read is refused (`Rejected`: dropped, never forwarded), and document
notifications go on as the mirror applied them (see documents.py). gopls's own messages
are only read: a shape it does not expect is passed on unrecorded.
"""

from __future__ import annotations

import copy
import threading
from collections.abc import Callable
from typing import Any
from urllib.parse import unquote, urlparse

from lsprotocol import types

from .documents import DocumentStore
from .lsp_schema import read
from .message import Kind, Message
from .proxy import Proxy, Side

ParamsHandler = Callable[[dict[str, Any]], None]
FoldersListener = Callable[[list[str]], None]
"""Called with the workspace folders' URIs after they changed."""


class WorkspaceFolders:
    """The editor's workspace folders as gopls counts them: `initialize`'s
    `workspaceFolders`, else its `rootUri` as the one folder; then each
    `workspace/didChangeWorkspaceFolders`. Replay and the file events read them here."""

    def __init__(self) -> None:
        self._folders: dict[str, dict[str, Any]] = {}
        self._listeners: list[FoldersListener] = []
        self._lock = threading.Lock()

    def subscribe(self, listener: FoldersListener) -> None:
        self._listeners.append(listener)

    def uris(self) -> list[str]:
        with self._lock:
            return list(self._folders)

    def as_params(self) -> list[dict[str, Any]]:
        """The folders as `initialize`'s `workspaceFolders`."""
        with self._lock:
            return [dict(folder) for folder in self._folders.values()]

    def start(self, initialize_params: dict[str, Any]) -> None:
        folders = [f for f in initialize_params.get("workspaceFolders") or [] if _is_folder(f)]
        root = initialize_params.get("rootUri")
        if not folders and isinstance(root, str):
            # gopls's own rule: the root is one folder, named by its last path element.
            folders = [{"uri": root, "name": unquote(urlparse(root).path.rstrip("/")).rsplit("/", 1)[-1]}]
        with self._lock:
            self._folders = {f["uri"]: {"uri": f["uri"], "name": f.get("name", "")} for f in folders}
        self._changed()

    def change(self, event: types.WorkspaceFoldersChangeEvent) -> None:
        with self._lock:
            for folder in event.removed:
                self._folders.pop(folder.uri, None)
            for folder in event.added:
                self._folders[folder.uri] = {"uri": folder.uri, "name": folder.name}
        self._changed()

    def _changed(self) -> None:
        uris = self.uris()
        for listener in self._listeners:
            listener(uris)


def _is_folder(value: object) -> bool:
    return isinstance(value, dict) and isinstance(value.get("uri"), str)


class EditorState:
    def __init__(self, documents: DocumentStore) -> None:
        self.documents = documents
        self.initialize_params: dict[str, Any] | None = None
        self.initialized_params: dict[str, Any] = {}
        self.configuration_change: dict[str, Any] | None = None
        self.folders = WorkspaceFolders()
        self._registrations: dict[str, dict[str, Any]] = {}
        self._open_progress: set[str | int] = set()
        self._diagnosed_uris: set[str] = set()
        self._lock = threading.Lock()

    def attach(self, proxy: Proxy) -> None:
        client = proxy.on_client_notification
        client("initialized", self._on_initialized)
        client("textDocument/didOpen", self._on_did_open)
        client("textDocument/didChange", self._on_did_change)
        client("textDocument/didClose", self._on_did_close)
        client("workspace/didChangeConfiguration", self._on_configuration)
        client("workspace/didChangeWorkspaceFolders", self._on_folders)
        watch = proxy.intercept
        watch(Side.GOPLS, Kind.REQUEST, "client/registerCapability", self._observe(self._on_register))
        watch(Side.GOPLS, Kind.REQUEST, "client/unregisterCapability", self._observe(self._on_unregister))
        watch(Side.GOPLS, Kind.NOTIFICATION, "$/progress", self._observe(self._on_progress))
        watch(Side.GOPLS, Kind.NOTIFICATION, "textDocument/publishDiagnostics", self._observe(self._on_diagnostics))

    # ----- what replay reads ------------------------------------------------------------

    def record_initialize(self, message: Message) -> Message:
        """A step of the `initialize` pipeline: what gopls gets is what a new gopls will get
        (its shapes were checked by an earlier step)."""
        self.initialize_params = message.params
        self.folders.start(message.params)
        return message

    def replay_initialize_params(self) -> dict[str, Any]:
        """The original `initialize` params with today's workspace folders."""
        params = copy.deepcopy(self.initialize_params or {})
        folders = self.folders.as_params()
        if folders or "workspaceFolders" in params:
            params["workspaceFolders"] = folders
        return params

    def take_registrations(self) -> list[dict[str, Any]]:
        """gopls's registrations at the client; cleared, since the new gopls makes its own."""
        with self._lock:
            registrations = list(self._registrations.values())
            self._registrations.clear()
        return registrations

    def take_open_progress(self) -> list[str | int]:
        with self._lock:
            tokens = list(self._open_progress)
            self._open_progress.clear()
        return tokens

    def take_closed_diagnosed_uris(self) -> list[str]:
        """Files with diagnostics from the old gopls that are not open in the editor."""
        open_uris = {doc.uri for doc in self.documents.all()}
        with self._lock:
            closed = [uri for uri in self._diagnosed_uris if uri not in open_uris]
            self._diagnosed_uris.clear()
        return closed

    # ----- the editor's notifications (read strictly) ------------------------------------

    @staticmethod
    def _forward(message: Message, params: dict[str, Any] | None) -> Message | None:
        """`params` as what gopls gets in place of the editor's own; None: nothing goes on."""
        if params is None:
            return None
        return Message.from_obj({"jsonrpc": "2.0", "method": message.method, "params": params})

    def _on_did_open(self, message: Message) -> Message | None:
        return self._forward(message, self.documents.did_open(message.params))

    def _on_did_change(self, message: Message) -> Message | None:
        return self._forward(message, self.documents.did_change(message.params))

    def _on_did_close(self, message: Message) -> Message | None:
        return self._forward(message, self.documents.did_close(message.params))

    def _on_initialized(self, message: Message) -> Message:
        # gopls reads `null` as empty params; anything else must be an object.
        params = message.params if message.params is not None else {}
        read(types.InitializedParams, params)
        self.initialized_params = params
        return message

    def _on_configuration(self, message: Message) -> Message:
        read(types.DidChangeConfigurationParams, message.params)
        self.configuration_change = message.params
        return message

    def _on_folders(self, message: Message) -> Message:
        # Read strictly: a folder list the sidecar cannot read never reaches gopls either.
        self.folders.change(read(types.DidChangeWorkspaceFoldersParams, message.params).event)
        return message

    # ----- observers of gopls's messages ---------------------------------------------------

    @staticmethod
    def _observe(handler: ParamsHandler) -> Callable[[Message], Message]:
        def hook(message: Message) -> Message:
            params = message.params
            if isinstance(params, dict):
                handler(params)
            return message

        return hook

    def _on_register(self, params: dict[str, Any]) -> None:
        with self._lock:
            for registration in _entries(params, "registrations"):
                self._registrations[registration["id"]] = registration

    def _on_unregister(self, params: dict[str, Any]) -> None:
        # The LSP spelling of this field is "unregisterations".
        with self._lock:
            for unregistration in _entries(params, "unregisterations"):
                self._registrations.pop(unregistration["id"], None)

    def _on_progress(self, params: dict[str, Any]) -> None:
        token, value = params.get("token"), params.get("value")
        if not isinstance(value, dict) or not isinstance(token, (str, int)):
            return
        with self._lock:
            if value.get("kind") == "begin":
                self._open_progress.add(token)
            elif value.get("kind") == "end":
                self._open_progress.discard(token)

    def _on_diagnostics(self, params: dict[str, Any]) -> None:
        uri = params.get("uri")
        if not isinstance(uri, str):
            return
        with self._lock:
            if params.get("diagnostics"):
                self._diagnosed_uris.add(uri)
            else:
                self._diagnosed_uris.discard(uri)


def _entries(params: dict[str, Any], field: str) -> list[dict[str, Any]]:
    """The well-formed entries (a string id and method) of a (un)registration list."""
    entries = params.get(field)
    if not isinstance(entries, list):
        return []
    return [
        e for e in entries if isinstance(e, dict) and isinstance(e.get("id"), str) and isinstance(e.get("method"), str)
    ]
