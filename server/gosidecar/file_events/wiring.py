"""Connects a `FileEventService` to the proxy.

- gopls's `client/registerCapability` / `client/unregisterCapability`: the
  `workspace/didChangeWatchedFiles` entries go to the service; the rest still reaches
  the editor. When nothing is left the sidecar answers gopls itself (`null`).
- The editor's `initialize` (`announce_watching`, a step of the sidecar's `initialize`
  pipeline): the sidecar announces dynamic registration and relative patterns for
  watched files, so gopls registers with it whatever the editor supports.
- The editor's own `workspace/didChangeWatchedFiles` goes through the service's
  de-duplication instead of straight to gopls.
- The workspace folders (kept by the editor state, which this subscribes to), gopls's
  `directoryFilters` (from the editor's answer to `workspace/configuration`) and the end
  of a gopls process update the service.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any, Protocol

from lsprotocol import types

from gosidecar.file_events.lsp import file_path
from gosidecar.file_events.service import FileEventService, SendToGopls
from gosidecar.lsp_schema import read
from gosidecar.message import Kind, Message
from gosidecar.proxy import MessageHook, ResponseHook, Side
from gosidecar.settings import gopls_settings_answers

WATCHED_FILES = "workspace/didChangeWatchedFiles"


class ProxyHooks(Protocol):
    """The part of `gosidecar.proxy.Proxy` this module uses."""

    def intercept(self, side: Side, kind: Kind, method: str, hook: MessageHook) -> None: ...

    def intercept_response(self, side: Side, request_method: str, hook: ResponseHook) -> None: ...

    def on_gopls_request(self, method: str, hook: MessageHook) -> None: ...

    def on_client_notification(self, method: str, hook: MessageHook) -> None: ...

    def on_gopls_exit(self, listener: Callable[[int], None]) -> None: ...

    def notify_gopls(self, method: str, params: Any, *, bypass_backlog: bool = False) -> None: ...

    def reply_to_gopls(self, msg_id: int | str, result: Any) -> None: ...


class WorkspaceFolderSource(Protocol):
    """The part of `gosidecar.editor_state.WorkspaceFolders` this module uses."""

    def subscribe(self, listener: Callable[[list[str]], None]) -> None: ...


def gopls_sender(proxy: ProxyHooks) -> SendToGopls:
    """What the service calls with each batch."""
    return lambda changes: proxy.notify_gopls(WATCHED_FILES, {"changes": changes})


def folder_paths(uris: list[str]) -> list[str]:
    """The local paths of workspace folder URIs (others cannot be watched)."""
    return [path for uri in uris if (path := file_path(uri)) is not None]


def attach(proxy: ProxyHooks, service: FileEventService, folders: WorkspaceFolderSource) -> FileEventWiring:
    """Hook the service to the proxy; the caller runs `announce_watching` on `initialize`."""
    wiring = FileEventWiring(proxy, service)
    wiring.attach()
    folders.subscribe(lambda uris: service.set_workspace_folders(folder_paths(uris)))
    return wiring


class FileEventWiring:
    def __init__(self, proxy: ProxyHooks, service: FileEventService) -> None:
        self._proxy = proxy
        self._service = service

    def attach(self) -> None:
        proxy = self._proxy
        proxy.on_gopls_request("client/registerCapability", self._take_registrations)
        proxy.on_gopls_request("client/unregisterCapability", self._take_unregistrations)
        proxy.on_client_notification(WATCHED_FILES, self._take_client_changes)
        proxy.intercept_response(Side.CLIENT, "workspace/configuration", self._read_gopls_config)
        proxy.on_gopls_exit(lambda generation: self._service.reset())

    @staticmethod
    def announce_watching(message: Message) -> Message:
        """The editor's `initialize` with watched files announced (shapes checked before)."""
        params = copy.deepcopy(message.params)
        capabilities = params["capabilities"]
        workspace = capabilities.get("workspace") or {}
        capabilities["workspace"] = workspace
        workspace[WATCHED_FILES.split("/")[1]] = {
            "dynamicRegistration": True,
            "relativePatternSupport": True,
        }
        return Message.from_obj({**message.obj, "params": params})

    def _take_registrations(self, message: Message) -> Message | None:
        return self._split(message, "registrations", self._register)

    def _take_unregistrations(self, message: Message) -> Message | None:
        # The LSP spells this field "unregisterations".
        return self._split(message, "unregisterations", self._unregister)

    def _register(self, entry: dict[str, Any]) -> None:
        options = entry.get("registerOptions")
        self._service.on_register(str(entry.get("id")), options if isinstance(options, dict) else {})

    def _unregister(self, entry: dict[str, Any]) -> None:
        self._service.on_unregister(str(entry.get("id")))

    def _split(self, message: Message, field: str, take: Callable[[dict[str, Any]], None]) -> Message | None:
        params = message.params
        entries = params.get(field) if isinstance(params, dict) else None
        if not isinstance(entries, list):
            return message
        ours = [e for e in entries if isinstance(e, dict) and e.get("method") == WATCHED_FILES]
        if not ours:
            return message
        for entry in ours:
            take(entry)
        rest = [e for e in entries if e not in ours]
        if rest:
            return Message.from_obj({**message.obj, "params": {**params, field: rest}})
        if message.id is not None:
            self._proxy.reply_to_gopls(message.id, None)
        return None

    def _take_client_changes(self, message: Message) -> None:
        read(types.DidChangeWatchedFilesParams, message.params)
        self._service.on_client_changes(message.params["changes"])

    def _read_gopls_config(self, request: Message, reply: Message) -> Message:
        for answer in gopls_settings_answers(request.params, reply.obj.get("result")):
            if isinstance(answer.settings, dict):
                self._service.set_gopls_settings(answer.settings)
        return reply
