"""The universal .vsix (every platform but linux-x64): a few MB, no binaries, and on first
start an environment created online from the package index that runs the sidecar.

The environment is installed by the extension's own code (extension/src/bundledEnv.ts,
bundled with esbuild behind extension/test/installEnv.main.ts), against the real PyPI,
with pip's cache. Then `gosidecar health` runs against the real gopls.

PyPI has llama-cpp-python only as source. Where it can be installed (here through
PIP_FIND_LINKS at the wheel the build made, as a user's pip configuration would point at
a wheel), the local model runs; where it cannot (PIP_ONLY_BINARY: no wheel, and no
building), the environment is still created, gopls and the file events work, and the AI
part reports `error` with the one-line fix.
"""

from __future__ import annotations

import json
import os
import subprocess
import zipfile
from pathlib import Path

import pytest

from tests.reach.support import health, machine_cache, pinned
from tests.support import ROOT

pytestmark = pytest.mark.timeout(1500)

MAX_UNIVERSAL_BYTES = 10 * 1024 * 1024


def built_vsix(name: str) -> Path:
    version = json.loads((ROOT / "package.json").read_text())["version"]
    vsix = ROOT / "dist" / name.format(version=version)
    assert vsix.is_file(), f"{vsix} is missing: ./scripts/test builds both packages before pytest"
    return vsix


def universal_vsix() -> Path:
    return built_vsix("go-sidecar-{version}.vsix")


def vsix_manifest(vsix: Path) -> str:
    with zipfile.ZipFile(vsix) as package:
        return package.read("extension.vsixmanifest").decode()


@pytest.fixture(scope="module")
def universal_wheels(tmp_path_factory: pytest.TempPathFactory) -> Path:
    unpacked = tmp_path_factory.mktemp("universal")
    with zipfile.ZipFile(universal_vsix()) as package:
        package.extractall(unpacked)
    return unpacked / "extension" / "out" / "wheels"


@pytest.fixture(scope="module")
def install_entry(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """extension/test/installEnv.main.ts bundled for node, as esbuild bundles the extension."""
    bundle = tmp_path_factory.mktemp("entry") / "installEnv.main.js"
    subprocess.run(
        [str(ROOT / "node_modules" / ".bin" / "esbuild"), "extension/test/installEnv.main.ts", "--bundle",
         "--platform=node", "--target=node20", "--format=cjs", "--log-level=warning", f"--outfile={bundle}"],
        cwd=ROOT, check=True, timeout=120,
    )  # fmt: skip
    return bundle


def install_online(entry: Path, wheels: Path, storage: Path, pip_env: dict[str, str]) -> tuple[Path, str]:
    """The extension's first start: returns the environment's Python and the install log."""
    env = {name: value for name, value in os.environ.items() if not name.startswith("PIP_")}
    run = subprocess.run(
        ["node", str(entry), str(wheels), str(storage), "0.0.0-test"],
        env={**env, **pip_env}, capture_output=True, text=True, timeout=1200, check=False,
    )  # fmt: skip
    assert run.returncode == 0, f"the online install failed:\n{run.stderr[-4000:]}"
    return Path(run.stdout.strip().splitlines()[-1]), run.stderr


def has_llama_cpp(python: Path) -> bool:
    probe = [str(python), "-c", "import importlib.util, sys; sys.exit(importlib.util.find_spec('llama_cpp') is None)"]
    return subprocess.run(probe, timeout=60, check=False).returncode == 0


def test_the_universal_package_is_small_pure_python_and_untargeted(universal_wheels: Path) -> None:
    assert universal_vsix().stat().st_size < MAX_UNIVERSAL_BYTES
    wheels = sorted(path.name for path in universal_wheels.glob("*.whl"))
    assert len(wheels) == 2 and all(name.endswith("-py3-none-any.whl") for name in wheels), wheels
    assert not [path for path in universal_wheels.parent.parent.rglob("*") if path.suffix in {".so", ".dylib", ".dll"}]
    assert "TargetPlatform" not in vsix_manifest(universal_vsix())
    assert 'TargetPlatform="linux-x64"' in vsix_manifest(built_vsix("go-sidecar-linux-x64-{version}.vsix"))


def test_online_install_runs_the_sidecar_with_the_local_model(
    universal_wheels: Path, install_entry: Path, tmp_path: Path
) -> None:
    llama_wheels = machine_cache() / "wheels" / f"llama-cpp-python-{pinned('LLAMA_CPP_PYTHON_VERSION')}"
    assert list(llama_wheels.glob("llama_cpp_python-*.whl")), f"no llama-cpp-python wheel in {llama_wheels}"
    pip_env = {"PIP_FIND_LINKS": str(llama_wheels)}
    python, log = install_online(install_entry, universal_wheels, tmp_path / "storage", pip_env)

    assert "downloading the sidecar's dependencies from the package index" in log
    report = health(python, tmp_path, ok=True)

    assert report["gopls"]["running"], report["gopls"]
    assert report["ai"]["state"] == "ready", report["ai"]


def test_without_llama_cpp_the_sidecar_runs_and_ai_reports_the_fix(
    universal_wheels: Path, install_entry: Path, tmp_path: Path
) -> None:
    python, log = install_online(
        install_entry, universal_wheels, tmp_path / "storage", {"PIP_ONLY_BINARY": "llama-cpp-python"}
    )

    assert "llama-cpp-python==" in log and "could not be installed" in log, log[-2000:]
    assert not has_llama_cpp(python)
    report = health(python, tmp_path, ok=False)

    assert report["gopls"]["running"], report["gopls"]
    assert report["fileEvents"]["watchedDirectories"] + report["fileEvents"]["polledDirectories"] > 0
    assert report["ai"]["state"] == "error", report["ai"]
    error = report["ai"]["error"]
    assert "llama-cpp-python is not installed" in error and f"{python} -m pip install" in error, error
    assert "\n" not in error
    problems = [problem for problem in report["problems"] if problem["severity"] == "error"]
    assert len(problems) == 1 and "pip install" in problems[0]["fix"], report["problems"]
