"""Both ends of the supported gopls range, as installed by scripts/lib/setup.sh (ensure_gopls).

tests/conftest.py runs the modules listed in BOTH_ENDS once against each end and every
other test against the pinned (newest) gopls, by putting the chosen gopls first on PATH:
the sidecar finds gopls on PATH, and `gopls_path` returns the same binary.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tests.reach.support import machine_cache, pinned

OLDEST = pinned("GOPLS_OLDEST_VERSION")
NEWEST = pinned("GOPLS_VERSION")

# Test modules (paths relative to tests/) that run once per end of the range: what gopls
# answers, and how the memory guard restarts it. The restart storms and the process-tree
# tests exercise the sidecar's own code paths, the same for any gopls: once is enough.
BOTH_ENDS = ("core/test_equivalence.py", "memory/test_restarts.py", "test_memory_limit.py")


def runs_on_both_ends(test_file: Path, tests_root: Path) -> bool:
    relative = test_file.relative_to(tests_root).as_posix()
    return any(relative.startswith(entry) for entry in BOTH_ENDS)


def cached_gopls(version: str) -> Path:
    """The gopls `version` binary in the machine cache; fails with the fix when missing."""
    binary = machine_cache() / "gopls" / version / "gopls"
    assert binary.is_file(), f"gopls {version} is not installed at {binary}: ./scripts/test installs it"
    return binary


@contextmanager
def first_on_path(binary: Path) -> Iterator[None]:
    """`binary`'s folder first on PATH for processes started meanwhile (the sidecar among them)."""
    saved = os.environ["PATH"]
    os.environ["PATH"] = f"{binary.parent}{os.pathsep}{saved}"
    try:
        yield
    finally:
        os.environ["PATH"] = saved
