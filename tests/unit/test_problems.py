"""Problems carry a typed action (a setting to open or set, a command to run) that the
health schema accepts and the extension can act on without reading the fix sentence."""

from __future__ import annotations

import ast
import json
from typing import Any

import pytest

from gosidecar.problems import RESTART_GOPLS, Problem, SettingAction
from gosidecar.supervisor import _raise_limit
from tests.support import ROOT
from tests.test_health_report import SCHEMA, schema_errors

PROBLEM_SCHEMA: dict[str, Any] = SCHEMA["properties"]["problems"]["items"]
MANIFEST = json.loads((ROOT / "package.json").read_text())


@pytest.mark.parametrize(
    ("action", "expected"),
    [
        (None, None),
        (SettingAction("gopls.path"), {"kind": "setting", "key": "goSidecar.gopls.path", "value": None}),
        (SettingAction("memory.limitMB", 4096), {"kind": "setting", "key": "goSidecar.memory.limitMB", "value": 4096}),
        (SettingAction("ai.modelPath", ""), {"kind": "setting", "key": "goSidecar.ai.modelPath", "value": ""}),
        (RESTART_GOPLS, {"kind": "command", "command": "goSidecar.restartGopls", "title": "Restart gopls"}),
    ],
)
def test_each_action_reaches_the_report_in_the_schemas_shape(action: Any, expected: Any) -> None:
    problem = Problem("error", "gopls would not start", "Install gopls.", action).to_dict()
    assert problem == {
        "severity": "error",
        "message": "gopls would not start",
        "fix": "Install gopls.",
        "action": expected,
    }
    assert schema_errors(problem, PROBLEM_SCHEMA, "problem") == []


@pytest.mark.parametrize(
    "action",
    [
        {"kind": "setting", "key": "go.useLanguageServer", "value": False},  # not the sidecar's to set
        {"kind": "command", "command": "goSidecar.restartGopls"},  # no title
        {"kind": "copy", "text": "sysctl"},
        {"kind": "setting", "key": "goSidecar.memory.limitMB", "value": [1]},
    ],
)
def test_the_schema_refuses_other_action_shapes(action: dict[str, Any]) -> None:
    problem = {"severity": "error", "message": "m", "fix": "f", "action": action}
    [error] = schema_errors(problem, PROBLEM_SCHEMA, "problem")
    assert error.startswith("problem.action: ") and "fits no choice of oneOf" in error


def test_the_memory_advice_suggests_twice_the_limit_or_opens_the_setting_without_one() -> None:
    assert _raise_limit(2048) == SettingAction("memory.limitMB", 4096)
    assert _raise_limit(0) == SettingAction("memory.limitMB", None)


def _action_literals() -> list[tuple[str, str, str]]:
    """(file, constructor, first argument) of every SettingAction/CommandAction written in the package."""
    found = []
    for path in sorted((ROOT / "server" / "gosidecar").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Name)
                and node.func.id in {"SettingAction", "CommandAction"}
                and node.args
                and isinstance(node.args[0], ast.Constant)
            ):
                found.append((path.name, node.func.id, str(node.args[0].value)))
    return found


def test_every_action_the_sidecar_writes_names_a_setting_or_command_the_extension_contributes() -> None:
    contributed = MANIFEST["contributes"]
    settings = set(contributed["configuration"]["properties"])
    commands = {command["command"] for command in contributed["commands"]}
    literals = _action_literals()
    assert {"supervisor.py", "problems.py"} <= {file for file, _, _ in literals}, literals
    for file, constructor, name in literals:
        known = settings if constructor == "SettingAction" else commands
        assert f"goSidecar.{name}" in known, f"{file}: {constructor}({name!r})"
