"""The memory limit really reaches gopls v0.24 through its `memoryLimit` setting, and the
user's own `memoryLimit` wins over ours.

Seen from gopls itself: with GOGC=off and GOMEMLIMIT=off in its environment, the Go
runtime only collects when a memory limit set with debug.SetMemoryLimit, which is what
`memoryLimit` does, is near, so gopls's heap goal (NextGC in runtime.MemStats, read from
its own debug server) sits just under that limit, and is astronomically large without one.
"""

from __future__ import annotations

import re
import time
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from gosidecar.message import Message
from gosidecar.uris import path_to_uri
from tests.lsp_client import LspClient
from tests.reach.gopls_ends import NEWEST, OLDEST, cached_gopls
from tests.support import free_port, sidecar_command

pytestmark = pytest.mark.timeout(180)

MiB = 1024 * 1024
OUR_LIMIT_MB = 2048
OUR_SOFT_LIMIT = int(OUR_LIMIT_MB * MiB * 0.9)  # our memoryLimit: 90 % of limitMB
USER_LIMIT = 512 * MiB


def read_heap_goal(port: int) -> int | None:
    """NextGC from the debug server of the gopls on `port`; None while none listens there."""
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/debug/pprof/heap?debug=1", timeout=30) as page:
            profile = page.read().decode()
    except OSError:
        return None
    found = re.search(r"^# NextGC = (\d+)$", profile, re.MULTILINE)
    assert found is not None, profile[-2000:]
    return int(found.group(1))


def gopls_heap_goal(
    gopls_version: str,
    workspace: Path,
    user_gopls_settings: dict[str, Any],
    settings_changed: bool = False,
    expected_limit: int = 0,
) -> int:
    """gopls's NextGC after loading `workspace` through the sidecar with our limit on (and,
    with `settings_changed`, after a didChangeConfiguration, which makes gopls ask again).

    With `expected_limit`, waits (up to a minute) for a goal under it: the user's own value
    takes a restart of gopls, which may still be under way when the workspace has loaded.
    """
    port = free_port()
    options = {
        "memory": {"limitMB": OUR_LIMIT_MB, "spikeMB": 0},
        "gopls": {
            "path": str(cached_gopls(gopls_version)),
            "args": [f"-debug=127.0.0.1:{port}"],
            "env": {"GOGC": "off", "GOMEMLIMIT": "off"},
        },
    }

    def editor_answer(message: Message) -> Any:
        if message.method == "workspace/configuration":
            items = (message.params or {}).get("items") or []
            return [user_gopls_settings if item.get("section") == "gopls" else None for item in items]
        return None

    client = LspClient(sidecar_command(), cwd=str(workspace))
    client.on_server_request = editor_answer
    try:
        client.initialize(path_to_uri(workspace), options)
        client.request("workspace/symbol", {"query": ""}, timeout=120)  # loaded: configuration applied
        if settings_changed:
            client.notify("workspace/didChangeConfiguration", {"settings": {"goSidecar": options}})
            client.request("workspace/symbol", {"query": ""}, timeout=120)  # after the re-read settings
        deadline = time.monotonic() + 60
        goal = read_heap_goal(port)
        while (goal is None or goal > expected_limit > 0) and time.monotonic() < deadline:
            time.sleep(0.2)
            goal = read_heap_goal(port)
    finally:
        client.shutdown()
    assert goal is not None, f"no gopls debug server on port {port}"
    return goal


def assert_gopls_limited_to(limit: int, workspace: Path, user: dict[str, Any], settings_changed: bool = False) -> None:
    goal = gopls_heap_goal(NEWEST, workspace, user, settings_changed=settings_changed, expected_limit=limit)
    # The runtime keeps the heap goal under the limit by its non-heap memory and a little headroom.
    assert limit * 0.8 < goal <= limit, f"heap goal {goal / MiB:.0f} MiB for a limit of {limit / MiB:.0f} MiB"


# gopls v0.24 applies `memoryLimit` (process-wide) only from `initialize` and, after a
# didChangeConfiguration, only when some folder's settings changed: the sidecar puts it in
# `initialize`, and restarts gopls once when the user's own value turns up at start-up.


def test_our_memory_limit_reaches_gopls(example_workspace: Path) -> None:
    assert_gopls_limited_to(OUR_SOFT_LIMIT, example_workspace, {})


def test_the_users_memory_limit_wins(example_workspace: Path) -> None:
    assert_gopls_limited_to(USER_LIMIT, example_workspace, {"memoryLimit": USER_LIMIT})


def test_our_memory_limit_reaches_gopls_after_a_settings_change(example_workspace: Path) -> None:
    assert_gopls_limited_to(OUR_SOFT_LIMIT, example_workspace, {}, settings_changed=True)


def test_the_users_memory_limit_wins_after_a_settings_change(example_workspace: Path) -> None:
    assert_gopls_limited_to(USER_LIMIT, example_workspace, {"memoryLimit": USER_LIMIT}, settings_changed=True)


def test_without_the_setting_gopls_has_no_limit(example_workspace: Path) -> None:
    """The control: gopls v0.23 has no `memoryLimit`, so the sidecar sends none."""
    goal = gopls_heap_goal(OLDEST, example_workspace, {})
    assert goal > 1024 * 1024 * MiB, f"heap goal {goal / MiB:.0f} MiB: some limit is set"
