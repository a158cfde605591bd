"""The proxy hooks: which parts of gopls's and the editor's messages the service takes."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from lsprotocol.types import FileChangeType, WorkspaceFolder, WorkspaceFoldersChangeEvent

from gosidecar.editor_state import WorkspaceFolders
from gosidecar.file_events import FileEventService
from gosidecar.file_events.wiring import WATCHED_FILES, FileEventWiring, attach, folder_paths
from gosidecar.message import Kind, Message, request
from gosidecar.proxy import MessageHook, ResponseHook, Side
from gosidecar.settings import FileEventSettings
from tests.file_events.support import Recorder, gopls_watchers, uri_of


class RecordingProxy:
    """The hook registry of `gosidecar.proxy.Proxy`, with gopls replaced by a list."""

    def __init__(self) -> None:
        self.hooks: dict[tuple[Side, Kind, str], MessageHook] = {}
        self.response_hooks: dict[tuple[Side, str], ResponseHook] = {}
        self.exit_listeners: list[Callable[[int], None]] = []
        self.to_gopls: list[tuple[str, Any]] = []
        self.replies: list[tuple[int | str, Any]] = []

    def intercept(self, side: Side, kind: Kind, method: str, hook: MessageHook) -> None:
        self.hooks[(side, kind, method)] = hook

    def intercept_response(self, side: Side, request_method: str, hook: ResponseHook) -> None:
        self.response_hooks[(side, request_method)] = hook

    def on_gopls_request(self, method: str, hook: MessageHook) -> None:
        self.intercept(Side.GOPLS, Kind.REQUEST, method, hook)

    def on_client_notification(self, method: str, hook: MessageHook) -> None:
        self.intercept(Side.CLIENT, Kind.NOTIFICATION, method, hook)

    def on_gopls_exit(self, listener: Callable[[int], None]) -> None:
        self.exit_listeners.append(listener)

    def notify_gopls(self, method: str, params: Any, *, bypass_backlog: bool = False) -> None:
        self.to_gopls.append((method, params))

    def reply_to_gopls(self, msg_id: int | str, result: Any) -> None:
        self.replies.append((msg_id, result))

    def from_gopls(self, method: str, params: Any) -> Message | None:
        return self.hooks[(Side.GOPLS, Kind.REQUEST, method)](request(7, method, params))


@pytest.fixture
def folders() -> WorkspaceFolders:
    return WorkspaceFolders()


@pytest.fixture
def wired(tmp_path: Path, folders: WorkspaceFolders) -> Iterator[tuple[RecordingProxy, FileEventService, Recorder]]:
    proxy, recorder = RecordingProxy(), Recorder()
    service = FileEventService(recorder, FileEventSettings(), [])
    attach(proxy, service, folders)
    yield proxy, service, recorder
    service.close()


def _registration(reg_id: str, method: str, options: Any = None) -> dict[str, Any]:
    return {"id": reg_id, "method": method, "registerOptions": options}


def test_watched_file_registrations_stay_with_the_sidecar(
    tmp_path: Path, wired: tuple[RecordingProxy, FileEventService, Recorder]
) -> None:
    proxy, _service, _gopls = wired
    watchers = gopls_watchers(tmp_path)
    others = _registration("cfg", "workspace/didChangeConfiguration")
    forwarded = proxy.from_gopls(
        "client/registerCapability",
        {"registrations": [_registration("w-0", WATCHED_FILES, watchers), others]},
    )
    assert forwarded is not None
    assert forwarded.id == 7
    assert forwarded.params == {"registrations": [others]}
    consumed = proxy.from_gopls(
        "client/registerCapability",
        {"registrations": [_registration("w-1", WATCHED_FILES)]},
    )
    assert consumed is None
    assert proxy.replies == [(7, None)]
    unregistered = proxy.from_gopls(
        "client/unregisterCapability",
        {"unregisterations": [{"id": "w-1", "method": WATCHED_FILES}]},
    )
    assert unregistered is None


def test_initialize_announces_watching_and_names_the_folders(tmp_path: Path, folders: WorkspaceFolders) -> None:
    params = {"rootUri": uri_of(tmp_path), "capabilities": {}}
    sent = FileEventWiring.announce_watching(request(1, "initialize", params))
    assert sent is not None
    assert sent.params["capabilities"]["workspace"][WATCHED_FILES.split("/")[1]] == {
        "dynamicRegistration": True,
        "relativePatternSupport": True,
    }
    assert params["capabilities"] == {}  # the editor's message is not changed in place
    folders.start(params)
    assert folder_paths(folders.uris()) == [str(tmp_path)]


def test_editor_events_go_through_the_service(
    tmp_path: Path, wired: tuple[RecordingProxy, FileEventService, Recorder]
) -> None:
    proxy, service, gopls = wired
    service.set_workspace_folders([str(tmp_path)])
    proxy.from_gopls(
        "client/registerCapability",
        {"registrations": [_registration("w-0", WATCHED_FILES, gopls_watchers(tmp_path))]},
    )
    hook = proxy.hooks[(Side.CLIENT, Kind.NOTIFICATION, WATCHED_FILES)]
    change = {"uri": uri_of(tmp_path / "a.go"), "type": FileChangeType.Changed}
    for _ in range(3):
        assert hook(Message.from_obj({"method": WATCHED_FILES, "params": {"changes": [change]}})) is None
    assert gopls.settle() == [change]


def test_gopls_directory_filters_are_read_from_the_editors_answer(
    tmp_path: Path, wired: tuple[RecordingProxy, FileEventService, Recorder]
) -> None:
    proxy, service, _gopls = wired
    (tmp_path / "gen").mkdir()
    service.set_workspace_folders([str(tmp_path)])
    hook = proxy.response_hooks[(Side.CLIENT, "workspace/configuration")]
    ask = request(3, "workspace/configuration", {"items": [{"section": "gopls"}]})
    answer = Message.from_obj({"id": 3, "result": [{"directoryFilters": ["-gen"]}]})
    assert hook(ask, answer) is answer
    assert service.wait_idle()
    assert service.health_section()["watchedDirectories"] == 1
    for listener in proxy.exit_listeners:
        listener(1)
    assert service.wait_idle()


def test_a_folder_added_to_the_workspace_is_watched_with_its_base(
    tmp_path: Path, folders: WorkspaceFolders, wired: tuple[RecordingProxy, FileEventService, Recorder]
) -> None:
    proxy, service, gopls = wired
    first, added = tmp_path / "first", tmp_path / "added"
    first.mkdir()
    added.mkdir()
    folders.start({"rootUri": uri_of(first), "capabilities": {}})
    proxy.from_gopls(
        "client/registerCapability",
        {"registrations": [_registration("w-0", WATCHED_FILES, gopls_watchers(added))]},
    )
    assert service.wait_idle()
    assert service.health_section()["skippedBases"] == [str(added)]
    folders.change(WorkspaceFoldersChangeEvent(added=[WorkspaceFolder(uri_of(added), "added")], removed=[]))
    assert service.wait_idle()
    health = service.health_section()
    assert (health["skippedBases"], health["watchedDirectories"]) == ([], 2)
    (added / "a.go").write_text("package added\n")
    assert gopls.settle() == [{"uri": uri_of(added / "a.go"), "type": FileChangeType.Created}]
