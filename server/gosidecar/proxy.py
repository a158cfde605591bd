"""The message router between the editor (client), gopls and the sidecar's own features.

Two blocking reader threads, one per side, do read → route → write with no event-loop
hop; that is the whole hot path. Everything passes through as the bytes that arrived
except what a hook takes: hooks are registered per (side, kind, method) by the parts of
the sidecar that need to see or change a message (state tracking for replay, watched
files, the memory limit in gopls's configuration). The sidecar's own methods are handed
to the pygls server on the event loop, so forwarding never waits on them.

What depends on which gopls is running (the process, the backlog while one is being
replaced, the requests to and from gopls not answered yet) lives in `gopls_link.GoplsLink`,
which the supervisor drives through a restart. Each direction has one table of
outstanding requests (`outstanding.py`); the two between the editor and the sidecar are
here (pygls keeps the futures; these tables say where an answer or a cancel goes).
"""

from __future__ import annotations

import enum
import itertools
import logging
import secrets
import threading
from collections.abc import Callable, Iterable
from concurrent.futures import Future
from typing import Any

from lsprotocol.types import ErrorCodes, LSPErrorCodes

from .framing import FrameReader, FrameWriter, Sink, Streamed
from .gopls_link import GoplsLink, GoplsRequest, editor_id
from .gopls_process import GoplsProcess
from .lsp_schema import kind_mismatch
from .message import (
    Kind,
    Message,
    MessageId,
    Rejected,
    error_response,
    is_response_head,
    notification,
    request,
)
from .outstanding import OutstandingRequests
from .trace import Tracer

logger = logging.getLogger(__name__)

MessageHook = Callable[[Message], Message | None]
ResponseHook = Callable[[Message, Message], Message | None]
SidecarDispatch = Callable[[Message], None]


class Side(enum.Enum):
    CLIENT = "client"
    GOPLS = "gopls"


class Proxy:
    def __init__(self, client_reader: FrameReader, client_writer: FrameWriter) -> None:
        self._client_reader = client_reader
        self._client_writer = client_writer
        # Re-entrant: gopls's first start runs inside the editor's `initialize`, under it.
        self._client_lock = threading.RLock()
        self._link = GoplsLink(self._client_lock, self._pump_gopls, self._reject)
        self._link.before_write = self._trace_to_gopls
        self._message_hooks: dict[tuple[Side, Kind, str], list[MessageHook]] = {}
        self._response_hooks: dict[tuple[Side, str], list[ResponseHook]] = {}
        self._sidecar_methods: set[str] = set()
        self._sidecar_dispatch: SidecarDispatch = lambda message: None
        # The tables to and from gopls belong to the link: a restart settles them.
        self._client_requests = self._link.in_flight
        self._gopls_requests = self._link.gopls_requests
        self._own_requests = self._link.own_requests
        self._to_editor: OutstandingRequests[MessageId, Message] = OutstandingRequests("sidecar->editor")
        self._to_sidecar: OutstandingRequests[MessageId, Message] = OutstandingRequests("editor->sidecar")
        self._own_ids = itertools.count(1)
        # The sidecar's own request ids carry an unguessable prefix (gopls alone sees
        # them), so no id the editor picks can pass for one of ours at gopls.
        self._own_prefix = f"gosidecar-{secrets.token_hex(8)}-"
        self.tracer: Tracer | None = None

    # ----- registration -------------------------------------------------------------

    def intercept(self, side: Side, kind: Kind, method: str, hook: MessageHook) -> None:
        """Run `hook` on messages of `kind`/`method` coming from `side`, before forwarding.

        The hook returns the message to forward (the same one or a replacement) or None
        to consume it. Hooks run on the reader thread of that side: keep them quick.
        """
        self._message_hooks.setdefault((side, kind, method), []).append(hook)

    def intercept_response(self, side: Side, request_method: str, hook: ResponseHook) -> None:
        """Run `hook(request, response)` on responses coming from `side` to `request_method`."""
        self._response_hooks.setdefault((side, request_method), []).append(hook)

    def on_gopls_request(self, method: str, hook: MessageHook) -> None:
        self.intercept(Side.GOPLS, Kind.REQUEST, method, hook)

    def on_client_notification(self, method: str, hook: MessageHook) -> None:
        self.intercept(Side.CLIENT, Kind.NOTIFICATION, method, hook)

    def serve_on_sidecar(self, methods: Iterable[str], dispatch: SidecarDispatch) -> None:
        """Client requests and notifications for `methods` go to `dispatch`, not gopls."""
        self._sidecar_methods.update(methods)
        self._sidecar_dispatch = dispatch

    # ----- the sidecar's own traffic ------------------------------------------------

    def send_to_client_from_sidecar(self, message: Message) -> None:
        """Called by the pygls writer: remember our request ids so the answers come back to us."""
        if message.kind is Kind.REQUEST and message.id is not None:
            self._to_editor.add(message.id, message)
        elif message.kind is Kind.RESPONSE:
            self._to_sidecar.take(message.id)
        self._write_client(message)

    def send_to_client(self, message: Message) -> None:
        self._write_client(message)

    def notify_client(self, method: str, params: Any) -> None:
        self._write_client(notification(method, params))

    def notify_gopls(self, method: str, params: Any, *, bypass_backlog: bool = False) -> None:
        message = notification(method, params)
        if bypass_backlog:
            self._link.write_now(message)
        else:
            self._send_to_gopls(message)

    def reply_to_gopls(self, msg_id: MessageId, result: Any) -> None:
        self._gopls_requests.take(editor_id(self._link.generation, msg_id))
        self._send_to_gopls(Message.from_obj({"jsonrpc": "2.0", "id": msg_id, "result": result}))

    def request_gopls(self, method: str, params: Any, *, bypass_backlog: bool = False) -> Future[Any]:
        """Send our own request to gopls; ids are strings that cannot collide with the editor's."""
        msg_id = f"{self._own_prefix}{next(self._own_ids)}"
        future: Future[Any] = Future()
        self._own_requests.add(msg_id, future)
        message = request(msg_id, method, params)
        if bypass_backlog:
            self._link.write_now(message)
        else:
            self._send_to_gopls(message)
        return future

    def cancel_gopls_request(self, future: Future[Any]) -> None:
        """Give up our own request: gopls is told to stop, and its answer will be dropped."""
        for msg_id in self._own_requests.cancel(future):
            self.notify_gopls("$/cancelRequest", {"id": msg_id})
        future.cancel()

    def _take_own(self, msg_id: MessageId | None) -> Future[Any] | None:
        """The future of our own request to gopls `msg_id`, if it is one (a table lookup)."""
        if not isinstance(msg_id, str) or not msg_id.startswith(self._own_prefix):
            return None
        return self._own_requests.take(msg_id)

    # ----- gopls lifecycle ------------------------------------------------------------

    @property
    def link(self) -> GoplsLink:
        """The current gopls, driven through restarts by the supervisor."""
        return self._link

    def on_gopls_exit(self, listener: Callable[[int], None]) -> None:
        """`listener(generation)` runs when a gopls is retired (it died or is being replaced)."""
        self._link.on_retired(listener)

    # ----- the client side ------------------------------------------------------------

    def run_client_pump(self) -> None:
        """Read the editor's messages until its stream ends (runs on its own thread)."""
        try:
            while (body := self._client_reader.read_frame()) is not None:
                if self.tracer is not None:
                    self.tracer.record("client->sidecar", body)
                # The editor's messages are parsed in full: gopls drops its connection on
                # a message it cannot decode, so nothing malformed may reach it.
                message = Message.parsed(body)
                with self._client_lock:
                    self._guarded(Side.CLIENT, message, self._route_from_client)
        except Exception:
            logger.exception("client reader failed")

    def _guarded(self, side: Side, message: Message, route: Callable[[Message], None]) -> None:
        """Route one message from `side`; whatever goes wrong stays with that message.

        A hook's `Rejected` or a bug in routing never ends the reader: a request is
        answered with an error (to the side that sent it), anything else is dropped.
        """
        try:
            route(message)
        except Rejected as rejection:
            logger.warning("refused %r from %s: %s", message, side.value, rejection)
            self._refuse(side, message, rejection.code, str(rejection))
        except Exception as error:
            logger.exception("failed to route %r from %s", message, side.value)
            self._refuse(side, message, ErrorCodes.InternalError, f"the sidecar failed on this message: {error!r}")

    def _refuse(self, side: Side, message: Message, code: int, reason: str) -> None:
        if message.kind is not Kind.REQUEST or message.id is None:
            return
        answer = error_response(message.id, code, reason)
        if side is Side.CLIENT:
            self._write_client(answer)
        else:
            self._gopls_requests.take(editor_id(self._link.generation, message.id))
            self._send_to_gopls(answer)

    def _route_from_client(self, message: Message) -> None:
        if message.kind is Kind.INVALID:
            self._reject_invalid(message)
            return
        if message.kind is Kind.RESPONSE:
            self._route_client_response(message)
            return
        mismatch = kind_mismatch(message)
        if mismatch is not None:
            raise Rejected(mismatch, ErrorCodes.InvalidRequest)
        method = message.method or ""
        if method in self._sidecar_methods or self._is_cancel_for_sidecar(message):
            if message.kind is Kind.REQUEST and message.id is not None:
                self._to_sidecar.add(message.id, message)
            self._sidecar_dispatch(message)
            return
        routed = self._run_hooks(Side.CLIENT, message)
        if routed is None:
            return
        self._send_to_gopls(routed)  # the link records requests as in flight once written

    def _is_cancel_for_sidecar(self, message: Message) -> bool:
        if message.method != "$/cancelRequest" or not self._to_sidecar:
            return False
        params = message.params
        return isinstance(params, dict) and params.get("id") in self._to_sidecar

    def _route_client_response(self, message: Message) -> None:
        if self._to_editor.take(message.id) is not None:
            self._sidecar_dispatch(message)
            return
        pending = self._gopls_requests.take(message.id)
        if pending is None or pending.generation != self._link.generation:
            logger.debug("dropping the client's answer to %r: its gopls is gone", message.id)
            return
        gopls_request = pending.message
        message = _with_id(message, gopls_request.id)
        try:
            for hook in self._response_hooks.get((Side.CLIENT, gopls_request.method or ""), ()):
                routed = hook(gopls_request, message)
                if routed is None:
                    return
                message = routed
        except Exception as error:
            # gopls waits for this answer: it gets an error rather than silence.
            logger.exception("failed on the client's answer to gopls's %s", gopls_request.method)
            message = error_response(gopls_request.id, ErrorCodes.InternalError, f"malformed answer: {error!r}")
        self._send_to_gopls(message)

    def _send_to_gopls(self, message: Message) -> None:
        self._link.send(message)

    def _trace_to_gopls(self, message: Message) -> None:
        if self.tracer is not None:
            self.tracer.record("sidecar->gopls", message.body)

    def _reject(self, message: Message, reason: str) -> None:
        """No gopls: answer requests with an error at once (never a hang); drop the rest."""
        if message.kind is Kind.REQUEST and message.id is not None:
            if message.id in self._own_requests:
                self._fail_own(str(message.id), reason)
            else:
                self._write_client(error_response(message.id, LSPErrorCodes.RequestFailed, reason))

    def _reject_invalid(self, message: Message) -> None:
        """Answer what JSON-RPC answers (id null when the id itself is unreadable); an
        unreadable answer to one of gopls's requests is dropped, there is no one to tell."""
        logger.warning("dropping a malformed message from the client (%s): %.200r", message.problem, message.body)
        obj = message.obj
        if "method" not in obj and ("result" in obj or "error" in obj):
            return
        code = ErrorCodes.ParseError if message.unparsable else ErrorCodes.InvalidRequest
        self._write_client(error_response(message.id, code, f"malformed JSON-RPC message: {message.problem}"))

    # ----- the gopls side -------------------------------------------------------------

    def _pump_gopls(self, process: GoplsProcess, generation: int) -> None:
        def divert(head: bytes, length: int) -> Sink | None:
            return self._divert_large_answer(head, length, generation)

        try:
            while (frame := process.reader.read_frame(divert)) is not None:
                if isinstance(frame, Streamed):
                    continue  # passed on by the link, which also settled its request
                if self.tracer is not None:
                    self.tracer.record("gopls->sidecar", frame)
                self._guarded(Side.GOPLS, Message(frame), lambda message: self._route_from_gopls(message, generation))
        except Exception:
            logger.exception("gopls reader failed")

    def _divert_large_answer(self, head: bytes, length: int, generation: int) -> Sink | None:
        """A multi-megabyte answer to the editor goes through as it arrives.

        Safe because nothing reads such answers on the way: the only response hook on
        this side is for `initialize` (a few KB), the sidecar's own requests to gopls are
        not in flight (checked), and tracing wants whole bodies (it turns this off).
        """
        if generation != self._link.generation or self._own_requests or self.tracer is not None:
            return None
        if not is_response_head(head):
            return None
        return self._link.pass_answer(generation, self._client_writer.stream(length))

    def _route_from_gopls(self, message: Message, generation: int) -> None:
        if message.kind is Kind.INVALID:
            logger.warning("dropping a malformed message from gopls: %.200r", message.body)
            return
        if generation != self._link.generation:
            return  # a replaced gopls's last words
        if message.kind is Kind.RESPONSE:
            self._route_gopls_response(message)
            return
        routed = self._run_hooks(Side.GOPLS, message)
        if routed is None:
            return
        if routed.kind is Kind.REQUEST and routed.id is not None:
            routed = self._track_gopls_request(routed, generation)
        self._write_client(routed)

    def _route_gopls_response(self, message: Message) -> None:
        msg_id = message.id
        own = self._take_own(msg_id)
        if own is not None:
            self._resolve_own(own, message)
            return
        request_message = self._client_requests.take(msg_id)
        if request_message is None:
            # Retired with its gopls (and retried or failed) or never asked: the editor
            # must get one answer per request, so this one is dropped.
            logger.debug("dropping gopls's answer to %r: not in flight", msg_id)
            return
        if request_message.method is not None:
            for hook in self._response_hooks.get((Side.GOPLS, request_message.method), ()):
                routed = hook(request_message, message)
                if routed is None:
                    return
                message = routed
        self._write_client(message)

    def _track_gopls_request(self, message: Message, generation: int) -> Message:
        """Remember gopls's request under the id the editor will answer (see `editor_id`)."""
        assert message.id is not None and message.method is not None
        client_id = editor_id(generation, message.id)
        self._gopls_requests.add(client_id, GoplsRequest(generation, message))
        return _with_id(message, client_id)

    @staticmethod
    def _resolve_own(future: Future[Any], message: Message) -> None:
        error = message.obj.get("error")
        if future.done():
            return
        if error is not None:
            text = error.get("message", error) if isinstance(error, dict) else error
            future.set_exception(RuntimeError(str(text)))
        else:
            future.set_result(message.obj.get("result"))

    def _fail_own(self, msg_id: str, reason: str) -> None:
        future = self._own_requests.take(msg_id)
        if future is not None and not future.done():
            future.set_exception(ConnectionError(reason))

    # ----- shared -----------------------------------------------------------------------

    def _run_hooks(self, side: Side, message: Message) -> Message | None:
        hooks = self._message_hooks.get((side, message.kind, message.method or ""))
        for hook in hooks or ():
            routed = hook(message)
            if routed is None:
                return None
            message = routed
        return message

    def _write_client(self, message: Message) -> None:
        if self.tracer is not None:
            self.tracer.record("sidecar->client", message.body)
        self._client_writer.write(message.body)


def _with_id(message: Message, msg_id: MessageId | None) -> Message:
    """`message` with the id `msg_id` (the same message when it has it already)."""
    return message if message.id == msg_id else Message.from_obj({**message.obj, "id": msg_id})
