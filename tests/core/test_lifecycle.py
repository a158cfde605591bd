"""Start, stop and vanishing editors: gopls never outlives the sidecar."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import psutil
import pytest

from gosidecar.uris import path_to_uri
from tests.lsp_client import LspClient
from tests.support import sidecar_command

pytestmark = pytest.mark.timeout(60)


def started(workspace: Path) -> tuple[LspClient, int]:
    client = LspClient(sidecar_command(), cwd=str(workspace))
    client.initialize(path_to_uri(workspace))
    pid = client.request("goSidecar/health")["gopls"]["pid"]
    assert psutil.pid_exists(pid)
    return client, pid


def gone_within(pid: int, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            if psutil.Process(pid).status() == psutil.STATUS_ZOMBIE:
                return True
        except psutil.NoSuchProcess:
            return True
        time.sleep(0.05)
    return False


def test_shutdown_and_exit_are_clean(example_workspace: Path) -> None:
    client, gopls_pid = started(example_workspace)
    assert client.shutdown() == 0
    assert gone_within(gopls_pid, 2.0)


def test_exit_without_shutdown_exits_non_zero(example_workspace: Path) -> None:
    client, gopls_pid = started(example_workspace)
    client.notify("exit")
    assert client.process.wait(5) == 1
    assert gone_within(gopls_pid, 2.0)


def test_client_vanishing_stops_gopls_within_two_seconds(example_workspace: Path) -> None:
    client, gopls_pid = started(example_workspace)
    closed_at = time.monotonic()
    client.close()
    assert gone_within(gopls_pid, 2.0), "gopls outlived the editor's connection by 2 s"
    assert time.monotonic() - closed_at < 2.5


def test_killed_sidecar_takes_gopls_with_it(example_workspace: Path) -> None:
    client, gopls_pid = started(example_workspace)
    os.kill(client.process.pid, signal.SIGKILL)
    client.process.wait(5)
    assert gone_within(gopls_pid, 2.0), "gopls was orphaned by a killed sidecar"
    client.close()
