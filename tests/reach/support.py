"""Helpers for the reach tests: the machine's build cache, and a sandbox copy of the repository."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

from tests.support import EXAMPLE_WORKSPACE, ROOT

VERSIONS_SH = ROOT / "scripts" / "lib" / "versions.sh"

# What scripts/run needs to build the .vsix, copied so a test never writes into the real
# dist/, out/ or cache. .venv and node_modules are only read, so they are linked.
_COPIED = ("scripts", "server/gosidecar", "server/pyproject.toml", "extension", "examples")
_COPIED_FILES = ("package.json", "package-lock.json", "esbuild.mjs", "tsconfig.json", ".vscodeignore", "README.md")
_LINKED = (".venv", "node_modules")


def machine_cache() -> Path:
    """The per-machine build cache the scripts use (scripts/lib/setup.sh: CACHE)."""
    return Path(os.environ.get("GOSIDECAR_CACHE") or Path.home() / ".cache" / "gosidecar")


def pinned(name: str) -> str:
    """A version pinned in scripts/lib/versions.sh, e.g. pinned("GOPLS_VERSION")."""
    found = re.search(rf'^{name}="([^"]+)"', VERSIONS_SH.read_text(), re.MULTILINE)
    assert found is not None, f"{name} is not pinned in {VERSIONS_SH}"
    return found.group(1)


def sandbox_repository(target: Path) -> Path:
    """A copy of the repository's build inputs at `target`, sharing .venv and node_modules."""
    for relative in _COPIED:
        source = ROOT / relative
        if source.is_dir():
            shutil.copytree(source, target / relative, ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
        else:
            (target / relative).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target / relative)
    for relative in _COPIED_FILES:
        shutil.copy2(ROOT / relative, target / relative)
    for relative in _LINKED:
        assert (ROOT / relative).is_dir(), f"{ROOT / relative} is missing: run ./scripts/test once to set it up"
        (target / relative).symlink_to(ROOT / relative)
    return target


def health(python: Path, tmp_path: Path, ok: bool = True) -> dict[str, Any]:
    """`gosidecar health --json` with `python` on a copy of the example workspace; it exits
    1 when the report has an error (`ok` false)."""
    workspace = tmp_path / "workspace"
    shutil.copytree(EXAMPLE_WORKSPACE, workspace)
    run = subprocess.run(
        [str(python), "-m", "gosidecar", "health", "--workspace", str(workspace), "--json"],
        capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert run.returncode == (0 if ok else 1), f"health with {python}:\n{run.stdout[-3000:]}\n{run.stderr[-3000:]}"
    report: dict[str, Any] = json.loads(run.stdout)
    return report
