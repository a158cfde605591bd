"""What a restart settles at the editor, checked precisely with the fault-injecting fake gopls."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from lsprotocol.types import LSPErrorCodes

from gosidecar.documents import DocumentStore
from gosidecar.uris import path_to_uri
from tests.lsp_client import LspClient, LspError
from tests.support import FAKE_GOPLS, sidecar_command

pytestmark = pytest.mark.timeout(60)


@pytest.fixture
def fake(tmp_path: Path) -> Iterator[LspClient]:
    marker = tmp_path / "hang-once"
    marker.touch()
    client = LspClient(sidecar_command(), env={"FAKE_GOPLS_HANG_ONCE": str(marker)}, cwd=str(tmp_path))
    client.initialize(path_to_uri(tmp_path), {"gopls": {"path": str(FAKE_GOPLS)}})
    yield client
    client.shutdown()


def crash(client: LspClient) -> None:
    client.notify("fake/crash")
    client.wait_for_notification("window/showMessage", lambda p: "restarted gopls" in p["message"])


def test_in_flight_requests_are_retried_or_fail_with_content_modified(fake: LspClient) -> None:
    safe = fake.request_async("textDocument/hover", {"hang": True})
    unsafe = fake.request_async("textDocument/rename", {"hang": True})
    crash(fake)
    assert safe.result(10) == {"method": "textDocument/hover", "params": {"hang": True}}
    with pytest.raises(LspError) as caught:
        unsafe.result(10)
    assert caught.value.code == -32801


def test_progress_diagnostics_and_registrations_of_the_dead_gopls_are_settled(fake: LspClient) -> None:
    fake.notify("fake/leaveState")
    fake.wait_for_notification("textDocument/publishDiagnostics", lambda p: p["diagnostics"])
    crash(fake)
    fake.wait_for_notification("$/progress", lambda p: p["token"] == "load-1" and p["value"]["kind"] == "end")
    fake.wait_for_notification(
        "textDocument/publishDiagnostics", lambda p: p["uri"] == "file:///closed.go" and p["diagnostics"] == []
    )
    unregistered = [m for m in fake.server_requests if m.method == "client/unregisterCapability"]
    assert unregistered[0].params == {"unregisterations": [{"id": "fmt-1", "method": "textDocument/formatting"}]}


def test_requests_of_a_new_gopls_cannot_be_mistaken_for_the_old_ones(fake: LspClient) -> None:
    crash(fake)
    assert fake.request("fake/askClient") == "asked"
    asked = [m for m in fake.server_requests if m.method == "workspace/configuration"]
    assert asked[-1].id == "gopls2:9001", "the new gopls's request id was not told apart from the old one's"


def test_editor_edits_around_a_crash_reach_the_new_gopls(tmp_path: Path) -> None:
    log = tmp_path / "received.jsonl"
    client = LspClient(sidecar_command(), env={"FAKE_GOPLS_LOG": str(log)}, cwd=str(tmp_path))
    client.initialize(path_to_uri(tmp_path), {"gopls": {"path": str(FAKE_GOPLS)}})
    try:
        uri = path_to_uri(tmp_path / "a.go")
        item = {"uri": uri, "languageId": "go", "version": 1, "text": "package a\n"}
        client.notify("textDocument/didOpen", {"textDocument": item})
        client.notify("fake/crash")
        for version in (2, 3):  # races the crash: may reach the old gopls, the backlog or the new one
            end = {"line": version - 1, "character": 0}
            edit = {"range": {"start": end, "end": end}, "text": f"var x{version} = 1\n"}
            client.notify(
                "textDocument/didChange", {"textDocument": {"uri": uri, "version": version}, "contentChanges": [edit]}
            )
        client.wait_for_notification("window/showMessage", lambda p: "restarted gopls" in p["message"])
        client.request("fake/echo", {}, timeout=20)
    finally:
        client.shutdown()
    assert _text_seen_by_the_last_gopls(log, uri) == "package a\nvar x2 = 1\nvar x3 = 1\n"


def _text_seen_by_the_last_gopls(log: Path, uri: str) -> str:
    """Replays what the newest fake gopls received (from its last `initialize` on)."""
    bodies = [json.loads(json.loads(line)) for line in log.read_text().splitlines()]
    start = max(i for i, body in enumerate(bodies) if body.get("method") == "initialize")
    store = DocumentStore()
    for body in bodies[start:]:
        handler = {"textDocument/didOpen": store.did_open, "textDocument/didChange": store.did_change}.get(
            body.get("method", "")
        )
        if handler is not None:
            handler(body["params"])
    doc = store.get(uri)
    assert doc is not None, "the new gopls never heard of the document"
    return doc.text


def test_a_failed_replay_counts_as_a_restart_and_never_wedges_the_link(tmp_path: Path) -> None:
    """Every new gopls refuses its `initialize`: the policy gives up and requests get errors at once."""
    refuse = tmp_path / "refuse-initialize"
    client = LspClient(sidecar_command(), env={"FAKE_GOPLS_FAIL_INIT": str(refuse)}, cwd=str(tmp_path))
    client.initialize(path_to_uri(tmp_path), {"gopls": {"path": str(FAKE_GOPLS)}})
    try:
        refuse.touch()
        client.notify("fake/crash")
        waiting = client.request_async("textDocument/hover", {"waits": "for a gopls"})
        with pytest.raises(LspError) as caught:
            waiting.result(60)
        assert caught.value.code == LSPErrorCodes.RequestFailed and "stopped" in str(caught.value)
        report = client.request("goSidecar/health")
        assert len(report["gopls"]["restartLog"]) >= 2, "the failed replays were not counted as restarts"
        assert not report["gopls"]["running"]
        with pytest.raises(LspError, match="stopped"):
            client.request("textDocument/hover", {}, timeout=10)

        refuse.unlink()
        assert client.request("goSidecar/restartGopls", timeout=30) is None
        assert client.request("textDocument/hover", {"back": True}, timeout=10)["params"] == {"back": True}
    finally:
        client.shutdown()


def test_settings_gopls_cannot_start_with_leave_the_sidecar_answering(tmp_path: Path) -> None:
    client = LspClient(sidecar_command(), cwd=str(tmp_path))
    try:
        options = {"gopls": {"path": str(FAKE_GOPLS), "env": {"BROKEN": "a\u0000b"}}}
        assert "capabilities" in client.initialize(path_to_uri(tmp_path), options)
        with pytest.raises(LspError) as caught:
            client.request("textDocument/hover", {}, timeout=10)
        assert caught.value.code == LSPErrorCodes.RequestFailed and "gopls.env" in str(caught.value)
    finally:
        client.shutdown()
