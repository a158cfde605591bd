"""With a real gopls: its own registration drives the service, and its own
`-rpc.trace` log shows what it received."""

from __future__ import annotations

import json
import re
import time
from pathlib import Path
from typing import Any

from gosidecar.file_events import FileEventService
from gosidecar.file_events.wiring import WATCHED_FILES
from gosidecar.lsp_client import LspClient
from gosidecar.message import Message
from gosidecar.settings import FileEventSettings
from tests.file_events.support import DEBOUNCE_MS, append, uri_of

# gopls's trace names the editor's notifications "Sending notification" (it logs from
# the client's point of view).
_RECEIVED = re.compile(
    r"Sending notification 'workspace/didChangeWatchedFiles'\.\s*Params: (\{.*?\})\s*\n\n",
    re.DOTALL,
)


def _received_changes(log: Path) -> list[dict[str, Any]]:
    text = log.read_text(errors="replace") + "\n\n"
    return [c for match in _RECEIVED.finditer(text) for c in json.loads(match.group(1))["changes"]]


def test_gopls_receives_one_event_for_a_file_with_many_names(
    gopls_path: str, example_workspace: Path, tmp_path: Path
) -> None:
    inventory = example_workspace / "inventory"
    (example_workspace / "bazel-out").symlink_to(example_workspace, target_is_directory=True)
    (example_workspace / "linked").symlink_to("inventory", target_is_directory=True)
    (example_workspace / "abs").symlink_to(inventory, target_is_directory=True)
    log = tmp_path / "gopls.log"
    gopls = LspClient([gopls_path, "serve", "-rpc.trace", f"-logfile={log}"], cwd=str(example_workspace))
    service = FileEventService(
        lambda changes: gopls.notify(WATCHED_FILES, {"changes": changes}),
        FileEventSettings(DEBOUNCE_MS),
        [str(example_workspace)],
    )

    def answer(message: Message) -> Any:
        for entry in (message.params or {}).get("registrations", []):
            if entry.get("method") == WATCHED_FILES:
                service.on_register(entry["id"], entry["registerOptions"])
        return None if message.method != "workspace/configuration" else [None]

    gopls.on_server_request = answer
    try:
        gopls.initialize(uri_of(example_workspace))
        gopls.request("workspace/symbol", {"query": "Item"}, timeout=120)
        deadline = time.monotonic() + 30
        while not service.health_section()["watchedDirectories"] and time.monotonic() < deadline:
            time.sleep(0.05)
        assert service.wait_idle()
        for alias in ("inventory", "linked", "abs", "bazel-out/inventory"):
            append(example_workspace / alias / "inventory.go")
        expected = [{"uri": uri_of(inventory / "inventory.go"), "type": 2}]
        deadline = time.monotonic() + 10
        while _received_changes(log) != expected and time.monotonic() < deadline:
            time.sleep(0.1)
        time.sleep(4 * DEBOUNCE_MS / 1000)
        assert _received_changes(log) == expected
    finally:
        service.close()
        gopls.shutdown()
