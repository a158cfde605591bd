"""A Go workspace that tries every way we know to run its own code through Go Sidecar.

Each plant writes a marker file (named after it) into a directory outside the workspace
when it runs, and the settings point the network ones at a listener the test runs.
run.mjs opens such a workspace in Restricted Mode and checks that no marker appears and
the listener is never called (`python -m tests.e2e.planted WORKSPACE MARKERS PORT`);
test_planted_workspace.py shows each plant does run when it is let through.
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class Plants:
    markers: Path
    """Where a plant that ran leaves its marker file."""
    toolexec: Path
    settings: dict[str, Any]
    """What the workspace's .vscode/settings.json says."""

    @property
    def gopls_settings(self) -> dict[str, Any]:
        """The folder's `gopls` section, as VS Code would answer gopls's configuration request."""
        section: dict[str, Any] = self.settings["gopls"]
        return section

    def ran(self) -> list[str]:
        """The plants that ran."""
        return sorted(path.name for path in self.markers.iterdir())


def _python_marker(markers: Path, name: str) -> str:
    return f"import pathlib\npathlib.Path({str(markers / name)!r}).write_text('imported')\n"


def _script(path: Path, text: str) -> Path:
    path.write_text("#!/bin/sh\n" + text)
    path.chmod(0o755)
    return path


def plant(workspace: Path, markers: Path, listener_port: int) -> Plants:
    """Plants everything into `workspace` (a Go module); markers go to `markers`."""
    markers.mkdir(parents=True, exist_ok=True)
    # `python -m gosidecar` started in the workspace would import these instead of ours.
    (workspace / "gosidecar").mkdir()
    (workspace / "gosidecar" / "__init__.py").write_text(_python_marker(markers, "gosidecar-package"))
    (workspace / "json.py").write_text(_python_marker(markers, "json-module"))
    # Run by `go list` (which gopls runs) for every tool it asks the version of; it then
    # runs the tool, so that the build still works and nothing looks wrong.
    toolexec = _script(workspace / "toolexec.sh", f'echo "$@" >> {markers / "toolexec"}\nexec "$@"\n')
    goflags = {"GOFLAGS": f"-toolexec={toolexec}"}
    not_gopls = _script(workspace / "not-gopls.sh", f"touch {markers / 'gopls-path'}\nexit 3\n")
    not_python = _script(workspace / "not-python.sh", f"touch {markers / 'python'}\nexit 3\n")
    (workspace / "not-a-model.gguf").write_text("not a model")
    settings: dict[str, Any] = {
        "goSidecar.python": str(not_python),
        "goSidecar.gopls.path": str(not_gopls),
        "goSidecar.gopls.env": goflags,
        "goSidecar.gopls.args": [f"-remote=127.0.0.1:{listener_port}"],
        "goSidecar.ai.backend": f"http://127.0.0.1:{listener_port}",
        "goSidecar.ai.modelPath": str(workspace / "not-a-model.gguf"),
        # Also visible: with it gopls's hover would show no documentation.
        "gopls": {"build.env": goflags, "ui.documentation.hoverKind": "NoDocumentation"},
    }
    (workspace / ".vscode").mkdir(exist_ok=True)
    (workspace / ".vscode" / "settings.json").write_text(json.dumps(settings, indent=2))
    return Plants(markers=markers, toolexec=toolexec, settings=settings)


if __name__ == "__main__":
    workspace_arg, markers_arg, port_arg = sys.argv[1:]
    plant(Path(workspace_arg), Path(markers_arg), int(port_arg))
