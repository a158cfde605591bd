"""The assembled sidecar in process, with no gopls to start: the editor's `initialize`
goes through one pipeline in a fixed order, and settings and workspace folders reach
every service from their one store."""

from __future__ import annotations

import asyncio
import os
import queue
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from lsprotocol.types import ErrorCodes

from gosidecar.framing import FrameReader, FrameWriter, frame_header
from gosidecar.message import Message, notification, request
from gosidecar.sidecar import Sidecar
from gosidecar.uris import path_to_uri

TIMEOUT_S = 10.0
WATCHED_FILES_CAPABILITY = {"dynamicRegistration": True, "relativePatternSupport": True}


class Editor:
    """Pipes to a `Sidecar` whose client reader runs on a thread, as `serve` runs it."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        editor_to_sidecar, self._writes = os.pipe()
        self._reads, sidecar_to_editor = os.pipe()
        self.sidecar = Sidecar(FrameReader(editor_to_sidecar, "client"), FrameWriter(sidecar_to_editor, "client"), loop)
        self._from_sidecar = FrameReader(self._reads, "editor")
        self._received: queue.Queue[Message] = queue.Queue()
        threading.Thread(target=self.sidecar.proxy.run_client_pump, daemon=True).start()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        while (body := self._from_sidecar.read_frame()) is not None:
            self._received.put(Message(body))

    def send(self, message: Message) -> None:
        os.write(self._writes, frame_header(len(message.body)) + message.body)

    def answer(self, msg_id: int) -> dict[str, Any]:
        while True:
            message = self._received.get(timeout=TIMEOUT_S)
            if message.id == msg_id and message.method is None:
                return message.obj

    def close(self) -> None:
        os.close(self._writes)
        self.sidecar.close()


@pytest.fixture
def editor() -> Iterator[Editor]:
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    editor = Editor(loop)
    yield editor
    editor.close()
    loop.call_soon_threadsafe(loop.stop)
    thread.join(TIMEOUT_S)


def _initialize(tmp_path: Path, **options: Any) -> dict[str, Any]:
    return {
        "processId": None,
        "rootUri": path_to_uri(tmp_path),
        "capabilities": {"window": {"workDoneProgress": True}},
        # No gopls to start: the last step answers the editor itself.
        "initializationOptions": {"gopls": {"path": str(tmp_path / "no-gopls")}, **options},
    }


def test_the_steps_run_in_the_order_they_depend_on(editor: Editor) -> None:
    steps = [step.__name__ for step in editor.sidecar.initialize_steps()]
    assert steps == [
        "_check_initialize",
        "_take_sidecar_options",
        "announce_watching",
        "record_initialize",
        "_note_progress_support",
        "_start_gopls",
    ]


def test_initialize_is_recorded_for_replay_as_the_steps_before_left_it(editor: Editor, tmp_path: Path) -> None:
    editor.send(request(1, "initialize", _initialize(tmp_path, fileEvents={"debounceMs": 250})))
    result = editor.answer(1)["result"]
    assert "inlineCompletionProvider" in result["capabilities"]
    sidecar = editor.sidecar
    replayed = sidecar.state.replay_initialize_params()
    assert "initializationOptions" not in replayed  # taken before it was recorded
    assert replayed["capabilities"]["workspace"]["didChangeWatchedFiles"] == WATCHED_FILES_CAPABILITY
    assert replayed["workspaceFolders"] == [{"uri": path_to_uri(tmp_path), "name": tmp_path.name}]
    assert sidecar.settings.current.gopls.path == str(tmp_path / "no-gopls")
    assert sidecar.progress.supported
    assert sidecar.file_events.wait_idle()
    assert sidecar.file_events.health_section()["debounceMs"] == 250  # the store told the file events


def test_a_refused_initialize_changes_no_settings_and_records_nothing(editor: Editor, tmp_path: Path) -> None:
    params = {**_initialize(tmp_path, ai={"enabled": False}), "capabilities": []}
    editor.send(request(1, "initialize", params))
    assert editor.answer(1)["error"]["code"] == ErrorCodes.InvalidParams
    sidecar = editor.sidecar
    assert sidecar.settings.current.ai.enabled  # the check ran before the options were taken
    assert sidecar.state.initialize_params is None
    editor.send(request(2, "initialize", _initialize(tmp_path)))
    assert "result" in editor.answer(2)
    editor.send(request(3, "initialize", _initialize(tmp_path, ai={"enabled": False})))
    assert editor.answer(3)["error"]["code"] == ErrorCodes.InvalidRequest
    assert sidecar.settings.current.ai.enabled  # the second initialize is refused whole


def test_a_configuration_change_reaches_every_subscriber(editor: Editor, tmp_path: Path) -> None:
    editor.send(request(1, "initialize", _initialize(tmp_path)))
    editor.answer(1)
    sidecar = editor.sidecar
    change = {"settings": {"goSidecar": {"fileEvents": {"debounceMs": 40}, "ai": {"enabled": False}}}}
    editor.send(notification("workspace/didChangeConfiguration", change))
    editor.send(request(2, "goSidecar/health", None))
    report = editor.answer(2)["result"]
    assert sidecar.settings.current.fileEvents.debounceMs == 40
    assert report["ai"]["state"] == "disabled"
    assert sidecar.file_events.wait_idle()
    assert sidecar.file_events.health_section()["debounceMs"] == 40


def test_folders_changed_in_the_editor_reach_replay_and_the_file_events(editor: Editor, tmp_path: Path) -> None:
    first, added = tmp_path / "first", tmp_path / "added"
    added.mkdir()
    editor.send(request(1, "initialize", _initialize(first)))
    editor.answer(1)
    event = {
        "added": [{"uri": path_to_uri(added), "name": "added"}],
        "removed": [{"uri": path_to_uri(first), "name": "first"}],
    }
    editor.send(notification("workspace/didChangeWorkspaceFolders", {"event": event}))
    editor.send(request(2, "goSidecar/health", None))
    editor.answer(2)
    sidecar = editor.sidecar
    assert sidecar.state.replay_initialize_params()["workspaceFolders"] == [
        {"uri": path_to_uri(added), "name": "added"}
    ]
    watchers = {"watchers": [{"globPattern": {"baseUri": path_to_uri(added), "pattern": "**/*.go"}}]}
    sidecar.file_events.on_register("w-0", watchers)
    assert sidecar.file_events.wait_idle()
    health = sidecar.file_events.health_section()
    assert (health["skippedBases"], health["watchedDirectories"]) == ([], 1)
