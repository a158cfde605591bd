"""The sidecar's own LSP methods, served by pygls on the event loop.

pygls sees only what the proxy hands it (the methods named in SIDECAR_METHODS, their
cancellations and the editor's answers to pygls's own requests); everything else never
touches it. Its output goes back through the proxy's client writer.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING, Any

from lsprotocol import types
from lsprotocol.types import ErrorCodes
from pygls.exceptions import JsonRpcException
from pygls.lsp.server import LanguageServer

from . import __version__
from .inline_completion import complete_inline
from .message import Kind, Message, error_response

if TYPE_CHECKING:
    from .sidecar import Sidecar

logger = logging.getLogger(__name__)

HEALTH = "goSidecar/health"
RESTART_GOPLS = "goSidecar/restartGopls"
INLINE_COMPLETION_ACCEPTED = "goSidecar/inlineCompletionAccepted"


class _ProxyWriter:
    """pygls's writer: frames go out through the proxy, which notes our request ids."""

    def __init__(self, sidecar: Sidecar) -> None:
        self._sidecar = sidecar

    def write(self, data: bytes) -> None:
        self._sidecar.proxy.send_to_client_from_sidecar(Message(data))

    def close(self) -> None:
        pass


class SidecarServer(LanguageServer):
    def __init__(self, sidecar: Sidecar, loop: asyncio.AbstractEventLoop) -> None:
        super().__init__("gosidecar", __version__)
        self.sidecar = sidecar
        self.loop = loop
        self.protocol.set_writer(_ProxyWriter(sidecar), include_headers=False)

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
            self.sidecar.proxy.send_to_client(error_response(message.id, error.code, error.message))
        except Exception as error:  # a bug in a handler must not take the proxy down
            logger.exception("sidecar handler for %s failed", message.method)
            if message.id is not None:
                self.sidecar.proxy.send_to_client(error_response(message.id, ErrorCodes.InternalError, str(error)))


def build_server(sidecar: Sidecar, loop: asyncio.AbstractEventLoop) -> SidecarServer:
    server = SidecarServer(sidecar, loop)

    @server.feature(HEALTH)
    def health(ls: SidecarServer, params: Any) -> dict[str, Any]:
        return ls.sidecar.health_report()

    @server.feature(types.TEXT_DOCUMENT_INLINE_COMPLETION)
    async def inline_completion(
        ls: SidecarServer, params: types.InlineCompletionParams
    ) -> types.InlineCompletionList | None:
        return await complete_inline(ls.sidecar.completion, ls.sidecar.documents, params)

    @server.feature(INLINE_COMPLETION_ACCEPTED)
    def inline_completion_accepted(ls: SidecarServer, params: Any) -> None:
        ls.sidecar.history.record_accepted()

    @server.feature(RESTART_GOPLS)
    async def restart_gopls(ls: SidecarServer, params: Any) -> None:
        await asyncio.wrap_future(ls.sidecar.supervisor.request_restart("manual"))

    return server
