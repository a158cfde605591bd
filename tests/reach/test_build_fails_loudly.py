"""A build step that fails fails the build: `./scripts/run` when the wheel download fails.

The package index is unreachable; only setuptools and pip are offered (PIP_FIND_LINKS),
so every step but the download of the sidecar's dependency wheels could still succeed,
as when a pinned wheel does not exist for one Python. The run happens in a sandbox copy of the repository
with its own cache folder (the machine's llama-cpp-python wheel and gopls linked in),
so the real dist/, out/ and cache are never touched.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
from pathlib import Path

import pytest

from tests.reach.support import machine_cache, sandbox_repository
from tests.support import ROOT

pytestmark = pytest.mark.timeout(600)

# Nothing listens on port 9 (discard): every request to the index is refused at once.
UNREACHABLE_INDEX = "http://127.0.0.1:9/simple"


def venv_stamp_is_current() -> bool:
    """scripts/lib/setup.sh's stamp (pins and llama.cpp patches): otherwise the sandbox would
    reinstall the shared .venv."""
    listed = subprocess.run(
        ["bash", "-c", 'source scripts/lib/llama_sources.sh && printf "%s\\n" "${LLAMA_CPP_PATCHES[@]}"'],
        cwd=ROOT, capture_output=True, text=True, check=True,
    ).stdout.split()  # fmt: skip
    stamped = [ROOT / "server" / "pyproject.toml", ROOT / "scripts" / "lib" / "versions.sh", *map(Path, listed)]
    digest = hashlib.sha256(b"".join(path.read_bytes() for path in stamped)).hexdigest()[:16]
    stamp = ROOT / ".venv" / ".gosidecar-stamp"
    return stamp.is_file() and stamp.read_text().strip() == digest


def sandbox_cache(target: Path) -> Path:
    """The machine's cache without its downloaded .vsix wheels, so the download must run."""
    target.mkdir()
    for entry in machine_cache().iterdir():
        if entry.name != "vsix-wheels":
            (target / entry.name).symlink_to(entry)
    return target


def offered_wheels(target: Path) -> Path:
    """setuptools (server/pyproject.toml's build backend) and the .venv's pip (shipped in the .vsix)."""
    python = str(ROOT / ".venv" / "bin" / "python")
    pip_version = subprocess.run(
        [python, "-c", "import pip; print(pip.__version__)"], capture_output=True, text=True, check=True
    ).stdout.strip()
    subprocess.run(
        [python, "-m", "pip", "download", "--quiet", "--only-binary=:all:", "--no-deps", "-d", str(target),
         "setuptools>=69", f"pip=={pip_version}"],
        check=True, timeout=300,
    )  # fmt: skip
    return target


def test_run_fails_when_a_wheel_download_fails(tmp_path: Path) -> None:
    assert venv_stamp_is_current(), ".venv is not set up for the current pins: run ./scripts/test first"
    repo = sandbox_repository(tmp_path / "repo")
    cache = sandbox_cache(tmp_path / "cache")
    env = {
        **os.environ,
        "GOSIDECAR_CACHE": str(cache),
        "PIP_INDEX_URL": UNREACHABLE_INDEX,
        "PIP_FIND_LINKS": str(offered_wheels(tmp_path / "offered")),
        "PIP_RETRIES": "0",
        "PIP_TIMEOUT": "5",
        "PIP_NO_CACHE_DIR": "1",
    }

    run = subprocess.run(
        ["bash", str(repo / "scripts" / "run")], env=env, capture_output=True, text=True, timeout=540, check=False
    )

    assert not list((repo / "dist").glob("*.vsix")), f"a .vsix was built:\n{run.stderr[-3000:]}"
    assert run.returncode != 0, f"scripts/run succeeded without the wheels:\n{run.stderr[-3000:]}"
    assert "downloading the wheels for Python 3.10 failed" in run.stderr, run.stderr[-3000:]
    assert not (repo / "dist" / ".vsix-stamp").exists(), "the .vsix was stamped as built"
    assert not list((cache / "vsix-wheels").glob("*/.complete")), "the wheel download was marked complete"
    assert not (repo / "out" / "wheels" / "manifest.json").exists(), "wheels were staged for packaging"
