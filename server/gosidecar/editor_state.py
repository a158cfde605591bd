"""What the editor has told gopls, recorded so a new gopls can be told the same.

Observes the traffic through hooks on the proxy (it never changes a message): the
`initialize` params, workspace folders added or removed since, the latest
configuration, every open document with its latest text and version, the dynamic
registrations gopls made at the client, gopls's progress tokens still open and the
files gopls has published diagnostics for.
"""

from __future__ import annotations

import contextlib
import copy
import threading
from typing import Any

from .documents import DocumentStore
from .message import Kind, Message
from .proxy import Proxy, Side


class EditorState:
    def __init__(self, documents: DocumentStore) -> None:
        self.documents = documents
        self.initialize_params: dict[str, Any] | None = None
        self.initialized_params: dict[str, Any] = {}
        self.configuration_change: dict[str, Any] | None = None
        self._folders: dict[str, dict[str, Any]] = {}
        self._registrations: dict[str, dict[str, Any]] = {}
        self._open_progress: set[str | int] = set()
        self._diagnosed_uris: set[str] = set()
        self._lock = threading.Lock()

    def attach(self, proxy: Proxy) -> None:
        watch = proxy.intercept
        watch(Side.CLIENT, Kind.REQUEST, "initialize", self._observe(self._on_initialize))
        watch(Side.CLIENT, Kind.NOTIFICATION, "initialized", self._observe(self._on_initialized))
        watch(
            Side.CLIENT,
            Kind.NOTIFICATION,
            "textDocument/didOpen",
            self._observe_params(self.documents.did_open),
        )
        watch(
            Side.CLIENT,
            Kind.NOTIFICATION,
            "textDocument/didChange",
            self._observe_params(self.documents.did_change),
        )
        watch(
            Side.CLIENT,
            Kind.NOTIFICATION,
            "textDocument/didClose",
            self._observe_params(self.documents.did_close),
        )
        watch(
            Side.CLIENT,
            Kind.NOTIFICATION,
            "workspace/didChangeConfiguration",
            self._observe(self._on_configuration),
        )
        watch(
            Side.CLIENT,
            Kind.NOTIFICATION,
            "workspace/didChangeWorkspaceFolders",
            self._observe(self._on_folders),
        )
        watch(Side.GOPLS, Kind.REQUEST, "client/registerCapability", self._observe(self._on_register))
        watch(Side.GOPLS, Kind.REQUEST, "client/unregisterCapability", self._observe(self._on_unregister))
        watch(Side.GOPLS, Kind.NOTIFICATION, "$/progress", self._observe(self._on_progress))
        watch(
            Side.GOPLS,
            Kind.NOTIFICATION,
            "textDocument/publishDiagnostics",
            self._observe(self._on_diagnostics),
        )

    # ----- what replay reads ------------------------------------------------------------

    def replay_initialize_params(self) -> dict[str, Any]:
        """The original `initialize` params with today's workspace folders."""
        params = copy.deepcopy(self.initialize_params or {})
        with self._lock:
            if self._folders or "workspaceFolders" in params:
                params["workspaceFolders"] = list(self._folders.values())
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

    # ----- observers --------------------------------------------------------------------

    @staticmethod
    def _observe(handler: Any) -> Any:
        def hook(message: Message) -> Message:
            params = message.params
            if isinstance(params, dict):
                handler(params)
            return message

        return hook

    def _observe_params(self, handler: Any) -> Any:
        def apply(params: dict[str, Any]) -> None:
            # Malformed params: gopls will complain about them itself.
            with contextlib.suppress(KeyError, TypeError, ValueError):
                handler(params)

        return self._observe(apply)

    def _on_initialize(self, params: dict[str, Any]) -> None:
        self.initialize_params = params
        folders = params.get("workspaceFolders") or []
        with self._lock:
            self._folders = {f["uri"]: f for f in folders if isinstance(f, dict) and "uri" in f}

    def _on_initialized(self, params: dict[str, Any]) -> None:
        self.initialized_params = params

    def _on_configuration(self, params: dict[str, Any]) -> None:
        self.configuration_change = params

    def _on_folders(self, params: dict[str, Any]) -> None:
        event = params.get("event") or {}
        with self._lock:
            for folder in event.get("removed") or []:
                self._folders.pop(folder.get("uri"), None)
            for folder in event.get("added") or []:
                if isinstance(folder, dict) and "uri" in folder:
                    self._folders[folder["uri"]] = folder

    def _on_register(self, params: dict[str, Any]) -> None:
        with self._lock:
            for registration in params.get("registrations") or []:
                self._registrations[registration["id"]] = registration

    def _on_unregister(self, params: dict[str, Any]) -> None:
        # The LSP spelling of this field is "unregisterations".
        with self._lock:
            for unregistration in params.get("unregisterations") or []:
                self._registrations.pop(unregistration.get("id"), None)

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
