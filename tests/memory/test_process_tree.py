"""gopls's own children (`go list`, `go env`) never outlive gopls or the sidecar, however they end."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import psutil
import pytest

from gosidecar.uris import path_to_uri
from tests.lsp_client import LspClient
from tests.support import FAKE_GOPLS, sidecar_command, wait_until

pytestmark = pytest.mark.timeout(120)


def gone(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


def gopls_pid(client: LspClient) -> int:
    pid: int = client.request("goSidecar/health")["gopls"]["pid"]
    return pid


def test_kill_9_of_the_sidecar_takes_gopls_children_with_it(tmp_path: Path) -> None:
    client = LspClient(sidecar_command(), cwd=str(tmp_path))
    client.initialize(path_to_uri(tmp_path), {"gopls": {"path": str(FAKE_GOPLS)}})
    gopls = gopls_pid(client)
    child = client.request("fake/spawnChild")
    assert psutil.Process(child).ppid() == gopls
    os.kill(client.process.pid, signal.SIGKILL)
    client.process.wait(10)
    wait_until(lambda: gone(gopls) and gone(child), 10, "gopls and its child to die with the sidecar")
    client.close()


def test_a_restart_takes_the_old_gopls_children_with_it(tmp_path: Path) -> None:
    client = LspClient(sidecar_command(), cwd=str(tmp_path))
    client.initialize(path_to_uri(tmp_path), {"gopls": {"path": str(FAKE_GOPLS)}})
    try:
        old = gopls_pid(client)
        child = client.request("fake/spawnChild")
        os.kill(old, signal.SIGKILL)
        wait_until(lambda: gopls_pid(client) not in (0, old), 30, "a new gopls")
        wait_until(lambda: gone(child), 10, "the old gopls's child to be killed")
    finally:
        client.shutdown()


def test_real_gopls_child_dies_with_a_killed_sidecar(tmp_path: Path, example_workspace: Path) -> None:
    """A real gopls and a real child of it: gopls runs `go` (here one that never returns)."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    go = bin_dir / "go"
    go.write_text("#!/bin/sh\nexec sleep 600\n")
    go.chmod(0o755)
    env = {"PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}"}
    client = LspClient(sidecar_command(), cwd=str(example_workspace))
    client.initialize(path_to_uri(example_workspace), {"gopls": {"env": env}})
    gopls = psutil.Process(gopls_pid(client))
    wait_until(lambda: any(c.name() == "sleep" for c in gopls.children(recursive=True)), 60, "gopls to run `go`")
    children = gopls.children(recursive=True)
    os.kill(client.process.pid, signal.SIGKILL)
    client.process.wait(10)
    wait_until(lambda: gone(gopls.pid) and all(gone(c.pid) for c in children), 10, "gopls's `go` to die too")
    client.close()
