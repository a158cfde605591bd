"""Messages pass through byte for byte, both ways; faults on the gopls side are survived.

These use the fake gopls (tests/fake_gopls.py), which logs exactly what it receives and
misbehaves on cue.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from gosidecar.framing import frame_header
from gosidecar.uris import path_to_uri
from tests.lsp_client import LspClient, LspError
from tests.support import FAKE_GOPLS, sidecar_command, wait_until

pytestmark = pytest.mark.timeout(60)


class FakeSession:
    def __init__(self, client: LspClient, log: Path) -> None:
        self.client = client
        self.log = log

    def received(self) -> list[str]:
        if not self.log.exists():
            return []
        return [json.loads(line) for line in self.log.read_text().splitlines()]

    def wait_received(self, predicate: Callable[[str], bool], timeout: float = 10.0) -> str:
        """The last body the fake received that matches `predicate`, once there is one."""
        wait_until(lambda: any(map(predicate, self.received())), timeout, "the fake gopls to receive it")
        return [body for body in self.received() if predicate(body)][-1]


@pytest.fixture
def fake(tmp_path: Path) -> Iterator[FakeSession]:
    log = tmp_path / "received.jsonl"
    client = LspClient(sidecar_command(), env={"FAKE_GOPLS_LOG": str(log)}, cwd=str(tmp_path))
    client.initialize(path_to_uri(tmp_path), {"gopls": {"path": str(FAKE_GOPLS)}})
    yield FakeSession(client, log)
    client.shutdown()


def test_initialize_merges_the_sidecar_capabilities(tmp_path: Path) -> None:
    client = LspClient(sidecar_command(), cwd=str(tmp_path))
    try:
        result = client.initialize(path_to_uri(tmp_path), {"gopls": {"path": str(FAKE_GOPLS)}})
    finally:
        client.shutdown()
    assert result["capabilities"] == {
        "hoverProvider": True,
        "textDocumentSync": 2,
        "inlineCompletionProvider": {},
    }
    assert result["serverInfo"] == {"name": "fake-gopls"}


def test_client_bytes_reach_gopls_unchanged(fake: FakeSession) -> None:
    body = '{"id":7,  "params":{"b":1,"a":"é 😀 \\u00e9","extra":[null,true]},"method":"custom/thing","jsonrpc":"2.0"}'
    fake.client.send_raw(frame_header(len(body.encode())) + body.encode())
    assert fake.wait_received(lambda b: "custom/thing" in b) == body


def test_cancel_and_unknown_notifications_pass(fake: FakeSession) -> None:
    fake.client.notify("$/cancelRequest", {"id": 12345})
    fake.client.notify("custom/notification", {"anything": {"goes": 1}})
    assert json.loads(fake.wait_received(lambda b: "$/cancelRequest" in b))["params"] == {"id": 12345}
    assert json.loads(fake.wait_received(lambda b: "custom/notification" in b))["params"] == {"anything": {"goes": 1}}


def test_server_to_client_request_and_its_answer(fake: FakeSession) -> None:
    assert fake.client.request("fake/askClient") == "asked"
    asked = next(m for m in fake.client.server_requests if m.method == "workspace/configuration")
    assert asked.id == 9001
    answer = json.loads(fake.wait_received(lambda b: '"id": 9001' in b or '"id":9001' in b))
    assert answer["result"] == [None]


def test_large_answer_arrives_whole(fake: FakeSession) -> None:
    assert fake.client.request("fake/big", {"size": 5_000_000}) == "x" * 5_000_000


def test_garbage_from_gopls_is_skipped(fake: FakeSession) -> None:
    fake.client.notify("fake/garbage")
    fake.client.wait_for_notification("fake/afterGarbage")
    assert fake.client.request("fake/echo", {"still": "alive"}) == {
        "method": "fake/echo",
        "params": {"still": "alive"},
    }


def test_sidecar_requests_are_not_sent_to_gopls(fake: FakeSession) -> None:
    report = fake.client.request("goSidecar/health")
    assert report["gopls"]["running"] is True
    assert not any("goSidecar/health" in body for body in fake.received())


def test_missing_gopls_is_a_clear_error_and_the_sidecar_stays_up(tmp_path: Path) -> None:
    client = LspClient(sidecar_command(), cwd=str(tmp_path))
    try:
        result = client.initialize(path_to_uri(tmp_path), {"gopls": {"path": str(tmp_path / "no-gopls")}})
        assert result["capabilities"] == {"inlineCompletionProvider": {}}
        shown = client.wait_for_notification("window/showMessage")
        assert "gopls.path" in shown["message"] and shown["type"] == 1
        with pytest.raises(LspError, match="not an executable"):
            client.request(
                "textDocument/hover",
                {"textDocument": {"uri": "file:///x.go"}, "position": {"line": 0, "character": 0}},
                timeout=5,
            )
        report = client.request("goSidecar/health")
        assert report["ok"] is False and report["gopls"]["running"] is False
        assert "gopls.path" in report["problems"][0]["fix"]
        assert report["problems"][0]["action"] == {"kind": "setting", "key": "goSidecar.gopls.path", "value": None}
    finally:
        client.shutdown()


def test_gopls_error_messages_become_health_problems(fake: FakeSession) -> None:
    fake.client.notify("fake/showError")
    shown = fake.client.wait_for_notification("window/showMessage")
    assert shown["message"] == "Error loading workspace folders"  # the editor still sees it
    report = fake.client.request("goSidecar/health")
    assert report["ok"] is False
    assert report["problems"][0]["message"] == "gopls: Error loading workspace folders"
    assert "go list" in report["problems"][0]["fix"]
    assert report["problems"][0]["action"] == {
        "kind": "command",
        "command": "goSidecar.restartGopls",
        "title": "Restart gopls",
    }


def test_sidecar_settings_do_not_reach_gopls(fake: FakeSession) -> None:
    initialize = json.loads(fake.wait_received(lambda b: '"initialize"' in b))
    assert "initializationOptions" not in initialize["params"]


def test_gopls_dying_inside_a_large_answer_leaves_the_stream_in_step(fake: FakeSession) -> None:
    with pytest.raises(LspError) as caught:
        fake.client.request("fake/bigThenDie", {"size": 3_000_000}, timeout=20)
    assert caught.value.code == -32801  # ContentModified: not a read that is safe to retry
    fake.client.wait_for_notification("window/showMessage", lambda p: "restarted gopls" in p["message"])
    assert fake.client.request("fake/echo", {"after": "crash"})["params"] == {"after": "crash"}
