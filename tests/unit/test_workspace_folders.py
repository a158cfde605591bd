"""Workspace folders, kept once by the editor state: replay and the file events read the
same list, as gopls counts it (the folders of `initialize`, else its root)."""

from __future__ import annotations

from lsprotocol.types import WorkspaceFolder, WorkspaceFoldersChangeEvent

from gosidecar.documents import DocumentStore
from gosidecar.editor_state import EditorState, WorkspaceFolders
from gosidecar.message import request

ROOT, OTHER, THIRD = "file:///work/root", "file:///work/other%20dir", "file:///work/third"


def _initialized(params: dict[str, object]) -> EditorState:
    state = EditorState(DocumentStore())
    state.record_initialize(request(1, "initialize", {"capabilities": {}, **params}))
    return state


def test_a_root_only_workspace_keeps_its_root_when_a_folder_is_added() -> None:
    state = _initialized({"rootUri": ROOT})
    state.folders.change(WorkspaceFoldersChangeEvent(added=[WorkspaceFolder(OTHER, "other dir")], removed=[]))
    # gopls keeps serving the root it started with: a new gopls must get it too.
    assert state.replay_initialize_params()["workspaceFolders"] == [
        {"uri": ROOT, "name": "root"},
        {"uri": OTHER, "name": "other dir"},
    ]


def test_folders_of_initialize_win_over_the_root_and_follow_changes() -> None:
    state = _initialized({"rootUri": ROOT, "workspaceFolders": [{"uri": OTHER, "name": "o"}]})
    assert state.folders.uris() == [OTHER]
    event = WorkspaceFoldersChangeEvent(added=[WorkspaceFolder(THIRD, "t")], removed=[WorkspaceFolder(OTHER, "o")])
    state.folders.change(event)
    assert state.replay_initialize_params()["workspaceFolders"] == [{"uri": THIRD, "name": "t"}]
    assert state.initialize_params is not None
    assert state.initialize_params["workspaceFolders"] == [{"uri": OTHER, "name": "o"}]  # the record is not edited


def test_a_workspace_with_neither_folders_nor_root_replays_as_it_came() -> None:
    state = _initialized({"rootUri": None})
    assert state.folders.uris() == []
    assert "workspaceFolders" not in state.replay_initialize_params()


def test_subscribers_get_the_folder_uris_after_initialize_and_each_change() -> None:
    folders = WorkspaceFolders()
    heard: list[list[str]] = []
    folders.subscribe(heard.append)
    folders.start({"workspaceFolders": [{"uri": ROOT, "name": "root"}, {"name": "no uri"}]})
    folders.change(WorkspaceFoldersChangeEvent(added=[WorkspaceFolder(OTHER, "o")], removed=[]))
    folders.change(WorkspaceFoldersChangeEvent(added=[], removed=[WorkspaceFolder(ROOT, "root")]))
    assert heard == [[ROOT], [ROOT, OTHER], [OTHER]]
