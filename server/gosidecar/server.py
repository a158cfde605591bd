"""The sidecar's own LSP methods, served by pygls on the event loop.

pygls sees only what the proxy hands it (the methods registered here, their cancellations
and the editor's answers to pygls's own requests); everything else never touches it. Its
output goes back through the proxy's client writer. The handlers get `SidecarServices`,
a few narrow callables, not the assembled sidecar: this module imports nothing above it.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Any

from lsprotocol import types
from lsprotocol.types import ErrorCodes
from pygls.exceptions import JsonRpcException
from pygls.lsp.server import LanguageServer

from . import __version__
from .message import Kind, Message, error_response

logger = logging.getLogger(__name__)

HEALTH = "goSidecar/health"
RESTART_GOPLS = "goSidecar/restartGopls"
INLINE_COMPLETION_ACCEPTED = "goSidecar/inlineCompletionAccepted"


@dataclass(frozen=True)
class SidecarServices:
    """What the sidecar's own methods need from the rest of the sidecar."""

    health_report: Callable[[], dict[str, Any]]
    complete_inline: Callable[[types.InlineCompletionParams], Awaitable[types.InlineCompletionList | None]]
    record_accepted: Callable[[], None]
    restart_gopls: Callable[[], Future[None]]
    send_to_client: Callable[[Message], None]
    """A message the proxy passes on as it is (error answers)."""
    send_from_server: Callable[[Message], None]
    """pygls's own output: the proxy notes its request ids so the answers come back here."""


class _ProxyWriter:
    """pygls's writer: frames go out through the proxy."""

    def __init__(self, send: Callable[[Message], None]) -> None:
        self._send = send

    def write(self, data: bytes) -> None:
        self._send(Message(data))

    def close(self) -> None:
        pass


class SidecarServer(LanguageServer):
    def __init__(self, services: SidecarServices, loop: asyncio.AbstractEventLoop) -> None:
        super().__init__("gosidecar", __version__)
        self.services = services
        self.loop = loop
        self.protocol.set_writer(_ProxyWriter(services.send_from_server), include_headers=False)

    @property
    def methods(self) -> frozenset[str]:
        """The methods registered with pygls: what the proxy must hand to this server."""
        return frozenset(self.protocol.fm.features)

    def dispatch(self, message: Message) -> None:
        """Hand a message to pygls; called from the client reader thread."""
        self.loop.call_soon_threadsafe(self._handle, message)

    def _handle(self, message: Message) -> None:
        obj = message.obj
        if message.kind is Kind.REQUEST and "params" not in obj:
            obj = {**obj, "params": None}  # optional in JSON-RPC, required by pygls's types
        try:
            self.protocol.handle_message(self.protocol.structure_message(obj))
        except JsonRpcException as error:
            self.services.send_to_client(error_response(message.id, error.code, error.message))
        except Exception as error:  # a bug in a handler must not take the proxy down
            logger.exception("sidecar handler for %s failed", message.method)
            if message.id is not None:
                self.services.send_to_client(error_response(message.id, ErrorCodes.InternalError, str(error)))


def build_server(services: SidecarServices, loop: asyncio.AbstractEventLoop) -> SidecarServer:
    server = SidecarServer(services, loop)

    @server.feature(HEALTH)
    def health(ls: SidecarServer, params: Any) -> dict[str, Any]:
        return services.health_report()

    @server.feature(types.TEXT_DOCUMENT_INLINE_COMPLETION)
    async def inline_completion(
        ls: SidecarServer, params: types.InlineCompletionParams
    ) -> types.InlineCompletionList | None:
        return await services.complete_inline(params)

    @server.feature(INLINE_COMPLETION_ACCEPTED)
    def inline_completion_accepted(ls: SidecarServer, params: Any) -> None:
        services.record_accepted()

    @server.feature(RESTART_GOPLS)
    async def restart_gopls(ls: SidecarServer, params: Any) -> None:
        await asyncio.wrap_future(services.restart_gopls())

    return server
