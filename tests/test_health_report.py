"""The health report against its JSON Schema (shared with the extension's node tests), and
its history filled by a real session: RSS samples, a gopls crash, a file-event burst, an
accepted ghost text."""

from __future__ import annotations

import json
import os
import re
import signal
from pathlib import Path
from typing import Any

import pytest

from gosidecar.health import format_report
from gosidecar.uris import path_to_uri
from tests.lsp_client import LspClient
from tests.support import GENEROUS_BUDGET_MS, ROOT, sidecar_command, wait_until

pytestmark = pytest.mark.timeout(240)

SCHEMA = json.loads((ROOT / "server" / "gosidecar" / "health_schema.json").read_text())
_JSON_TYPES: dict[str, tuple[type, ...]] = {
    "object": (dict,),
    "array": (list,),
    "string": (str,),
    "integer": (int,),
    "number": (int, float),
    "boolean": (bool,),
    "null": (type(None),),
}


def schema_errors(value: Any, schema: dict[str, Any], where: str = "report") -> list[str]:
    """What in `value` breaks `schema`: the subset of JSON Schema that health_schema.json uses."""
    if "oneOf" in schema:
        return _one_of_errors(value, schema["oneOf"], where)
    if "const" in schema:
        return [] if value == schema["const"] else [f"{where}: {value!r} is not {schema['const']!r}"]
    if "enum" in schema:
        return [] if value in schema["enum"] else [f"{where}: {value!r} not in {schema['enum']}"]
    types = schema["type"] if isinstance(schema["type"], list) else [schema["type"]]
    is_bool = isinstance(value, bool)
    if not any(isinstance(value, _JSON_TYPES[t]) and (t == "boolean" or not is_bool) for t in types):
        return [f"{where}: {value!r} is not {' or '.join(types)}"]
    if isinstance(value, (int, float)) and not is_bool and value < schema.get("minimum", value):
        return [f"{where}: {value} below {schema['minimum']}"]
    if isinstance(value, str) and not re.search(schema.get("pattern", ""), value):
        return [f"{where}: {value!r} does not match {schema['pattern']}"]
    if isinstance(value, list):
        return [
            error for i, item in enumerate(value) for error in schema_errors(item, schema["items"], f"{where}[{i}]")
        ]
    if isinstance(value, dict):
        properties = schema["properties"]
        errors = [f"{where}: no {key!r}" for key in schema["required"] if key not in value]
        errors += [f"{where}: {key!r} is not in the schema" for key in value if key not in properties]
        for key, item in value.items():
            if key in properties:
                errors += schema_errors(item, properties[key], f"{where}.{key}")
        return errors
    return []


def _one_of_errors(value: Any, choices: list[dict[str, Any]], where: str) -> list[str]:
    """No errors when exactly one choice fits; else what each choice found wrong (JSON Schema's `oneOf`)."""
    errors = [schema_errors(value, choice, where) for choice in choices]
    fitting = errors.count([])
    if fitting == 1:
        return []
    if fitting > 1:
        return [f"{where}: {value!r} fits {fitting} choices of oneOf"]
    return [f"{where}: {value!r} fits no choice of oneOf: {' | '.join('; '.join(e) for e in errors)}"]


def valid_sample(schema: dict[str, Any]) -> Any:
    """The smallest value `schema` accepts (first choice, first enum value, empty arrays)."""
    if "oneOf" in schema:
        return valid_sample(schema["oneOf"][0])
    if "enum" in schema:
        return schema["enum"][0]
    kind = schema["type"][0] if isinstance(schema["type"], list) else schema["type"]
    if kind == "object":
        return {key: valid_sample(item) for key, item in schema["properties"].items()}
    return {"array": [], "string": "", "integer": 0, "number": 0, "boolean": False, "null": None}[kind]


def test_the_validator_finds_drift() -> None:
    """The checks below can fail: a missing key, an extra key, a wrong type are reported."""
    good = valid_sample(SCHEMA)
    assert schema_errors(good, SCHEMA) == []
    good["fileEvents"]["storms"] = 1
    del good["ai"]["cacheHits"]
    good["history"]["fileEvents"]["received"] = [True]
    assert schema_errors(good, SCHEMA) == [
        "report.fileEvents: 'storms' is not in the schema",
        "report.ai: no 'cacheHits'",
        "report.history.fileEvents.received[0]: True is not integer",
    ]


def health(client: LspClient) -> dict[str, Any]:
    report: dict[str, Any] = client.request("goSidecar/health")
    return report


def test_a_real_session_fills_the_history_and_matches_the_schema(example_workspace: Path) -> None:
    client = LspClient(sidecar_command(), cwd=str(example_workspace))
    try:
        client.initialize(path_to_uri(example_workspace), {"ai": {"enabled": False}})
        client.request("workspace/symbol", {"query": ""}, timeout=120)
        wait_until(lambda: health(client)["fileEvents"]["watchedDirectories"], 60, "gopls's file watches")
        wait_until(lambda: any(health(client)["history"]["rssBytes"]["max"]), 30, "an RSS sample in the history")

        target = example_workspace / "pricing" / "generated.go"
        for version in range(40):  # a `go generate` storm: one file rewritten over and over
            target.write_text(f"package pricing\n\nconst Generated = {version}\n")
        wait_until(lambda: sum(health(client)["history"]["fileEvents"]["forwarded"]), 30, "the storm at gopls")
        os.kill(health(client)["gopls"]["pid"], signal.SIGKILL)
        wait_until(lambda: health(client)["history"]["restarts"], 60, "the crash in the history")
        client.notify("goSidecar/inlineCompletionAccepted", {})
        wait_until(lambda: health(client)["history"]["suggestions"]["acceptedTotal"] == 1, 10, "the acceptance")
        wait_until(lambda: health(client)["gopls"]["running"], 60, "gopls restarted")
        report = health(client)
    finally:
        client.shutdown()

    assert schema_errors(report, SCHEMA) == []
    history = report["history"]
    events = history["fileEvents"]
    assert sum(events["received"]) > sum(events["forwarded"]) >= 1, events
    assert history["restarts"][-1]["reason"] == "crash"
    assert report["gopls"]["restartLog"][-1]["reason"] == "crash"
    text = format_report(report)
    assert "crash" in text and "1 accepted" in text


@pytest.mark.model
def test_a_ghost_text_from_the_model_is_counted_shown_timed_and_carries_the_accept_command(
    example_workspace: Path,
) -> None:
    from tests.completion.test_through_sidecar import open_editor

    editor = open_editor(example_workspace, {"ai": {"debounceMs": 0, "timeBudgetMs": GENEROUS_BUDGET_MS}})
    try:
        cursor = editor.half_type("sum += item.Quantity * item.UnitCents", len("sum += item."))
        item = editor.inline(cursor)["items"][0]
        editor.client.notify("goSidecar/inlineCompletionAccepted", {})
        wait_until(lambda: health(editor.client)["history"]["suggestions"]["acceptedTotal"], 10, "the acceptance")
        history = health(editor.client)["history"]
    finally:
        editor.client.shutdown()

    assert item["command"]["command"] == "goSidecar.inlineCompletionAccepted"
    assert (history["suggestions"]["shownTotal"], history["suggestions"]["acceptedTotal"]) == (1, 1)
    assert sum(history["latencyMs"]["counts"]) == 1
