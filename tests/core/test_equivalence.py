"""Through the sidecar, gopls's answers are exactly what gopls gives directly.

Runs on standard-library packages copied into a module: real Go code that is not part
of this repository.
"""

from __future__ import annotations

import json
import re
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from gosidecar.documents import apply_change, offset_at
from gosidecar.uris import path_to_uri
from tests.core.lsp_pair import LspPair, lsp_pair
from tests.lsp_client import LspError
from tests.support import copy_stdlib_workspace

LIST = "container_list/list.go"
pytestmark = pytest.mark.timeout(180)


@pytest.fixture(scope="module")
def gopls_trace(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The sidecar's gopls logs every message it receives here (its -rpc.trace)."""
    return tmp_path_factory.mktemp("trace") / "gopls.log"


@pytest.fixture(scope="module")
def pair(gopls_path: str, gopls_trace: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LspPair]:
    root = copy_stdlib_workspace(tmp_path_factory.mktemp("equivalence"))
    trace = {"gopls": {"args": ["-rpc.trace", f"-logfile={gopls_trace}"]}}
    with lsp_pair(gopls_path, root, sidecar_options=trace) as opened:
        opened.open(LIST)
        yield opened


def params_received(gopls_trace: Path, method: str) -> list[Any]:
    """The params of each `method` request gopls received, from its -rpc.trace log."""
    logged = re.finditer(rf"request '{re.escape(method)} - \(\d+\)'\.\r?\nParams: (.*)", gopls_trace.read_text())
    return [json.loads(match.group(1)) for match in logged]


def doc(pair: LspPair, relative: str, **position: Any) -> dict[str, Any]:
    return {"textDocument": {"uri": path_to_uri(pair.root / relative)}, **position}


def assert_same(
    pair: LspPair, method: str, params: dict[str, Any], ignore: tuple[str, ...] = (), unordered: bool = False
) -> Any:
    """The same answer both ways.

    `ignore` names top-level keys that differ between two gopls processes (timestamps);
    `unordered` compares lists as sets, for answers gopls emits in map order or with
    score ties.
    """
    direct, sidecar = pair.request_both(method, params)
    if ignore:
        direct, sidecar = ({k: v for k, v in r.items() if k not in ignore} for r in (direct, sidecar))
    if unordered:
        assert sorted(map(json.dumps, sidecar)) == sorted(map(json.dumps, direct))
    else:
        assert sidecar == direct
    return direct


def test_hover(pair: LspPair) -> None:
    result = assert_same(
        pair,
        "textDocument/hover",
        doc(pair, LIST, position=pair.position_of(LIST, "func (l *List) PushBack", 16)),
    )
    assert "PushBack inserts a new element" in result["contents"]["value"]


def test_definition(pair: LspPair) -> None:
    result = assert_same(
        pair,
        "textDocument/definition",
        doc(pair, LIST, position=pair.position_of(LIST, "l.insertValue(v, l.root.prev)", 2)),
    )
    assert result and result[0]["uri"].endswith(LIST)


def test_references(pair: LspPair) -> None:
    params = doc(
        pair,
        LIST,
        position=pair.position_of(LIST, "func (l *List) lazyInit", 15),
        context={"includeDeclaration": True},
    )
    result = assert_same(pair, "textDocument/references", params)
    assert len(result) >= 5


def test_completion(pair: LspPair) -> None:
    result = assert_same(
        pair, "textDocument/completion", doc(pair, LIST, position=pair.position_of(LIST, "l.root.prev", 2))
    )
    labels = [item["label"] for item in result["items"]]
    assert "root" in labels and "len" in labels


def test_document_symbol(pair: LspPair) -> None:
    result = assert_same(pair, "textDocument/documentSymbol", doc(pair, LIST))
    assert {"Element", "List"} <= {symbol["name"] for symbol in result}


BADLY_FORMATTED = (
    'package list\n\nimport("fmt")\nfunc  Describe( l *List )string{\n'
    'if l==nil{return "nil"}\n  return fmt.Sprint(l.Len( ))}\n'
)


def apply_text_edits(text: str, edits: list[dict[str, Any]]) -> str:
    """LSP `TextEdit`s all address the original text: applied from the last one back."""
    for edit in sorted(edits, key=lambda e: offset_at(text, e["range"]["start"]), reverse=True):
        text = apply_change(text, edit | {"text": edit["newText"]})
    return text


def test_formatting_a_badly_formatted_file(pair: LspPair) -> None:
    relative = "container_list/describe.go"  # an unsaved buffer: nothing on disk changes for later tests
    pair.open(relative, BADLY_FORMATTED)
    params = doc(pair, relative, options={"tabSize": 4, "insertSpaces": False})
    edits = assert_same(pair, "textDocument/formatting", params)
    assert edits, "gopls had nothing to format"
    gofmt = subprocess.run(["gofmt"], input=BADLY_FORMATTED, capture_output=True, text=True, check=True).stdout
    assert gofmt != BADLY_FORMATTED
    assert apply_text_edits(BADLY_FORMATTED, edits) == gofmt


def test_rename(pair: LspPair) -> None:
    params = doc(pair, LIST, position=pair.position_of(LIST, "func (l *List) lazyInit", 15), newName="lazyInitialize")
    result = assert_same(pair, "textDocument/rename", params)
    assert result["documentChanges"]


def test_code_action(pair: LspPair) -> None:
    start = pair.position_of(LIST, "func (l *List) Init")
    params = doc(pair, LIST, range={"start": start, "end": start}, context={"diagnostics": []})
    assert_same(pair, "textDocument/codeAction", params)


def test_semantic_tokens(pair: LspPair) -> None:
    result = assert_same(pair, "textDocument/semanticTokens/full", doc(pair, LIST), ignore=("resultId",))
    assert len(result["data"]) > 100


def test_inlay_hint(pair: LspPair) -> None:
    end = pair.position_of(LIST, "// PushBackList inserts")
    params = doc(pair, LIST, range={"start": {"line": 0, "character": 0}, "end": end})
    direct = assert_same(pair, "textDocument/inlayHint", params, unordered=True)
    assert any(hint["label"][0]["value"] == "*Element" for hint in direct)


def test_workspace_symbol(pair: LspPair) -> None:
    # A query only the workspace's bufio answers well: a broad one fills gopls's result cap
    # with standard-library symbols whose score ties are cut differently by each process.
    result = assert_same(pair, "workspace/symbol", {"query": "NewReadWriter"}, unordered=True)
    assert any(symbol["name"] == "NewReadWriter" for symbol in result)


def test_execute_command(pair: LspPair) -> None:
    params = {
        "command": "gopls.list_imports",
        "arguments": [{"URI": path_to_uri(pair.root / "bufio/scan.go")}],
    }
    result = assert_same(pair, "workspace/executeCommand", params)
    assert {"Path": "unicode/utf8"} in [{"Path": i["Path"]} for i in result["Imports"]]


def test_unknown_method_gets_the_same_error(pair: LspPair) -> None:
    errors = []
    for client in pair.both:
        with pytest.raises(LspError) as caught:
            client.request("gopls/noSuchMethod", {"x": 1})
        errors.append((caught.value.code, str(caught.value)))
    assert errors[0] == errors[1]


def test_unknown_fields_pass_through(pair: LspPair, gopls_trace: Path) -> None:
    params = doc(pair, LIST, position=pair.position_of(LIST, "func (l *List) Len", 15))
    params["xUnknownField"] = {"nested": [1, 2, 3]}
    assert_same(pair, "textDocument/hover", params)
    assert params in params_received(gopls_trace, "textDocument/hover"), "gopls did not receive the field"


def test_diagnostics_after_edits(pair: LspPair) -> None:
    relative = "container_ring/ring.go"
    uri = pair.open(relative)
    end = pair.position_of(relative, "func (r *Ring) Len() int {", len("func (r *Ring) Len() int {"))
    edit = {"range": {"start": end, "end": end}, "text": "\n\tundefinedThing()\n"}
    change = {"textDocument": {"uri": uri, "version": 2}, "contentChanges": [edit]}
    results = []
    for client in pair.both:
        client.notify("textDocument/didChange", change)
    for client in pair.both:
        params = client.wait_for_notification(
            "textDocument/publishDiagnostics",
            lambda p: p["uri"] == uri and p.get("version") == 2 and p["diagnostics"],
        )
        results.append(params)
    assert results[0] == results[1]
    assert "undefined: undefinedThing" in results[0]["diagnostics"][0]["message"]
