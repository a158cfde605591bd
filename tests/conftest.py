"""Shared fixtures: a real gopls, fresh copies of Go workspaces, sidecar and gopls clients."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from gosidecar.gopls_process import find_gopls
from tests.support import EXAMPLE_WORKSPACE, copy_stdlib_workspace


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "model: needs the real GGUF model (slow)")
    config.addinivalue_line("markers", "e2e: drives a real VS Code (code-server) in a browser")


@pytest.fixture(scope="session")
def gopls_path() -> str:
    return find_gopls()


@pytest.fixture
def example_workspace(tmp_path: Path) -> Path:
    """A fresh copy of examples/workspace (tests edit files in it)."""
    target = tmp_path / "workspace"
    shutil.copytree(EXAMPLE_WORKSPACE, target)
    return target


@pytest.fixture
def stdlib_workspace(tmp_path: Path) -> Path:
    return copy_stdlib_workspace(tmp_path)
