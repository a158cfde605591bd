"""The supervisor in process, its restart policy and replay timeout injected: a replay
that times out (`asyncio.TimeoutError`, no builtin TimeoutError before Python 3.11) is a
failed restart like any other, and the policy's giving up answers what waits."""

from __future__ import annotations

import asyncio
import os
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from lsprotocol.types import LSPErrorCodes

from gosidecar.documents import DocumentStore
from gosidecar.editor_state import EditorState
from gosidecar.framing import FrameReader, FrameWriter
from gosidecar.history import History
from gosidecar.message import Kind, Message, notification, request
from gosidecar.proxy import Proxy, Side
from gosidecar.restart_policy import RestartLimits, RestartPolicy
from gosidecar.settings import SettingsStore, parse_settings
from gosidecar.supervisor import GoplsSupervisor
from gosidecar.uris import path_to_uri
from tests.support import FAKE_GOPLS, wait_until

pytestmark = pytest.mark.timeout(60)


class Editor:
    """The editor's end of two pipes into an in-process proxy."""

    def __init__(self) -> None:
        to_sidecar, self._out = os.pipe()
        self._in, from_sidecar = os.pipe()
        self.proxy = Proxy(FrameReader(to_sidecar, "client"), FrameWriter(from_sidecar, "client"))
        self._writer = FrameWriter(self._out, "editor")
        self._answers: dict[Any, Message] = {}
        self._answered = threading.Condition()
        threading.Thread(target=self.proxy.run_client_pump, daemon=True).start()
        threading.Thread(target=self._read, daemon=True).start()

    def send(self, message: Message) -> None:
        self._writer.write(message.body)

    def answer(self, msg_id: int, timeout: float = 30) -> dict[str, Any]:
        with self._answered:
            assert self._answered.wait_for(lambda: msg_id in self._answers, timeout), f"no answer to {msg_id}"
            return self._answers[msg_id].obj

    def close(self) -> None:
        self._writer.close()

    def _read(self) -> None:
        reader = FrameReader(self._in, "editor")
        while (body := reader.read_frame()) is not None:
            message = Message(body)
            with self._answered:
                self._answers[message.id] = message
                self._answered.notify_all()


@pytest.fixture
def loop() -> Iterator[asyncio.AbstractEventLoop]:
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    yield loop
    loop.call_soon_threadsafe(loop.stop)
    thread.join(10)


def test_a_replay_that_times_out_is_retried_then_given_up(tmp_path: Path, loop: asyncio.AbstractEventLoop) -> None:
    initialize = tmp_path / "initialize"
    settings = parse_settings({"gopls": {"path": str(FAKE_GOPLS), "env": {"FAKE_GOPLS_FAIL_INIT": str(initialize)}}})
    editor = Editor()
    state = EditorState(DocumentStore())
    state.attach(editor.proxy)
    editor.proxy.intercept(Side.CLIENT, Kind.REQUEST, "initialize", state.record_initialize)
    supervisor = GoplsSupervisor(
        editor.proxy,
        state,
        SettingsStore(settings),
        loop,
        History(),
        request_client=lambda method, params: None,
        policy=RestartPolicy(RestartLimits(max_restarts=2, backoff_s=(0.0,))),
        initialize_timeout_s=0.5,
    )
    try:
        editor.send(request(1, "initialize", {"processId": None, "rootUri": path_to_uri(tmp_path), "capabilities": {}}))
        wait_until(lambda: state.initialize_params is not None, 30, "the editor's initialize")
        assert supervisor.start_first()
        assert "capabilities" in editor.answer(1)["result"]
        editor.send(notification("initialized", {}))

        initialize.write_text("silent")  # every new gopls leaves its replay's initialize unanswered
        process = editor.proxy.link.process
        assert process is not None
        process.kill()
        editor.send(request(2, "textDocument/hover", {}))
        error = editor.answer(2)["error"]
        assert error["code"] == LSPErrorCodes.RequestFailed and "stopped" in error["message"]
        assert [record.reason for record in supervisor.restart_log] == ["crash", "crash", "crash"]
    finally:
        supervisor.shutdown()
        editor.close()
