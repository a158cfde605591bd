"""Every Python the .vsix claims installs the sidecar offline from the .vsix and runs it.

Each Python is installed the way extension/src/bundledEnv.ts does it: a venv without
pip, then pip run from the shipped pip wheel with only the shipped wheels (--no-index,
no pip configuration). The sidecar then runs `gosidecar health` on the example
workspace against the real gopls, with the local model loaded through llama-cpp-python.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.reach.support import health
from tests.support import ROOT

pytestmark = pytest.mark.timeout(900)

CLAIMED_PYTHONS = ("3.10", "3.11", "3.12", "3.13")


def pyenv_python(minor: str) -> Path:
    """The newest pyenv-installed Python `minor`; fails (never skips) when there is none."""
    pyenv_root = Path(os.environ.get("PYENV_ROOT") or Path.home() / ".pyenv")
    found = sorted(
        pyenv_root.glob(f"versions/{minor}.*/bin/python{minor}"),
        key=lambda path: [int(part) for part in path.parts[-3].split(".") if part.isdigit()],
    )
    if not found:
        pytest.fail(f"Python {minor} is not installed under {pyenv_root}: run `pyenv install {minor}`")
    return found[-1]


def shipped_vsix() -> Path:
    version = json.loads((ROOT / "package.json").read_text())["version"]
    vsix = ROOT / "dist" / f"go-sidecar-linux-x64-{version}.vsix"
    assert vsix.is_file(), f"{vsix} is missing: ./scripts/test builds it before pytest"
    return vsix


@pytest.fixture(scope="module")
def wheels(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The wheels folder of the built .vsix, unpacked."""
    unpacked = tmp_path_factory.mktemp("vsix")
    with zipfile.ZipFile(shipped_vsix()) as package:
        package.extractall(unpacked)
    yield unpacked / "extension" / "out" / "wheels"
    shutil.rmtree(unpacked)


def manifest(wheels: Path) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((wheels / "manifest.json").read_text())
    return loaded


def isolated_pip_env() -> dict[str, str]:
    """bundledEnv.ts's isolatedPipEnv: no PIP_* variables, no pip.conf, no user site."""
    kept = {name: value for name, value in os.environ.items() if not name.startswith("PIP_")}
    return {**kept, "PIP_CONFIG_FILE": os.devnull, "PYTHONNOUSERSITE": "1"}


def install_offline(base_python: Path, wheels: Path, env_dir: Path) -> Path:
    """bundledEnv.ts's installEnv; returns the environment's Python."""
    shipped = manifest(wheels)
    subprocess.run([str(base_python), "-m", "venv", "--without-pip", str(env_dir)], check=True, timeout=120)
    python = env_dir / "bin" / "python"
    install = subprocess.run(
        [str(python), str(wheels / shipped["pipWheel"] / "pip"), "install", "--no-index", "--find-links",
         str(wheels), "--no-cache-dir", "--disable-pip-version-check", "--progress-bar", "off",
         shipped["requirement"]],
        env=isolated_pip_env(), capture_output=True, text=True, timeout=600, check=False,
    )  # fmt: skip
    assert install.returncode == 0, f"offline install with {base_python} failed:\n{install.stdout[-3000:]}"
    return python


def test_the_vsix_claims_exactly_the_tested_pythons(wheels: Path) -> None:
    assert tuple(manifest(wheels)["pythonVersions"]) == CLAIMED_PYTHONS


@pytest.mark.parametrize("minor", CLAIMED_PYTHONS)
def test_installs_offline_and_runs(minor: str, wheels: Path, tmp_path: Path) -> None:
    base = pyenv_python(minor)
    python = install_offline(base, wheels, tmp_path / "env")
    report = health(python, tmp_path)
    version = subprocess.run(
        [str(python), "-c", "import sys; print(sys.version)"], capture_output=True, text=True, check=True, timeout=60
    )
    assert version.stdout.startswith(f"{minor}."), version.stdout
    assert report["gopls"]["running"], report
    assert report["ai"]["state"] == "ready", report["ai"]
