"""Shared fixtures: a real gopls, fresh copies of Go workspaces, sidecar and gopls clients."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.reach import gopls_ends
from tests.support import EXAMPLE_WORKSPACE, copy_stdlib_workspace

TESTS_ROOT = Path(__file__).resolve().parent


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "model: needs the real GGUF model (slow)")
    config.addinivalue_line("markers", "e2e: drives a real VS Code (code-server) in a browser")


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """The modules in gopls_ends.BOTH_ENDS run once per end of the supported gopls range."""
    if gopls_ends.runs_on_both_ends(Path(metafunc.definition.path), TESTS_ROOT):
        metafunc.parametrize("gopls_end", [gopls_ends.OLDEST, gopls_ends.NEWEST], indirect=True, scope="module")


@pytest.fixture(scope="module", autouse=True)
def gopls_end(request: pytest.FixtureRequest) -> Iterator[str]:
    """The gopls version this module runs against, first on PATH (the pinned one by default)."""
    version: str = getattr(request, "param", gopls_ends.NEWEST)
    with gopls_ends.first_on_path(gopls_ends.cached_gopls(version)):
        yield version


@pytest.fixture(scope="module")
def gopls_path(gopls_end: str) -> str:
    return str(gopls_ends.cached_gopls(gopls_end))


@pytest.fixture
def example_workspace(tmp_path: Path) -> Path:
    """A fresh copy of examples/workspace (tests edit files in it)."""
    target = tmp_path / "workspace"
    shutil.copytree(EXAMPLE_WORKSPACE, target)
    return target


@pytest.fixture
def stdlib_workspace(tmp_path: Path) -> Path:
    return copy_stdlib_workspace(tmp_path)
