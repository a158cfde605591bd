"""The controls for run.mjs's Restricted Mode scenario, with the real sidecar and gopls.

The e2e test shows that nothing planted in an untrusted workspace runs; these show
that each plant it relies on does run when it is let through (so the e2e's silence
means something), and that `gosidecar health` started from inside such a workspace
imports nothing from it.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from gosidecar.message import Message
from gosidecar.uris import path_to_uri
from tests.e2e.planted import Plants, plant
from tests.lsp_client import LspClient
from tests.support import sidecar_command, wait_until

NO_LISTENER = 9  # the discard port: nothing here may connect to it
LOAD_TIMEOUT_S = 180.0


@pytest.fixture
def plants(example_workspace: Path, tmp_path: Path) -> Plants:
    return plant(example_workspace, tmp_path / "markers", NO_LISTENER)


def test_python_m_started_in_the_workspace_runs_the_planted_modules(example_workspace: Path, plants: Plants) -> None:
    """What the extension and `gosidecar health` did before: `python -m` in the workspace."""
    subprocess.run(
        [sys.executable, "-m", "gosidecar", "serve"],
        cwd=example_workspace,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        timeout=60,
        check=False,
    )
    assert plants.ran() == ["gosidecar-package", "json-module"]


def test_health_run_from_inside_the_workspace_imports_nothing_from_it(example_workspace: Path, plants: Plants) -> None:
    console_script = Path(sys.executable).with_name("gosidecar")
    run = subprocess.run(
        [str(console_script), "health", "--workspace", str(example_workspace), "--json"],
        cwd=example_workspace,
        capture_output=True,
        text=True,
        timeout=LOAD_TIMEOUT_S + 60,
        check=False,
    )
    assert plants.ran() == []
    assert run.returncode == 0, run.stderr[-2000:]
    # gopls found the workspace without being started in it.
    assert json.loads(run.stdout)["gopls"]["running"] is True


@pytest.fixture
def sidecar() -> Iterator[LspClient]:
    client = LspClient(sidecar_command())
    yield client
    client.shutdown()


def _answer_configuration(section_value: dict[str, Any]) -> Any:
    def answer(message: Message) -> Any:
        if message.method != "workspace/configuration":
            return None
        return [section_value if item.get("section") == "gopls" else None for item in message.params["items"]]

    return answer


def _load(sidecar: LspClient, workspace: Path, options: dict[str, Any]) -> None:
    sidecar.initialize(path_to_uri(workspace), {"ai": {"enabled": False}, **options})
    # gopls answers workspace/symbol once it has loaded the workspace with `go list`.
    sidecar.request("workspace/symbol", {"query": "New"}, timeout=LOAD_TIMEOUT_S)


def test_the_folders_gopls_build_env_runs_its_toolexec_when_gopls_is_given_it(
    sidecar: LspClient, example_workspace: Path, plants: Plants
) -> None:
    sidecar.on_server_request = _answer_configuration(plants.gopls_settings)
    _load(sidecar, example_workspace, {})
    wait_until(lambda: "toolexec" in plants.ran(), LOAD_TIMEOUT_S, "the planted toolexec to run")


def test_a_planted_gopls_env_runs_its_toolexec_when_the_sidecar_is_given_it(
    sidecar: LspClient, example_workspace: Path, plants: Plants
) -> None:
    _load(sidecar, example_workspace, {"gopls": {"env": plants.settings["goSidecar.gopls.env"]}})
    wait_until(lambda: "toolexec" in plants.ran(), LOAD_TIMEOUT_S, "the planted toolexec to run")


def test_user_level_answers_leave_the_toolexec_unrun(
    sidecar: LspClient, example_workspace: Path, plants: Plants
) -> None:
    """The answer the extension gives in Restricted Mode (no folder values): nothing runs."""
    sidecar.on_server_request = _answer_configuration({"ui.documentation.hoverKind": "FullDocumentation"})
    _load(sidecar, example_workspace, {})
    assert plants.ran() == []
