"""The sidecar assembled: proxy, editor state, gopls supervision, features, health."""

from __future__ import annotations

import asyncio
import logging
import threading
from typing import Any

from lsprotocol.types import ErrorCodes, MessageType

from . import __version__
from .completion import CompletionService, prefetch
from .completion.grounding import GoplsGrounding
from .documents import DocumentStore
from .editor_state import EditorState
from .file_events import FileEventService
from .file_events.wiring import attach as attach_file_events
from .file_events.wiring import gopls_sender
from .framing import FrameReader, FrameWriter
from .history import History
from .inline_completion import complete_inline
from .lsp_schema import check_initialize_params
from .message import Kind, Message, Rejected, response
from .problems import HealthSource, Problem
from .progress import ClientProgress
from .proxy import MessageHook, Proxy, Side
from .server import SidecarServices, build_server
from .settings import SettingsStore, parse_settings, settings_from_configuration_change
from .supervisor import GoplsSupervisor

logger = logging.getLogger(__name__)

SIDECAR_CAPABILITIES: dict[str, Any] = {"inlineCompletionProvider": {}}


class Sidecar:
    def __init__(self, client_reader: FrameReader, client_writer: FrameWriter, loop: asyncio.AbstractEventLoop) -> None:
        self.settings = SettingsStore()
        self.finished = threading.Event()
        self.clean_exit = False
        self.documents = DocumentStore()
        self.history = History()
        self.proxy = Proxy(client_reader, client_writer)
        self.state = EditorState(self.documents)
        self.file_events = FileEventService(
            gopls_sender(self.proxy), self.settings.current.fileEvents, [], history=self.history
        )
        # Hooks on one message run in the order they are attached: the file-event wiring
        # takes gopls's watched-file registrations before the editor state records the
        # registrations it must undo at the client.
        self.file_event_wiring = attach_file_events(self.proxy, self.file_events, self.state.folders)
        self.state.attach(self.proxy)
        self._initialize_taken = False
        self.supervisor = GoplsSupervisor(
            self.proxy, self.state, self.settings, loop, self.history, request_client=self._request_client
        )
        self.server = build_server(self._server_services(), loop)
        self.progress = ClientProgress(self.server.work_done_progress, supported=False)
        self.completion = CompletionService(
            self.settings.current.ai, self.progress, self.history, grounding=GoplsGrounding(self.proxy)
        )
        self.features: list[HealthSource] = [self.file_events, self.completion]
        self.prefetcher = prefetch.attach(self.proxy, self.completion, self.documents)  # KV warming at the cursor
        self._subscribe_to_settings()
        self._attach_lifecycle()
        self.proxy.serve_on_sidecar(self.server.methods, self.server.dispatch)

    def _request_client(self, method: str, params: Any) -> None:
        """The sidecar's requests to the editor all leave through pygls (answers come back to it)."""
        self.server.protocol.send_request(method, params)

    def _server_services(self) -> SidecarServices:
        # Late-bound: the completion service is built after the server (it reports
        # progress through pygls).
        return SidecarServices(
            health_report=self.health_report,
            complete_inline=lambda params: complete_inline(self.completion, self.documents, params),
            record_accepted=self.history.record_accepted,
            restart_gopls=lambda: self.supervisor.request_restart("manual"),
            send_to_client=self.proxy.send_to_client,
            send_from_server=self.proxy.send_to_client_from_sidecar,
        )

    def _subscribe_to_settings(self) -> None:
        # The supervisor subscribed itself (it reads the current settings as well).
        self.settings.subscribe(lambda old, new: self.file_events.apply_settings(new.fileEvents))
        self.settings.subscribe(lambda old, new: self.completion.apply_settings(new.ai))

    def _attach_lifecycle(self) -> None:
        proxy = self.proxy
        proxy.intercept(Side.CLIENT, Kind.REQUEST, "initialize", self._on_initialize)
        proxy.intercept_response(Side.GOPLS, "initialize", self._merge_capabilities)
        proxy.intercept(Side.CLIENT, Kind.NOTIFICATION, "workspace/didChangeConfiguration", self._on_configuration)
        proxy.intercept_response(Side.CLIENT, "workspace/configuration", self.supervisor.note_gopls_configuration)
        proxy.intercept(Side.CLIENT, Kind.NOTIFICATION, "initialized", self._on_initialized)
        proxy.intercept(Side.CLIENT, Kind.REQUEST, "shutdown", self._on_shutdown)
        proxy.intercept(Side.CLIENT, Kind.NOTIFICATION, "exit", self._on_exit)

    # ----- the editor's initialize, step by step -----------------------------------------

    def initialize_steps(self) -> tuple[MessageHook, ...]:
        """What the editor's `initialize` goes through, in this order; each step gets what
        the one before passed on, and None ends it (the editor was answered)."""
        return (
            self._check_initialize,  # first: every later step reads the shapes it lets through
            self._take_sidecar_options,  # ours out of initializationOptions: gopls would reject them
            self.file_event_wiring.announce_watching,  # gopls registers watched files with the sidecar
            self.state.record_initialize,  # for replay: what gopls is told, as adjusted above
            self._note_progress_support,
            self._start_gopls,  # last: it answers the editor itself when there is no gopls
        )

    def _on_initialize(self, message: Message) -> Message | None:
        for step in self.initialize_steps():
            routed = step(message)
            if routed is None:
                return None
            message = routed
        return message

    def _check_initialize(self, message: Message) -> Message:
        """Refuse an `initialize` whose shape the hooks cannot read, and a second one
        (gopls refuses it too: recording it would replay what gopls never took)."""
        if self._initialize_taken:
            raise Rejected("initialize was already sent", ErrorCodes.InvalidRequest)
        check_initialize_params(message.params)
        self._initialize_taken = True
        return message

    def _take_sidecar_options(self, message: Message) -> Message:
        params = message.params
        self.settings.update(parse_settings(params.get("initializationOptions")))
        if "initializationOptions" not in params:
            return message
        without = {key: value for key, value in params.items() if key != "initializationOptions"}
        return Message.from_obj({**message.obj, "params": without})

    def _note_progress_support(self, message: Message) -> Message:
        window = message.params["capabilities"].get("window") or {}
        self.progress.supported = window.get("workDoneProgress") is True
        return message

    def _start_gopls(self, message: Message) -> Message | None:
        if self.supervisor.start_first():
            return self.supervisor.initialize_for_gopls(message)
        # No gopls: the editor still gets the sidecar's own features and a clear reason.
        self.proxy.send_to_client(response(message.id, self._initialize_result({})))
        for problem in self.supervisor.problems():
            self.proxy.notify_client("window/showMessage", {"type": MessageType.Error, "message": problem.message})
        return None

    def _merge_capabilities(self, request: Message, reply: Message) -> Message:
        result = reply.obj.get("result")
        if not isinstance(result, dict):
            return reply
        return Message.from_obj({**reply.obj, "result": self._initialize_result(result)})

    @staticmethod
    def _initialize_result(gopls_result: dict[str, Any]) -> dict[str, Any]:
        gopls_capabilities = gopls_result.get("capabilities")
        capabilities = {**(gopls_capabilities if isinstance(gopls_capabilities, dict) else {}), **SIDECAR_CAPABILITIES}
        server_info = gopls_result.get("serverInfo") or {"name": "gosidecar", "version": __version__}
        return {**gopls_result, "capabilities": capabilities, "serverInfo": server_info}

    # ----- the rest of the lifecycle ----------------------------------------------------

    def _on_initialized(self, message: Message) -> Message:
        # The model loads while the user finds their way around, not at the first keystroke.
        self.completion.warm_up()
        return message

    def _on_configuration(self, message: Message) -> Message:
        if self.settings.update(settings_from_configuration_change(message.params, self.settings.current)):
            self.completion.warm_up()  # a changed model loads now, not at the next keystroke
        return message

    def _on_shutdown(self, message: Message) -> Message:
        self.supervisor.expect_exit()
        self.clean_exit = True
        return message

    def _on_exit(self, message: Message) -> Message:
        self.supervisor.expect_exit()
        self.finished.set()
        return message

    # ----- health and teardown ----------------------------------------------------------

    def health_report(self) -> dict[str, Any]:
        gopls = self.supervisor.health_section()
        problems: list[Problem] = [*self.supervisor.problems()]
        for feature in self.features:
            problems.extend(feature.problems())
        return {
            "ok": gopls["running"] and not any(p.severity == "error" for p in problems),
            "gopls": gopls,
            "fileEvents": self.file_events.health_section(),
            "ai": self.completion.health_section(),
            "problems": [p.to_dict() for p in problems],
            "history": self.history.to_dict(),
        }

    def close(self) -> None:
        self.supervisor.shutdown()
        self.file_events.close()
        self.prefetcher.close()  # before the service it warms
        self.completion.close()
