"""No single message stops the sidecar (issue 9, item 3 and the ids of item 7).

Each test sends what once made `gosidecar serve` exit, lose an answer or let gopls see
something the sidecar did not record, then checks that the next request is answered
and what reached gopls (the fake gopls logs every body it receives). The fuzzer in
test_schema_fuzz.py sends all of these and more to a real gopls.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from lsprotocol.types import ErrorCodes, LSPErrorCodes

from gosidecar.framing import frame_header
from gosidecar.uris import path_to_uri
from tests.lsp_client import LspClient, LspError
from tests.support import FAKE_GOPLS, sidecar_command, wait_until

pytestmark = pytest.mark.timeout(60)


class Session:
    def __init__(self, root: Path, gopls: str = str(FAKE_GOPLS)) -> None:
        self.log = root / "gopls-received.jsonl"
        self.client = LspClient(sidecar_command(), env={"FAKE_GOPLS_LOG": str(self.log)}, cwd=str(root))
        self.root_uri = path_to_uri(root)
        self.gopls = gopls

    def initialize(self) -> None:
        self.client.initialize(self.root_uri, {"gopls": {"path": self.gopls}})

    def send(self, obj: dict[str, Any]) -> None:
        body = json.dumps(obj).encode()
        self.client.send_raw(frame_header(len(body)) + body)

    def alive(self) -> None:
        """The next request is answered (by gopls, through the sidecar)."""
        assert self.client.request("fake/echo", {"alive": True}, timeout=20)["params"] == {"alive": True}
        assert self.client.process.poll() is None

    def received(self, method: str) -> list[dict[str, Any]]:
        if not self.log.exists():
            return []
        bodies = [json.loads(json.loads(line)) for line in self.log.read_text().splitlines()]
        return [b for b in bodies if b.get("method") == method]

    def error_answers(self) -> list[tuple[Any, int]]:
        return [(m.obj["id"], m.obj["error"]["code"]) for m in self.client.unmatched_responses if "error" in m.obj]


@pytest.fixture
def session(tmp_path: Path) -> Iterator[Session]:
    started = Session(tmp_path)
    started.initialize()
    yield started
    started.client.shutdown()


def test_deeply_nested_json_gets_a_parse_error(session: Session) -> None:
    body = b'{"jsonrpc":"2.0","id":5,"method":"textDocument/hover","params":' + b"[" * 50_000 + b"]" * 50_000 + b"}"
    session.client.send_raw(frame_header(len(body)) + body)
    session.alive()
    assert session.error_answers() == [(None, ErrorCodes.ParseError)]


def test_workspace_folders_of_the_wrong_shape_are_dropped(session: Session) -> None:
    params = {"event": {"added": [], "removed": [1]}}
    session.send({"jsonrpc": "2.0", "method": "workspace/didChangeWorkspaceFolders", "params": params})
    session.alive()
    assert session.received("workspace/didChangeWorkspaceFolders") == []


def test_initialize_with_the_wrong_capabilities_gets_an_error_then_a_good_one_works(tmp_path: Path) -> None:
    session = Session(tmp_path)
    try:
        with pytest.raises(LspError) as refused:
            session.client.request("initialize", {"processId": None, "rootUri": session.root_uri, "capabilities": []})
        assert refused.value.code == ErrorCodes.InvalidParams
        session.initialize()
        session.alive()
        assert len(session.received("initialize")) == 1
        with pytest.raises(LspError) as second:  # gopls refuses a second one; so does the sidecar
            session.client.request("initialize", {"processId": None, "rootUri": session.root_uri, "capabilities": {}})
        assert second.value.code == ErrorCodes.InvalidRequest
        assert len(session.received("initialize")) == 1
    finally:
        session.client.shutdown()


@pytest.mark.parametrize("msg_id", [None, 1.5, True, {"n": 1}])
def test_a_request_with_an_unusable_id_is_refused_not_forwarded(session: Session, msg_id: object) -> None:
    item = {"uri": session.root_uri + "/a.go", "languageId": "go", "version": 1, "text": "package a\n"}
    session.send({"jsonrpc": "2.0", "id": msg_id, "method": "textDocument/didOpen", "params": {"textDocument": item}})
    session.alive()
    assert session.received("textDocument/didOpen") == []
    assert session.error_answers() == [(None, ErrorCodes.InvalidRequest)]


def test_a_notification_sent_as_a_request_is_refused_with_its_id(session: Session) -> None:
    item = {"uri": session.root_uri + "/a.go", "languageId": "go", "version": 1, "text": "package a\n"}
    session.send({"jsonrpc": "2.0", "id": 41, "method": "textDocument/didOpen", "params": {"textDocument": item}})
    session.alive()
    assert session.received("textDocument/didOpen") == []
    assert session.error_answers() == [(41, ErrorCodes.InvalidRequest)]


def test_a_did_change_the_mirror_cannot_read_is_not_forwarded(session: Session) -> None:
    uri = session.root_uri + "/a.go"
    item = {"uri": uri, "languageId": "go", "version": 1, "text": "package a\n"}
    session.send({"jsonrpc": "2.0", "method": "textDocument/didOpen", "params": {"textDocument": item}})
    bad = {"textDocument": {"uri": uri, "version": "2"}, "contentChanges": [{"text": "package b\n"}]}
    session.send({"jsonrpc": "2.0", "method": "textDocument/didChange", "params": bad})
    session.alive()
    assert len(session.received("textDocument/didOpen")) == 1
    assert session.received("textDocument/didChange") == []


def test_a_bad_escape_from_gopls_is_dropped_not_taken_for_a_crash(session: Session) -> None:
    pid = session.client.request("goSidecar/health", None)["gopls"]["pid"]
    assert session.client.request("fake/badEscape", {})["method"] == "fake/badEscape"
    session.alive()
    gopls = session.client.request("goSidecar/health", None)["gopls"]
    assert (gopls["pid"], gopls["restarts"]) == (pid, 0)


def test_an_editor_id_shaped_like_the_sidecars_own_is_answered(tmp_path: Path) -> None:
    # No gopls: requests are answered with an error at once. An id that merely looked
    # like the sidecar's own ("gosidecar-N") used to be taken for one and never answered.
    session = Session(tmp_path, gopls=str(tmp_path / "no-such-gopls"))
    try:
        session.initialize()
        future = session.client.request_async("textDocument/hover", {})
        for msg_id in ("gosidecar-1", "gosidecar-2"):
            session.send({"jsonrpc": "2.0", "id": msg_id, "method": "textDocument/hover", "params": {}})
        with pytest.raises(LspError):
            future.result(20)
        wait_until(lambda: len(session.error_answers()) == 2, 20, "answers to both requests")
        assert {code for _, code in session.error_answers()} == {LSPErrorCodes.RequestFailed}
    finally:
        session.client.shutdown()


def test_an_over_limit_frame_does_not_swallow_what_follows(session: Session) -> None:
    session.client.send_raw(b"Content-Length: 999999999999\r\n\r\n" + b"x" * 1000)
    session.alive()
