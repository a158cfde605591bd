"""With a real gopls: its own registration drives the service, and its own
`-rpc.trace` log shows what it received."""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from lsprotocol.types import FileChangeType

from gosidecar.file_events import FileEventService
from gosidecar.file_events.wiring import WATCHED_FILES
from gosidecar.message import Message
from gosidecar.settings import FileEventSettings
from tests.file_events.support import DEBOUNCE_MS, append, passed_on_everything, uri_of
from tests.lsp_client import LspClient
from tests.support import wait_until

# gopls's trace names the editor's notifications "Sending notification" (it logs from
# the client's point of view).
_RECEIVED = re.compile(
    r"Sending notification 'workspace/didChangeWatchedFiles'\.\s*Params: (\{.*?\})\s*\n\n",
    re.DOTALL,
)


def _received_changes(log: Path) -> list[dict[str, Any]]:
    text = log.read_text(errors="replace") + "\n\n"
    return [c for match in _RECEIVED.finditer(text) for c in json.loads(match.group(1))["changes"]]


@contextmanager
def _gopls_watched_by_service(gopls_path: str, workspace: Path, log: Path) -> Iterator[FileEventService]:
    """A real gopls (tracing to `log`) whose watched-file registration drives a service
    for `workspace`; yields once the service watches the workspace."""
    gopls = LspClient([gopls_path, "serve", "-rpc.trace", f"-logfile={log}"], cwd=str(workspace))
    service = FileEventService(
        lambda changes: gopls.notify(WATCHED_FILES, {"changes": changes}),
        FileEventSettings(DEBOUNCE_MS),
        [str(workspace)],
    )

    def answer(message: Message) -> Any:
        for entry in (message.params or {}).get("registrations", []):
            if entry.get("method") == WATCHED_FILES:
                service.on_register(entry["id"], entry["registerOptions"])
        return None if message.method != "workspace/configuration" else [None]

    gopls.on_server_request = answer
    try:
        gopls.initialize(uri_of(workspace))
        gopls.request("workspace/symbol", {"query": "Item"}, timeout=120)
        wait_until(lambda: service.health_section()["watchedDirectories"], 30, "the service to watch")
        assert service.wait_idle()
        yield service
    finally:
        service.close()
        gopls.shutdown()


def _wait_received(service: FileEventService, log: Path, events_made: int) -> list[dict[str, Any]]:
    """What gopls received once the service passed on at least `events_made` file events."""
    wait_until(
        lambda: passed_on_everything(service.health_section(), events_made, len(_received_changes(log))),
        30,
        "the service to pass on every file event",
    )
    return _received_changes(log)


def test_gopls_receives_one_event_for_a_file_with_many_names(
    gopls_path: str, example_workspace: Path, tmp_path: Path
) -> None:
    inventory = example_workspace / "inventory"
    (example_workspace / "bazel-out").symlink_to(example_workspace, target_is_directory=True)
    (example_workspace / "linked").symlink_to("inventory", target_is_directory=True)
    (example_workspace / "abs").symlink_to(inventory, target_is_directory=True)
    log = tmp_path / "gopls.log"
    with _gopls_watched_by_service(gopls_path, example_workspace, log) as service:
        for alias in ("inventory", "linked", "abs", "bazel-out/inventory"):
            append(example_workspace / alias / "inventory.go")
        expected = [{"uri": uri_of(inventory / "inventory.go"), "type": FileChangeType.Changed}]
        assert _wait_received(service, log, 4) == expected


def test_gopls_receives_a_non_utf8_name_with_the_rest_of_its_window(
    gopls_path: str, example_workspace: Path, tmp_path: Path
) -> None:
    testdata = example_workspace / "inventory" / "testdata"
    testdata.mkdir()
    log = tmp_path / "gopls.log"
    with _gopls_watched_by_service(gopls_path, example_workspace, log) as service:
        Path(os.fsdecode(os.fsencode(testdata) + b"/caf\xe9.go")).write_text("package testdata\n")
        (testdata / "plain.go").write_text("package testdata\n")
        expected = [
            {"uri": uri_of(testdata) + "/caf%E9.go", "type": FileChangeType.Created},
            {"uri": uri_of(testdata / "plain.go"), "type": FileChangeType.Created},
        ]
        assert sorted(_wait_received(service, log, 2), key=lambda c: c["uri"]) == expected
