"""gopls restarts with real gopls: crashes, memory limits, spikes; nothing the editor knew is lost."""

from __future__ import annotations

import os
import signal
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from gosidecar.documents import position_at
from gosidecar.uris import path_to_uri
from tests.lsp_client import LspClient, LspError
from tests.support import huge_generated_go_file, sidecar_command, wait_until
from tests.test_health_report import SCHEMA, schema_errors

pytestmark = pytest.mark.timeout(180)

PRICING = "pricing/pricing.go"
UNSAVED_FUNC = "\n// Unsaved exists only in the editor's buffer.\nfunc Unsaved() int { return notDefinedAnywhere }\n"


def start(workspace: Path, options: dict[str, Any] | None = None, *sidecar_flags: str) -> LspClient:
    client = LspClient(sidecar_command(*sidecar_flags), cwd=str(workspace))
    client.initialize(path_to_uri(workspace), options)
    client.request("workspace/symbol", {"query": ""}, timeout=120)
    return client


def health(client: LspClient) -> dict[str, Any]:
    report: dict[str, Any] = client.request("goSidecar/health")
    return report


@pytest.fixture
def editing(example_workspace: Path) -> Iterator[tuple[LspClient, Path, str]]:
    """A session with pricing.go open and an unsaved edit that adds `Unsaved()`."""
    client = start(example_workspace)
    path = example_workspace / PRICING
    uri = path_to_uri(path)
    text = path.read_text()
    client.notify(
        "textDocument/didOpen", {"textDocument": {"uri": uri, "languageId": "go", "version": 1, "text": text}}
    )
    end = {"line": text.count("\n"), "character": 0}
    edit = {"range": {"start": end, "end": end}, "text": UNSAVED_FUNC}
    client.notify("textDocument/didChange", {"textDocument": {"uri": uri, "version": 2}, "contentChanges": [edit]})
    client.wait_for_notification("textDocument/publishDiagnostics", lambda p: p["uri"] == uri and p.get("version") == 2)
    yield client, path, text + UNSAVED_FUNC
    client.shutdown()


def hover_on(client: LspClient, path: Path, text: str, needle: str) -> str:
    line, character = position_at(text, text.index(needle) + 1)
    result = client.request(
        "textDocument/hover",
        {"textDocument": {"uri": path_to_uri(path)}, "position": {"line": line, "character": character}},
        timeout=60,
    )
    return str(result["contents"]["value"]) if result else ""


def test_kill_9_mid_edit_keeps_unsaved_text(editing: tuple[LspClient, Path, str]) -> None:
    client, path, text = editing
    assert health(client)["gopls"]["restarts"] == 0, "restarted during a normal workspace load"
    old_pid = health(client)["gopls"]["pid"]
    uri = path_to_uri(path)
    line, character = position_at(text, text.index("sum += item.Quantity") + 4)
    in_flight = client.request_async(
        "textDocument/completion", {"textDocument": {"uri": uri}, "position": {"line": line, "character": character}}
    )
    os.kill(old_pid, signal.SIGKILL)

    result = in_flight.result(timeout=30)
    assert any(item["label"] == "sum" for item in result["items"]), "the retried completion was not answered"
    assert "func Unsaved() int" in hover_on(client, path, text, "Unsaved() int")
    report = health(client)
    assert report["gopls"]["pid"] != old_pid and report["gopls"]["running"]
    assert [entry["reason"] for entry in report["gopls"]["restartLog"]] == ["crash"]
    client.wait_for_notification(
        "textDocument/publishDiagnostics",
        lambda p: p["uri"] == uri and any("notDefinedAnywhere" in d["message"] for d in p["diagnostics"]),
        timeout=60,
    )
    shown = client.wait_for_notification("window/showMessage", lambda p: "restarted gopls" in p["message"])
    assert "crash" in shown["message"]


def test_manual_restart_answers_once_gopls_is_back(editing: tuple[LspClient, Path, str]) -> None:
    client, path, text = editing
    old_pid = health(client)["gopls"]["pid"]
    assert client.request("goSidecar/restartGopls", timeout=60) is None
    report = health(client)
    assert report["gopls"]["running"] and report["gopls"]["pid"] != old_pid
    assert report["gopls"]["restartLog"][-1]["reason"] == "manual"
    assert report["gopls"]["restartLog"][-1]["rssBytes"] > 0, "the replaced gopls's memory is recorded"
    assert "func Unsaved() int" in hover_on(client, path, text, "Unsaved() int")


def test_limit_gopls_cannot_live_under_is_bounded_then_recovers(example_workspace: Path) -> None:
    client = LspClient(sidecar_command(), cwd=str(example_workspace))
    try:
        client.initialize(path_to_uri(example_workspace), {"memory": {"limitMB": 16}})
        wait_until(lambda: any(p["severity"] == "error" for p in health(client)["problems"]), 90, "giving up")
        report = health(client)
        reasons = [entry["reason"] for entry in report["gopls"]["restartLog"]]
        assert set(reasons) == {"rss-limit"} and 3 <= len(reasons) <= 6
        assert "limitMB" in report["problems"][0]["fix"]
        assert report["problems"][0]["action"] == {"kind": "setting", "key": "goSidecar.memory.limitMB", "value": 32}
        assert schema_errors(report, SCHEMA) == []
        with pytest.raises(LspError, match="stopped"):
            client.request("workspace/symbol", {"query": "Total"}, timeout=5)

        client.notify("workspace/didChangeConfiguration", {"settings": {"goSidecar": {"memory": {"limitMB": 4096}}}})
        wait_until(lambda: health(client)["gopls"]["running"], 30, "gopls to come back")
        symbols = client.request("workspace/symbol", {"query": "Total"}, timeout=60)
        assert any(symbol["name"] == "Total" for symbol in symbols)
        assert not health(client)["problems"]
    finally:
        client.shutdown()


def test_real_spike_restarts_gopls(example_workspace: Path, tmp_path: Path) -> None:
    """A package with a huge generated file opened after the load: gopls grows far past its usual size.

    Real time, the production spike policy: the watchdog judges spikes only once the load
    settled (at least 20 s, then 10 s flat), which its log tells."""
    log = tmp_path / "sidecar.log"
    client = start(example_workspace, {"memory": {"spikeMB": 200}}, f"--log-file={log}")
    try:
        wait_until(lambda: "load settled" in log.read_text(), 120, "the watchdog to judge spikes")
        assert health(client)["gopls"]["restarts"] == 0
        generated = example_workspace / "inventory" / "generated.go"
        uri = path_to_uri(generated)
        text = huge_generated_go_file(20000)
        client.notify(
            "textDocument/didOpen", {"textDocument": {"uri": uri, "languageId": "go", "version": 1, "text": text}}
        )
        wait_until(lambda: health(client)["gopls"]["restarts"] >= 1, 90, "an rss-spike restart")
        assert health(client)["gopls"]["restartLog"][0]["reason"] == "rss-spike"
        wait_until(lambda: health(client)["gopls"]["running"], 30, "gopls to come back")
        symbols = client.request("textDocument/documentSymbol", {"textDocument": {"uri": uri}}, timeout=120)
        assert len(symbols) >= 20000, "the replayed document is missing from the new gopls"
    finally:
        client.shutdown()
