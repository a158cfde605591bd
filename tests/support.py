"""Helpers shared by the test modules."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE_WORKSPACE = ROOT / "examples" / "workspace"
FAKE_GOPLS = Path(__file__).resolve().parent / "fake_gopls.py"


def copy_stdlib_workspace(tmp_path: Path) -> Path:
    """Real Go code from outside this repository: standard-library packages as a module."""
    goroot = Path(subprocess.run(["go", "env", "GOROOT"], capture_output=True, text=True, check=True).stdout.strip())
    target = tmp_path / "stdcopy"
    target.mkdir()
    (target / "go.mod").write_text("module example.com/stdcopy\n\ngo 1.22\n")
    for package in ("container/list", "container/ring", "text/tabwriter", "bufio"):
        destination = target / package.replace("/", "_")
        shutil.copytree(goroot / "src" / package, destination, ignore=shutil.ignore_patterns("*_test.go", "testdata"))
    return target


def sidecar_command(*extra: str) -> list[str]:
    return [sys.executable, "-m", "gosidecar", *extra, "serve"]
