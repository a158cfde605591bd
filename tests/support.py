"""Helpers shared by the test modules."""

from __future__ import annotations

import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE_WORKSPACE = ROOT / "examples" / "workspace"
FAKE_GOPLS = Path(__file__).resolve().parent / "fake_gopls.py"
GENEROUS_BUDGET_MS = 20_000
"""`ai.timeBudgetMs` for tests that need a suggestion: the default 1.5 s is a product choice
for the editor, and on a loaded machine it would make the test fail by chance."""


def copy_stdlib_workspace(tmp_path: Path) -> Path:
    """Real Go code from outside this repository: standard-library packages as a module."""
    goroot = Path(subprocess.run(["go", "env", "GOROOT"], capture_output=True, text=True, check=True).stdout.strip())
    target = tmp_path / "stdcopy"
    target.mkdir()
    (target / "go.mod").write_text("module example.com/stdcopy\n\ngo 1.22\n")
    for package in ("container/list", "container/ring", "unicode/utf16", "bufio"):
        destination = target / package.replace("/", "_")
        shutil.copytree(goroot / "src" / package, destination, ignore=shutil.ignore_patterns("*_test.go", "testdata"))
    return target


def sidecar_command(*extra: str) -> list[str]:
    return [sys.executable, "-m", "gosidecar", *extra, "serve"]


def free_port() -> int:
    """A localhost TCP port nothing listens on right now, for a server the test starts."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def wait_until(predicate: Callable[[], object], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def huge_generated_go_file(types: int) -> str:
    """A generated Go file for package inventory, big enough to make gopls grow by ~1 GB at 20,000."""
    lines = ["// Code generated for the spike test. DO NOT EDIT.", "", "package inventory", ""]
    for i in range(types):
        lines.append(f"type Gen{i} struct {{ A{i} int; B{i} string; C{i} map[string][]Item }}")
        lines.append(
            f"func (g *Gen{i}) Sum() int {{ total := g.A{i}; "
            f"for k, v := range g.C{i} {{ total += len(k) + len(v) }}; return total }}"
        )
    return "\n".join(lines) + "\n"
