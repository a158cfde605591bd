"""gopls supervision: start it, watch it, restart it with the editor's state replayed.

A restart, whatever its cause (crash, RSS over the limit, an RSS spike, the user's
command), is one transaction on the gopls link (see gopls_link.py), run on the event
loop: retire the old gopls (new client messages wait in the backlog, safe requests in
flight go back to it, the others fail with ContentModified) and settle what it left at
the editor (progress, stale diagnostics, registrations); then, as often as the restart
policy allows, start a new gopls, replay `initialize`, `initialized`, the configuration
and every open document with its unsaved text, and open the link. A replay that fails
(an error, a timeout, a new gopls that dies) retires the new gopls too and counts as a
restart; when the policy gives up, everything waiting is answered with an error.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import threading
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Literal

from lsprotocol import types
from lsprotocol.types import LSPErrorCodes

from . import memory_limit
from .editor_state import EditorState
from .gopls_link import GoplsLink, Retired
from .gopls_process import GoplsNotFoundError, GoplsProcess, find_gopls, gopls_version
from .history import History
from .memory_watchdog import DEFAULT_SPIKE_POLICY, RssWatchdog, SpikePolicy, Trip
from .message import Kind, Message, error_response
from .problems import RESTART_GOPLS, Problem, SettingAction
from .proxy import Proxy, Side
from .restart_policy import RestartPolicy
from .settings import GoplsSettingsAnswer, Settings, SettingsStore, gopls_settings_answers

logger = logging.getLogger(__name__)

RestartReason = Literal["rss-limit", "rss-spike", "crash", "manual"]

# Reads that give the same answer from a fresh gopls: retried instead of failed.
SAFE_TO_RETRY = frozenset(
    {
        "textDocument/hover",
        "textDocument/definition",
        "textDocument/declaration",
        "textDocument/typeDefinition",
        "textDocument/implementation",
        "textDocument/references",
        "textDocument/completion",
        "textDocument/documentSymbol",
        "textDocument/documentHighlight",
        "textDocument/documentLink",
        "textDocument/semanticTokens/full",
        "textDocument/semanticTokens/full/delta",
        "textDocument/semanticTokens/range",
        "textDocument/inlayHint",
        "textDocument/foldingRange",
        "textDocument/codeLens",
        "textDocument/signatureHelp",
        "textDocument/selectionRange",
        "textDocument/diagnostic",
        "textDocument/prepareCallHierarchy",
        "textDocument/prepareTypeHierarchy",
        "callHierarchy/incomingCalls",
        "callHierarchy/outgoingCalls",
        "typeHierarchy/supertypes",
        "typeHierarchy/subtypes",
        "workspace/symbol",
    }
)
_INITIALIZE_TIMEOUT_S = 60.0
_READER_JOIN_S = 10.0
_MIB = 1024 * 1024


@dataclass(frozen=True)
class RestartRecord:
    time: str
    reason: RestartReason
    rss_bytes: int

    def to_dict(self) -> dict[str, Any]:
        return {"time": self.time, "reason": self.reason, "rssBytes": self.rss_bytes}


class GoplsSupervisor:
    def __init__(
        self,
        proxy: Proxy,
        state: EditorState,
        settings: SettingsStore,
        loop: asyncio.AbstractEventLoop,
        history: History,
        *,
        request_client: Callable[[str, Any], None],
        policy: RestartPolicy | None = None,
        initialize_timeout_s: float = _INITIALIZE_TIMEOUT_S,
    ) -> None:
        self._proxy = proxy
        self._link: GoplsLink = proxy.link
        self._request_client = request_client
        self._state = state
        self._settings = settings
        settings.subscribe(self.apply_settings)
        self._loop = loop
        self._policy = policy or RestartPolicy()
        self._initialize_timeout_s = initialize_timeout_s
        self._history = history
        self._watchdog = RssWatchdog(self._on_trip, self._limit_bytes(), on_sample=history.record_rss)
        self._pending_reason: tuple[RestartReason, int] | None = None
        self._restarting: asyncio.Lock | None = None
        self._gave_up: str | None = None
        self._start_error: str | None = None
        self._shutting_down = False
        self.path = ""
        self.version = ""
        self._version_read: Future[str] = Future()
        # gopls's `memoryLimit`: one the editor put in `initialize` itself, the user's
        # own (from the editor's answers for section "gopls"), the value the running
        # gopls got in `initialize`, and whether its answers at start-up were looked at
        # (see note_gopls_configuration).
        self._editor_memory_limit: int | None = None
        self._user_memory_limit: int | None = None
        self._sent_memory_limit = 0
        self._startup_configuration_seen = False
        self.restart_log: list[RestartRecord] = []
        self._gopls_errors: deque[str] = deque(maxlen=3)
        self._link.on_exit(self._on_gopls_exit)
        proxy.intercept(Side.GOPLS, Kind.NOTIFICATION, "window/showMessage", self._note_gopls_error)

    # ----- first start ------------------------------------------------------------------

    def start_first(self) -> bool:
        """Start gopls for the editor's `initialize` (called on the client reader thread,
        under the client lock). Returns False when gopls cannot be started."""
        path = self._locate()
        process = self._spawn(path) if path else None
        if process is None:
            self._link.go_down(self._start_error or "gopls is not running")
            return False
        self._link.replace(process, lambda: None)
        self._link.open()
        return True

    def _locate(self) -> str | None:
        """The gopls to run; None (with the reason kept) when there is none.

        Blocking (it may ask `go env GOPATH`): never call it on the event loop.
        """
        try:
            self.path = find_gopls(self._settings.current.gopls.path)
        except GoplsNotFoundError as error:
            self._start_error = str(error)
            logger.error("%s", error)
            return None
        return self.path

    def _spawn(self, path: str) -> GoplsProcess | None:
        settings = self._settings.current
        env = memory_limit.gomemlimit_env(settings.memory.limitMB, settings.gopls.env)
        try:
            process = GoplsProcess(path, ["serve", *settings.gopls.args], env)
        except OSError as error:
            self._start_error = f"gopls at {path} would not start ({error}): reinstall it or fix goSidecar.gopls.path"
            return None
        except ValueError as error:  # e.g. a NUL character in an argument or a variable
            self._start_error = f"gopls would not start ({error}): fix goSidecar.gopls.args and goSidecar.gopls.env"
            return None
        self._start_error = None
        self._watchdog.set_spike_policy(spike_policy(settings))
        self._watchdog.set_limit(self._limit_bytes())
        self._watchdog.watch(process.pid)
        self._version_read = Future()
        self._startup_configuration_seen = False
        threading.Thread(target=self._read_version, args=(self._version_read,), daemon=True).start()
        return process

    def _read_version(self, read: Future[str]) -> None:
        self.version = gopls_version(self.path)
        read.set_result(self.version)

    # ----- restarts ---------------------------------------------------------------------

    def request_restart(self, reason: RestartReason, rss_bytes: int = 0) -> Future[None]:
        """Restart from any thread; the future resolves once the new gopls is initialized."""
        return asyncio.run_coroutine_threadsafe(self.restart(reason, rss_bytes), self._loop)

    async def restart(self, reason: RestartReason, rss_bytes: int = 0) -> None:
        if self._restarting is None:
            self._restarting = asyncio.Lock()
        if self._state.initialize_params is None:
            return  # nothing to restart before the editor's initialize
        async with self._restarting:
            if reason == "manual":
                self._policy.reset()
                self._gave_up = None
            self._gopls_errors.clear()
            # A manual or settings restart has no figure of its own: the last sample of the
            # gopls being replaced is what the restart log and the chart's marker show.
            rss_bytes = rss_bytes or self._watchdog.rss_bytes
            try:
                await self._retire(f"gopls is restarting after a {reason}")
                while not await self._attempt(reason, rss_bytes):
                    reason, rss_bytes = "crash", 0  # the new gopls failed its replay
            except Exception:  # a bug here must not leave the editor's requests waiting
                logger.exception("restarting gopls failed")
                self._give_up(reason)

    async def _attempt(self, reason: RestartReason, rss_bytes: int) -> bool:
        """One start of a new gopls; True when it serves the editor or the policy gave up."""
        self.restart_log.append(RestartRecord(_now(), reason, rss_bytes))
        self._history.record_restart(reason, rss_bytes)
        delay = self._policy.next_delay()
        if delay is None:
            self._give_up(reason)
            return True
        self._notify_restart(reason, rss_bytes)
        await asyncio.sleep(delay)
        path = await asyncio.to_thread(self._locate)
        process = self._spawn(path) if path else None
        if process is None:
            self._give_up("crash")
            return True
        try:
            await self._replay(process)
        except Exception as error:  # any failure: asyncio.TimeoutError is no TimeoutError before 3.11
            logger.error("replay to the new gopls failed: %r", error)
        else:
            if self._link.open():
                return True
            logger.error("the new gopls went away during its replay")
        await self._retire("the new gopls failed to start; restarting again")
        return False

    def _on_trip(self, trip: Trip) -> None:
        """Watchdog thread: RSS over the limit or a spike; kill gopls, then restart."""
        logger.warning("gopls memory: %s (%s)", trip.reason, trip.detail)
        self._pending_reason = (trip.reason, trip.rss_bytes)
        process = self._link.process
        if process is not None:
            process.kill()

    def _on_gopls_exit(self, generation: int) -> None:
        """A gopls serving the editor went away (the link queues messages meanwhile)."""
        if self._shutting_down:
            return
        reason, rss = self._pending_reason or ("crash", self._watchdog.rss_bytes)
        self._pending_reason = None
        logger.warning("gopls %d exited (%s); restarting", generation, reason)
        self.request_restart(reason, rss)

    def _note_gopls_error(self, message: Message) -> Message:
        """gopls's own error pop-ups (a workspace that will not load) become health problems."""
        params = message.params if isinstance(message.params, dict) else {}
        if params.get("type") == types.MessageType.Error and isinstance(params.get("message"), str):
            self._gopls_errors.append(params["message"])
        return message

    async def _retire(self, reason: str) -> None:
        """Cut the current gopls off and settle everything it left open at the editor."""
        retired = self._link.retire(reason, retry=lambda message: message.method in SAFE_TO_RETRY)
        await asyncio.to_thread(_stop, retired)
        proxy = self._proxy
        for message in retired.unanswered:
            proxy.send_to_client(
                error_response(message.id, LSPErrorCodes.ContentModified, "gopls restarted; try again")
            )
        for token in self._state.take_open_progress():
            proxy.notify_client("$/progress", {"token": token, "value": {"kind": "end"}})
        for uri in self._state.take_closed_diagnosed_uris():
            proxy.notify_client("textDocument/publishDiagnostics", {"uri": uri, "diagnostics": []})
        registrations = self._state.take_registrations()
        if registrations:
            unregister = [types.Unregistration(id=r["id"], method=r["method"]) for r in registrations]
            self._request_client(types.CLIENT_UNREGISTER_CAPABILITY, types.UnregistrationParams(unregister))

    async def _replay(self, process: GoplsProcess) -> None:
        proxy, state = self._proxy, self._state
        snapshot = self._link.replace(
            process, lambda: (state.replay_initialize_params(), state.configuration_change, state.documents.all())
        )
        initialize_params, configuration, documents = snapshot
        await asyncio.wrap_future(self._version_read)
        initialize_params = self.with_memory_limit(initialize_params)
        initialize = proxy.request_gopls("initialize", initialize_params, bypass_backlog=True)
        await asyncio.wait_for(asyncio.wrap_future(initialize), self._initialize_timeout_s)
        proxy.notify_gopls("initialized", state.initialized_params, bypass_backlog=True)
        if configuration is not None:
            proxy.notify_gopls("workspace/didChangeConfiguration", configuration, bypass_backlog=True)
        for doc in documents:
            text_document = {"uri": doc.uri, "languageId": doc.language_id, "version": doc.version, "text": doc.text}
            proxy.notify_gopls("textDocument/didOpen", {"textDocument": text_document}, bypass_backlog=True)

    def _give_up(self, reason: RestartReason) -> None:
        limit_mb = self._settings.current.memory.limitMB
        self._gave_up = (
            f"gopls was restarted {len(self.restart_log)} times in a short while (last: {reason}) and is stopped"
        )
        self._link.go_down(self._gave_up + ": see Go: Health Check")
        self._proxy.notify_client(
            "window/showMessage",
            {"type": types.MessageType.Error, "message": f"{self._gave_up}. {self._advice(limit_mb)}"},
        )

    @staticmethod
    def _advice(limit_mb: int) -> str:
        return (
            f"Raise goSidecar.memory.limitMB (now {limit_mb}), add gopls directoryFilters for "
            "trees you do not edit, or close very large packages; then run Go: Restart gopls."
        )

    def _notify_restart(self, reason: RestartReason, rss_bytes: int) -> None:
        limit_mb = self._settings.current.memory.limitMB
        figures = f" at {rss_bytes // _MIB} MiB RSS (limit {limit_mb} MiB)" if rss_bytes else ""
        self._proxy.notify_client(
            "window/showMessage",
            {
                "type": types.MessageType.Warning,
                "message": f"Go Sidecar restarted gopls: {reason}{figures}. Open files and unsaved edits were kept.",
            },
        )

    # ----- settings, shutdown, health ------------------------------------------------

    def apply_settings(self, old: Settings, new: Settings) -> None:
        self._watchdog.set_limit(self._limit_bytes())
        self._watchdog.set_spike_policy(spike_policy(new))
        process_changed = old.gopls != new.gopls or (
            old.memory.limitMB != new.memory.limitMB and not new.gopls.env.get("GOMEMLIMIT")
        )
        raised = new.memory.limitMB == 0 or new.memory.limitMB > old.memory.limitMB
        if ((self._gave_up or self._start_error) and (raised or old.gopls != new.gopls)) or (
            process_changed and self._link.process is not None
        ):
            self.request_restart("manual")

    # ----- gopls's memoryLimit (v0.24 and later) --------------------------------------

    def initialize_for_gopls(self, message: Message) -> Message:
        """The editor's `initialize` as gopls gets it: with `memoryLimit` (blocks until
        the version of the gopls just started is known)."""
        self._version_read.result()
        return Message.from_obj({**message.obj, "params": self.with_memory_limit(message.params)})

    def with_memory_limit(self, initialize_params: dict[str, Any]) -> dict[str, Any]:
        """`initialize` params for the running gopls, with the `memoryLimit` it should apply."""
        if not memory_limit.gopls_supports_memory_limit(self.version):
            return initialize_params  # gopls before v0.24 warns about an unknown setting
        editor_options = initialize_params.get("initializationOptions")
        self._editor_memory_limit = memory_limit.user_memory_limit(editor_options)
        self._sent_memory_limit = self._memory_limit_option()
        options = memory_limit.with_memory_limit(editor_options, self._sent_memory_limit)
        return {**initialize_params, "initializationOptions": options} if options is not None else initialize_params

    def note_gopls_configuration(self, gopls_request: Message, response: Message) -> Message:
        """The editor's answer to gopls's `workspace/configuration`, passed on unchanged.

        gopls applies a `memoryLimit` from these answers only when it re-reads its
        session settings after a `didChangeConfiguration` (the unscoped request), never
        from the answers about its folders at start-up. So the user's value is recorded
        for the next `initialize`; and when the first folder answer of a gopls names a
        limit other than the one its `initialize` carried, gopls is restarted once with
        it (later answers in that gopls never restart it: folders that disagree cannot
        make gopls restart in turn).
        """
        answers = gopls_settings_answers(gopls_request.params, response.obj.get("result"))
        if answers and memory_limit.gopls_supports_memory_limit(self.version):
            self._note_gopls_settings(answers[0])
        return response

    def _note_gopls_settings(self, answer: GoplsSettingsAnswer) -> None:
        self._user_memory_limit = memory_limit.user_memory_limit(answer.settings)
        if answer.scoped and not self._startup_configuration_seen:
            self._startup_configuration_seen = True
            if self._memory_limit_option() != self._sent_memory_limit:
                logger.info("gopls applies the user's memoryLimit only at initialize: restarting it")
                self.request_restart("manual")
        else:
            self._startup_configuration_seen = True

    def _memory_limit_option(self) -> int:
        """The editor's own value in `initialize` wins, then the user's gopls setting, then ours."""
        for chosen in (self._editor_memory_limit, self._user_memory_limit):
            if chosen is not None:
                return chosen
        return memory_limit.soft_limit_bytes(self._settings.current.memory.limitMB)

    def expect_exit(self) -> None:
        """The editor asked gopls to shut down: its exit is no crash."""
        self._shutting_down = True

    def shutdown(self) -> None:
        self._shutting_down = True
        self._watchdog.stop()
        process = self._link.process
        if process is not None:
            process.stop(grace_s=0.6)

    def _limit_bytes(self) -> int:
        return max(0, int(self._settings.current.memory.limitMB)) * _MIB

    def health_section(self) -> dict[str, Any]:
        process = self._link.process
        running = process is not None and process.running
        return {
            "path": self.path,
            "version": self.version,
            "pid": process.pid if running and process is not None else 0,
            "running": running,
            "rssBytes": self._watchdog.sample_now() if running else 0,
            "peakRssBytes": self._watchdog.peak_rss_bytes,
            "memoryLimitBytes": self._limit_bytes(),
            "restarts": len(self.restart_log),
            "restartLog": [record.to_dict() for record in self.restart_log],
        }

    def problems(self) -> list[Problem]:
        found: list[Problem] = []
        if self._start_error:
            found.append(
                Problem(
                    "error",
                    self._start_error,
                    "Install gopls or set goSidecar.gopls.path, then run Go: Restart gopls (Sidecar).",
                    SettingAction("gopls.path"),
                )
            )
        if self._gave_up:
            limit_mb = self._settings.current.memory.limitMB
            found.append(Problem("error", self._gave_up, self._advice(limit_mb), _raise_limit(limit_mb)))
        for text in self._gopls_errors:
            found.append(Problem("error", f"gopls: {text}", _gopls_error_fix(text), RESTART_GOPLS))
        return found


def spike_policy(settings: Settings) -> SpikePolicy:
    """The spike rule with the user's floor; spikeMB 0 turns spike restarts off."""
    floor_mb = settings.memory.spikeMB
    if floor_mb <= 0:
        return dataclasses.replace(DEFAULT_SPIKE_POLICY, enabled=False)
    return dataclasses.replace(DEFAULT_SPIKE_POLICY, floor_bytes=int(floor_mb) * _MIB)


def _stop(retired: Retired) -> None:
    """Stop a retired gopls and wait for its reader, so it has said its last word."""
    if retired.process is not None:
        retired.process.stop(grace_s=0.5)
    if retired.reader is not None:
        retired.reader.join(_READER_JOIN_S)


def _raise_limit(limit_mb: int) -> SettingAction:
    """The advice raises the limit: suggest twice the current one (with no limit set, open the setting)."""
    return SettingAction("memory.limitMB", 2 * limit_mb if limit_mb > 0 else None)


def _gopls_error_fix(text: str) -> str:
    if "load" in text.lower():
        return (
            "Check that `go` is on the PATH the editor was started with and that `go list ./...` "
            "works in the workspace, then run Go: Restart gopls (Sidecar)."
        )
    return "See Go: Show Sidecar Log for gopls's details; fix the cause, then run Go: Restart gopls (Sidecar)."


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")
