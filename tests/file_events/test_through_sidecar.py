"""Watched files end to end: editor ↔ `gosidecar serve` ↔ real gopls, on real inotify.

What gopls received is read from gopls's own `-rpc.trace -logfile` (set through the
`gopls.args` setting), not from the sidecar's say-so.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from lsprotocol.types import FileChangeType

from gosidecar.uris import path_to_uri
from tests.file_events.support import passed_on_everything
from tests.file_events.test_gopls import _received_changes
from tests.lsp_client import LspClient
from tests.support import sidecar_command, wait_until

pytestmark = pytest.mark.timeout(180)


class Session:
    def __init__(self, client: LspClient, root: Path, log: Path) -> None:
        self.client = client
        self.root = root
        self.log = log

    def received(self) -> list[dict[str, Any]]:
        return _received_changes(self.log) if self.log.exists() else []

    def wait_received(self, events_made: int, timeout: float = 30.0) -> list[dict[str, Any]]:
        """What gopls received once the sidecar passed on at least `events_made` file events."""
        wait_until(
            lambda: passed_on_everything(self.file_events(), events_made, len(self.received())),
            timeout,
            f"the sidecar to pass on {events_made} file events",
        )
        return self.received()

    def file_events(self) -> dict[str, Any]:
        events: dict[str, Any] = self.client.request("goSidecar/health")["fileEvents"]
        return events

    def wait_watching(self) -> None:
        wait_until(lambda: self.file_events().get("watchedDirectories"), 30, "the sidecar to watch")


@pytest.fixture
def session(example_workspace: Path, tmp_path: Path) -> Iterator[Session]:
    log = tmp_path / "gopls.log"
    client = LspClient(sidecar_command(), cwd=str(example_workspace))
    # A window long enough that a loaded machine's scheduling stalls do not split a burst;
    # the windows' exact timing is unit-tested in test_collapse.py.
    options = {"gopls": {"args": ["-rpc.trace", f"-logfile={log}"]}, "fileEvents": {"debounceMs": 500}}
    client.initialize(path_to_uri(example_workspace), options)
    client.request("workspace/symbol", {"query": ""}, timeout=120)
    opened = Session(client, example_workspace, log)
    opened.wait_watching()
    yield opened
    client.shutdown()


def test_the_editor_is_not_asked_to_watch_for_gopls(session: Session) -> None:
    for request in session.client.server_requests:
        registrations = (request.params or {}).get("registrations", [])
        assert all(r["method"] != "workspace/didChangeWatchedFiles" for r in registrations)


def test_one_event_per_real_file_through_aliases(example_workspace: Path, tmp_path: Path) -> None:
    inventory = example_workspace / "inventory"
    (example_workspace / ".cache").mkdir()
    (example_workspace / ".cache" / "out").symlink_to(example_workspace, target_is_directory=True)
    (example_workspace / "bazel-out").symlink_to(".cache/out", target_is_directory=True)  # a Bazel-style chain
    (example_workspace / "linked").symlink_to("inventory", target_is_directory=True)  # relative
    (example_workspace / "abs").symlink_to(inventory, target_is_directory=True)  # absolute
    log = tmp_path / "gopls.log"
    client = LspClient(sidecar_command(), cwd=str(example_workspace))
    client.initialize(path_to_uri(example_workspace), {"gopls": {"args": ["-rpc.trace", f"-logfile={log}"]}})
    client.request("workspace/symbol", {"query": ""}, timeout=120)
    session = Session(client, example_workspace, log)
    try:
        session.wait_watching()
        for alias in ("inventory", "linked", "abs", "bazel-out/inventory", ".cache/out/inventory"):
            with (example_workspace / alias / "inventory.go").open("a") as f:
                f.write("\n// touched\n")
        assert session.wait_received(5) == [  # one write through each name
            {"uri": path_to_uri(inventory / "inventory.go"), "type": FileChangeType.Changed}
        ]
        events = client.request("goSidecar/health")["fileEvents"]
        assert events["forwarded"] == 1 and events["received"] > 1 and events["suppressed"] >= 1
    finally:
        client.shutdown()


def test_fifty_writes_in_200_ms_are_at_most_two_events(session: Session) -> None:
    target = session.root / "pricing" / "pricing.go"
    original = target.read_text()
    for i in range(50):
        target.write_text(original + f"\n// write {i}\n")
        time.sleep(0.004)  # the burst's pace: the fault being injected, not a wait
    received = session.wait_received(50)
    assert 1 <= len(received) <= 2
    assert all(change["uri"] == path_to_uri(target) for change in received)


def test_create_then_delete_inside_the_window_is_nothing(session: Session) -> None:
    scratch = session.root / "pricing" / "scratch.go"
    scratch.write_text("package pricing\n")
    scratch.unlink()
    assert session.wait_received(2) == []


def test_generator_of_500_files_each_once_and_diagnostics_end_correct(session: Session) -> None:
    main = session.root / "main.go"
    uri = path_to_uri(main)
    text = main.read_text().replace('"os"\n', '"os"\n\n\t"example.com/shop/gen"\n')
    text = text.replace("func main() {\n", "func main() {\n\t_ = gen.F499()\n")
    client = session.client
    client.notify(
        "textDocument/didOpen", {"textDocument": {"uri": uri, "languageId": "go", "version": 1, "text": text}}
    )
    client.wait_for_notification(
        "textDocument/publishDiagnostics", lambda p: p["uri"] == uri and p["diagnostics"], timeout=60
    )
    generated = session.root / "gen"
    generated.mkdir()
    for i in range(500):
        (generated / f"gen_{i:03}.go").write_text(
            f"package gen\n\n// F{i} is generated.\nfunc F{i}() int {{ return {i} }}\n"
        )

    received = session.wait_received(500)
    uris = [change["uri"] for change in received]
    assert len(uris) == len(set(uris)) == 500, "a generated file reached gopls more or less than once"
    assert all(change["type"] == FileChangeType.Created for change in received)
    client.wait_for_notification(
        "textDocument/publishDiagnostics",
        lambda p: p["uri"] == uri and not p["diagnostics"],
        timeout=60,
    )


def test_symlink_cycle_does_not_hang(example_workspace: Path) -> None:
    (example_workspace / "inventory" / "loop").symlink_to("..", target_is_directory=True)
    client = LspClient(sidecar_command(), cwd=str(example_workspace))
    try:
        client.initialize(path_to_uri(example_workspace))
        client.request("workspace/symbol", {"query": ""}, timeout=60)
        Session(client, example_workspace, example_workspace / "none").wait_watching()
        assert client.request("goSidecar/health", timeout=10)["ok"]
    finally:
        client.shutdown()


def test_a_gowork_module_outside_the_folder_is_reported_not_watched(example_workspace: Path, tmp_path: Path) -> None:
    other = tmp_path / "other"
    (other / "sub").mkdir(parents=True)
    (other / "go.mod").write_text("module example.com/other\n\ngo 1.22\n")
    (other / "other.go").write_text("package other\n")
    (example_workspace / "go.work").write_text("go 1.22\n\nuse (\n\t.\n\t../other\n)\n")
    log = tmp_path / "gopls.log"
    client = LspClient(sidecar_command(), cwd=str(example_workspace))
    client.initialize(path_to_uri(example_workspace), {"gopls": {"args": ["-rpc.trace", f"-logfile={log}"]}})
    client.request("workspace/symbol", {"query": ""}, timeout=120)
    session = Session(client, example_workspace, log)
    try:
        session.wait_watching()
        wait_until(
            lambda: client.request("goSidecar/health")["fileEvents"]["skippedBases"] == [str(other)],
            30,
            "gopls's registration for ../other to be skipped",
        )
        report = client.request("goSidecar/health")
        assert report["fileEvents"]["watchedDirectories"] == 4  # the workspace and its 3 packages
        assert any(str(other) in p["message"] and "outside the workspace" in p["message"] for p in report["problems"])
        with (other / "other.go").open("a") as f:
            f.write("\n// not watched\n")
        target = example_workspace / "pricing" / "pricing.go"
        with target.open("a") as f:
            f.write("\n// watched\n")
        assert session.wait_received(1) == [{"uri": path_to_uri(target), "type": FileChangeType.Changed}]
    finally:
        client.shutdown()
