"""Schema-driven fuzzing of one `gosidecar serve` with the real gopls behind it (issue 9).

Over 10,000 messages go to ONE sidecar: valid requests and notifications built from
lsprotocol's types for the common methods, the same with shapes mutated into wrong
types (or members dropped, ids broken, kinds swapped, envelopes spoilt), random JSON,
and framing noise. Then:

- the sidecar never exits and answers every request exactly once, by id;
- nothing it wrote to gopls (its trace file) is something gopls's decoder would refuse;
- the document changes it told gopls, read by gopls's own rules, end in the editor's
  text, and real gopls agrees: its formatting edits applied to the editor's text give
  `gofmt` of that text.

The editor's valid edits stay inside a raw string literal of each document (so the file
stays Go that gofmt and gopls can format) and include positions past a line's end, which
the LSP clamps and gopls refuses: the sidecar must tell gopls the clamped edit.
"""

from __future__ import annotations

import itertools
import json
import math
import re
import shutil
import subprocess
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from lsprotocol import converters, types

from gosidecar.framing import MAX_FRAME_BYTES, frame_header
from gosidecar.message import Kind, Message
from gosidecar.uris import path_to_uri
from tests.lsp_client import LspClient, LspError
from tests.support import sidecar_command, wait_until
from tests.unit.gopls_rules import gopls_apply

pytestmark = pytest.mark.timeout(900)

BATCHES = 100
BATCH_SIZE = 105
MIN_MESSAGES = 10_000
DOCUMENTS = 3
_CONVERTER = converters.get_converter()

# ----- the editor's model of its documents --------------------------------------------

_PREFIX = "package fuzz\n\n// The fuzzer edits the raw string below.\nvar region{n} = `\n"
_SUFFIX = "\n`\n\nfunc   unformatted{n}( )  int {\nreturn  {n}\n}\n"
_REGION_PIECES = ["a", "é", "中", "😀", "𠜎", "\n", " ", "\t", "{", "}", "\\", '"', "ß"]


@dataclass
class EditorDocument:
    uri: str
    prefix: str
    region: str
    suffix: str
    version: int = 1

    @property
    def text(self) -> str:
        return self.prefix + self.region + self.suffix


def utf16_position(text: str, offset: int) -> dict[str, int]:
    """The LSP position of a code-point offset, counted on UTF-16 code units."""
    line_start = text.rfind("\n", 0, offset) + 1
    units = len(text[line_start:offset].encode("utf-16-le")) // 2
    return {"line": text.count("\n", 0, offset), "character": units}


@dataclass
class Editor:
    root: Path
    documents: list[EditorDocument] = field(default_factory=list)

    def create(self) -> None:
        (self.root / "go.mod").write_text("module example.com/fuzz\n\ngo 1.22\n")
        for n in range(DOCUMENTS):
            path = self.root / f"fuzz{n}.go"
            document = EditorDocument(path_to_uri(path), _PREFIX.format(n=n), "", _SUFFIX.replace("{n}", str(n)))
            path.write_text(document.text)
            self.documents.append(document)


# ----- strategies -------------------------------------------------------------------------

json_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**70), 2**70),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=20),
)
json_values = st.recursive(
    json_scalars,
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=8), inner, max_size=4)),
    max_leaves=12,
)
region_texts = st.lists(st.sampled_from(_REGION_PIECES), max_size=6).map("".join)
positions = st.builds(types.Position, line=st.integers(0, 30), character=st.integers(0, 40))

_DOCUMENT_REQUESTS: dict[str, Any] = {
    types.TEXT_DOCUMENT_HOVER: types.HoverParams,
    types.TEXT_DOCUMENT_DEFINITION: types.DefinitionParams,
    types.TEXT_DOCUMENT_DOCUMENT_HIGHLIGHT: types.DocumentHighlightParams,
    types.TEXT_DOCUMENT_SIGNATURE_HELP: types.SignatureHelpParams,
    types.TEXT_DOCUMENT_COMPLETION: types.CompletionParams,
    types.TEXT_DOCUMENT_PREPARE_RENAME: types.PrepareRenameParams,
    types.TEXT_DOCUMENT_INLINE_COMPLETION: None,  # the sidecar's own method (pygls)
}
_WHOLE_DOCUMENT_REQUESTS: dict[str, Any] = {
    types.TEXT_DOCUMENT_DOCUMENT_SYMBOL: types.DocumentSymbolParams,
    types.TEXT_DOCUMENT_FOLDING_RANGE: types.FoldingRangeParams,
    types.TEXT_DOCUMENT_SEMANTIC_TOKENS_FULL: types.SemanticTokensParams,
    types.TEXT_DOCUMENT_DOCUMENT_LINK: types.DocumentLinkParams,
    types.TEXT_DOCUMENT_CODE_LENS: types.CodeLensParams,
}


def unstructure(params: object) -> Any:
    return _CONVERTER.unstructure(params)


@st.composite
def document_request(draw: st.DrawFn, editor: Editor) -> tuple[str, Any]:
    uri = draw(st.sampled_from(editor.documents)).uri
    identifier = types.TextDocumentIdentifier(uri=uri)
    method = draw(st.sampled_from([*_DOCUMENT_REQUESTS, *_WHOLE_DOCUMENT_REQUESTS, "more"]))
    if method in _WHOLE_DOCUMENT_REQUESTS:
        return method, unstructure(_WHOLE_DOCUMENT_REQUESTS[method](text_document=identifier))
    position = draw(positions)
    if method == types.TEXT_DOCUMENT_INLINE_COMPLETION:
        context = types.InlineCompletionContext(trigger_kind=types.InlineCompletionTriggerKind.Automatic)
        return method, unstructure(
            types.InlineCompletionParams(context=context, text_document=identifier, position=position)
        )
    if method in _DOCUMENT_REQUESTS:
        return method, unstructure(_DOCUMENT_REQUESTS[method](text_document=identifier, position=position))
    rng = types.Range(start=position, end=draw(positions))
    return draw(
        st.sampled_from(
            [
                (
                    types.TEXT_DOCUMENT_INLAY_HINT,
                    unstructure(types.InlayHintParams(text_document=identifier, range=rng)),
                ),
                (
                    types.TEXT_DOCUMENT_CODE_ACTION,
                    unstructure(
                        types.CodeActionParams(
                            text_document=identifier, range=rng, context=types.CodeActionContext(diagnostics=[])
                        )
                    ),
                ),
                (
                    types.TEXT_DOCUMENT_REFERENCES,
                    unstructure(
                        types.ReferenceParams(
                            context=types.ReferenceContext(include_declaration=True),
                            text_document=identifier,
                            position=position,
                        )
                    ),
                ),
                (
                    types.TEXT_DOCUMENT_SELECTION_RANGE,
                    unstructure(types.SelectionRangeParams(text_document=identifier, positions=[position])),
                ),
                (types.WORKSPACE_SYMBOL, unstructure(types.WorkspaceSymbolParams(query=draw(st.text(max_size=5))))),
            ]
        )
    )


@st.composite
def other_notification(draw: st.DrawFn, editor: Editor) -> tuple[str, Any]:
    """Valid notifications that leave the documents' text alone."""
    uri = draw(st.sampled_from(editor.documents)).uri
    return draw(
        st.sampled_from(
            [
                (
                    types.TEXT_DOCUMENT_DID_SAVE,
                    unstructure(types.DidSaveTextDocumentParams(text_document=types.TextDocumentIdentifier(uri=uri))),
                ),
                (types.CANCEL_REQUEST, {"id": draw(st.integers(0, 50))}),
                (types.SET_TRACE, {"value": "off"}),
                (
                    types.WORKSPACE_DID_CHANGE_WATCHED_FILES,
                    unstructure(
                        types.DidChangeWatchedFilesParams(
                            changes=[types.FileEvent(uri=uri, type=types.FileChangeType.Changed)]
                        )
                    ),
                ),
                (types.WORKSPACE_DID_CHANGE_CONFIGURATION, {"settings": {"other": draw(json_values)}}),
                (types.WORKSPACE_DID_CHANGE_WORKSPACE_FOLDERS, {"event": {"added": [], "removed": []}}),
            ]
        )
    )


@dataclass(frozen=True)
class EditPlan:
    document: int
    edits: list[tuple[int, int, str, int]]
    """(start, end) as fractions of the region in per-mille, new text, units past the line end."""
    whole: bool


edit_plans = st.builds(
    EditPlan,
    document=st.integers(0, DOCUMENTS - 1),
    edits=st.lists(
        st.tuples(st.integers(0, 1000), st.integers(0, 1000), region_texts, st.sampled_from([0, 0, 0, 0, 1, 5, 900])),
        min_size=1,
        max_size=3,
    ),
    whole=st.integers(0, 9).map(lambda n: n == 0),
)


def did_change(editor: Editor, plan: EditPlan) -> dict[str, Any]:
    """A valid didChange for `plan`, applied to the editor's model (as the LSP reads it)."""
    document = editor.documents[plan.document]
    document.version += 1
    changes: list[dict[str, Any]] = []
    for start_mille, end_mille, new_text, past_end in plan.edits:
        start = len(document.region) * min(start_mille, end_mille) // 1000
        end = len(document.region) * max(start_mille, end_mille) // 1000
        base = len(document.prefix)
        end_position = utf16_position(document.text, base + end)
        if past_end:  # the end's line, then past its end: the LSP clamps to the line end
            end = document.region.find("\n", end) if "\n" in document.region[end:] else len(document.region)
            end_position = utf16_position(document.text, base + end)
            end_position["character"] += past_end
        start_position = utf16_position(document.text, base + start)
        document.region = document.region[:start] + new_text + document.region[end:]
        changes.append({"range": {"start": start_position, "end": end_position}, "text": new_text})
    if plan.whole:
        changes = [{"text": document.text}]
    return {"textDocument": {"uri": document.uri, "version": document.version}, "contentChanges": changes}


def mutate(draw: st.DrawFn, value: Any) -> Any:
    """`value` with one member (at any depth) given another JSON type, or dropped: never
    valid any more (a change without its optional `range` would be, so that stays)."""
    if isinstance(value, dict) and value and draw(st.integers(0, 2)) > 0:
        key = draw(st.sampled_from(sorted(value)))
        if draw(st.integers(0, 4)) == 0 and key != "range":
            return {k: v for k, v in value.items() if k != key}
        return {**value, key: mutate(draw, value[key])}
    if isinstance(value, list) and value and draw(st.booleans()):
        index = draw(st.integers(0, len(value) - 1))
        return [*value[:index], mutate(draw, value[index]), *value[index + 1 :]]
    return draw(json_values.filter(lambda other: _json_type(other) != _json_type(value)))


def _json_type(value: Any) -> str:
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int) or (isinstance(value, float) and value.is_integer()):
        return "integer"
    return type(value).__name__


# ----- the session ------------------------------------------------------------------------


@dataclass
class Fuzz:
    editor: Editor
    client: LspClient
    trace: Path
    ids: Iterator[int] = field(default_factory=lambda: itertools.count(1))
    sent: int = 0
    requests: set[str] = field(default_factory=set)

    def frame(self, body: bytes) -> None:
        self.client.send_raw(frame_header(len(body)) + body)
        self.sent += 1

    def message(self, obj: dict[str, Any]) -> None:
        self.frame(json.dumps(obj).encode())

    def request(self, method: str, params: Any) -> None:
        msg_id = f"fuzz-{next(self.ids)}"
        self.requests.add(msg_id)
        self.message({"jsonrpc": "2.0", "id": msg_id, "method": method, "params": params})

    def notify(self, method: str, params: Any) -> None:
        self.message({"jsonrpc": "2.0", "method": method, "params": params})

    def answered(self) -> Counter[Any]:
        return Counter(m.id for m in list(self.client.unmatched_responses))


@pytest.fixture(scope="module")
def fuzz(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Fuzz]:
    root = tmp_path_factory.mktemp("schema-fuzz")
    editor = Editor(root)
    editor.create()
    trace = root.parent / "sidecar-trace.log"
    client = LspClient([*sidecar_command(), "--trace-file", str(trace)], cwd=str(root))
    client.initialize(path_to_uri(root), {"ai": {"enabled": False}})
    for document in editor.documents:
        item = {"uri": document.uri, "languageId": "go", "version": 1, "text": document.text}
        client.notify("textDocument/didOpen", {"textDocument": item})
    client.request("workspace/symbol", {"query": "unformatted"}, timeout=120)  # waits for the load
    yield Fuzz(editor, client, trace)
    if client.process.poll() is None:  # the last test ends the session itself
        client.shutdown()


@st.composite
def one_message(draw: st.DrawFn, fuzz: Fuzz) -> None:
    """Draw one message (or one piece of noise) and send it."""
    editor = fuzz.editor
    choice = draw(st.integers(0, 99))
    if choice < 30:
        fuzz.notify(types.TEXT_DOCUMENT_DID_CHANGE, did_change(editor, draw(edit_plans)))
    elif choice < 55:
        fuzz.request(*draw(document_request(editor)))
    elif choice < 62:
        fuzz.notify(*draw(other_notification(editor)))
    elif choice < 80:
        send_mutated(draw, fuzz)
    elif choice < 88:
        fuzz.request(draw(st.sampled_from(["fuzz/unknown", "$/fuzz", "workspace/executeCommandX"])), draw(json_values))
    elif choice < 94:
        send_broken_envelope(draw, fuzz)
    else:
        send_noise(draw, fuzz)


def send_mutated(draw: st.DrawFn, fuzz: Fuzz) -> None:
    """A message of the schema with a shape broken: the sidecar must not act on it."""
    editor = fuzz.editor
    document = draw(st.sampled_from(editor.documents))
    kind = draw(st.integers(0, 4))
    if kind == 0:
        changes = did_change_preview(editor, EditPlan(editor.documents.index(document), [(0, 1000, "x", 0)], False))
        valid = {"textDocument": {"uri": document.uri, "version": document.version + 1}, "contentChanges": changes}
        fuzz.notify(types.TEXT_DOCUMENT_DID_CHANGE, mutate(draw, valid))
    elif kind == 1:
        item = {"uri": document.uri, "languageId": "go", "version": document.version + 1, "text": "package broken\n"}
        name = draw(st.sampled_from([types.TEXT_DOCUMENT_DID_OPEN, types.TEXT_DOCUMENT_DID_CLOSE]))
        params = {"textDocument": item if name == types.TEXT_DOCUMENT_DID_OPEN else {"uri": document.uri}}
        fuzz.notify(name, mutate(draw, params))
    elif kind == 2:
        fuzz.notify(types.WORKSPACE_DID_CHANGE_WORKSPACE_FOLDERS, mutate(draw, {"event": {"added": [], "removed": []}}))
    elif kind == 3:
        method, params = draw(document_request(editor))
        fuzz.request(method, mutate(draw, params))
    else:
        capabilities = draw(st.sampled_from([[], None, 5, {"window": []}, {"workspace": "x"}]))
        fuzz.request(types.INITIALIZE, {"processId": None, "rootUri": None, "capabilities": capabilities})


def did_change_preview(editor: Editor, plan: EditPlan) -> list[dict[str, Any]]:
    """The changes of a valid didChange for `plan`, without applying them to the model."""
    document = editor.documents[plan.document]
    region, version = document.region, document.version
    changes = did_change(editor, plan)["contentChanges"]
    document.region, document.version = region, version
    return list(changes)


def send_broken_envelope(draw: st.DrawFn, fuzz: Fuzz) -> None:
    document = draw(st.sampled_from(fuzz.editor.documents))
    item = {"uri": document.uri, "languageId": "go", "version": 99, "text": "package broken\n"}
    did_open = {"textDocument": item}
    broken = draw(
        st.sampled_from(
            [
                {"jsonrpc": "2.0", "id": None, "method": types.TEXT_DOCUMENT_DID_OPEN, "params": did_open},
                {"jsonrpc": "2.0", "id": 1.5, "method": types.TEXT_DOCUMENT_DID_OPEN, "params": did_open},
                {"jsonrpc": "2.0", "id": True, "method": types.TEXT_DOCUMENT_HOVER, "params": {}},
                {"jsonrpc": "1.0", "method": types.TEXT_DOCUMENT_DID_OPEN, "params": did_open},
                {"jsonrpc": "2.0", "method": types.TEXT_DOCUMENT_DID_OPEN, "params": did_open, "Params": {}},
                {"jsonrpc": "2.0", "id": 7, "error": "not an error object"},
                {"jsonrpc": "2.0", "result": None},
                {"jsonrpc": "2.0", "method": types.SHUTDOWN},
                {"jsonrpc": "2.0", "method": "fuzz/notice", "params": [math.nan, -math.inf]},
            ]
        )
    )
    if draw(st.booleans()):
        fuzz.message(broken)
    else:  # a notification sent as a request, answered with an error by its id
        fuzz.request(types.TEXT_DOCUMENT_DID_OPEN, did_open)


_NOISE_HEADERS = [b"", b"Content-Length: %d\r\n\r\n" % (MAX_FRAME_BYTES + 1), b"Content-Length: x\r\n\r\n"]


def send_noise(draw: st.DrawFn, fuzz: Fuzz) -> None:
    kind = draw(st.integers(0, 5))
    if kind == 0:
        fuzz.frame(draw(st.binary(max_size=200)))
    elif kind == 1:
        fuzz.frame(json.dumps(draw(json_values)).encode())
    elif kind == 2:
        depth = draw(st.integers(1_000, 20_000))
        fuzz.frame(b'{"jsonrpc":"2.0","id":1,"method":"x","params":' + b"[" * depth + b"]" * depth + b"}")
    else:
        # Noise between frames that cannot hide the next header (no blank line in it).
        junk = draw(st.binary(max_size=100)).replace(b"\r", b" ")
        fuzz.client.send_raw(_NOISE_HEADERS[kind - 3] + junk)
        fuzz.sent += 1


@settings(
    max_examples=BATCHES,
    deadline=None,
    phases=[Phase.generate],
    suppress_health_check=list(HealthCheck),
)
@given(data=st.data())
def test_fuzz_batches(fuzz: Fuzz, data: st.DataObject) -> None:
    for _ in range(BATCH_SIZE):
        data.draw(one_message(fuzz))
    assert fuzz.client.process.poll() is None, "the sidecar exited"
    wait_until(lambda: fuzz.requests <= set(fuzz.answered()), 120, "answers to every request of the batch")


def test_after_the_fuzz(fuzz: Fuzz) -> None:
    assert fuzz.sent >= MIN_MESSAGES, fuzz.sent
    answered = fuzz.answered()
    assert fuzz.requests <= set(answered), sorted(fuzz.requests - set(answered))[:10]
    assert [i for i in fuzz.requests if answered[i] != 1] == []
    print(f"fuzzed {fuzz.sent} messages; {len(fuzz.requests)} requests, each answered once")
    for document in fuzz.editor.documents:
        check_gopls_formats_the_editors_text(fuzz, document)
    fuzz.client.request("shutdown", None)
    fuzz.client.notify("exit")
    assert fuzz.client.process.wait(120) == 0  # a clean exit, which also flushes the trace
    check_gopls_was_told_the_editors_text(fuzz)


_TRACE_LINE = re.compile(rb"^\d+\.\d+ sidecar->gopls (.*)$")


def check_gopls_was_told_the_editors_text(fuzz: Fuzz) -> None:
    texts: dict[str, str] = {}
    for line in fuzz.trace.read_bytes().split(b"\n"):
        found = _TRACE_LINE.match(line)
        if found is None:
            continue
        message = Message.parsed(found.group(1))
        assert message.kind is not Kind.INVALID, (message.problem, found.group(1)[:300])
        params = message.params
        if message.method == types.TEXT_DOCUMENT_DID_OPEN:
            texts[params["textDocument"]["uri"]] = params["textDocument"]["text"]
        elif message.method == types.TEXT_DOCUMENT_DID_CHANGE:
            uri = params["textDocument"]["uri"]
            texts[uri] = gopls_apply(texts[uri], params["contentChanges"])
    for document in fuzz.editor.documents:
        assert texts[document.uri] == document.text


def check_gopls_formats_the_editors_text(fuzz: Fuzz, document: EditorDocument) -> None:
    params = {"textDocument": {"uri": document.uri}, "options": {"tabSize": 4, "insertSpaces": False}}
    answers: list[Any] = []

    def formatted() -> bool:
        # gopls answers "no views" while it replaces a view (after a configuration
        # change, say): a transient state; a lost workspace would never end it.
        try:
            answers.append(fuzz.client.request("textDocument/formatting", params))
        except LspError as error:
            assert "no views" in str(error), error
            return False
        return True

    wait_until(formatted, 60, f"gopls to format {document.uri}")
    edits = answers[-1]
    assert edits, "formatting found nothing to do: the check would prove nothing"
    text = document.text
    for edit in sorted(
        edits, key=lambda e: (e["range"]["start"]["line"], e["range"]["start"]["character"]), reverse=True
    ):
        text = gopls_apply(text, [{"range": edit["range"], "text": edit["newText"]}])
    assert text == gofmt(document.text)


def gofmt(text: str) -> str:
    goroot = subprocess.run(["go", "env", "GOROOT"], capture_output=True, text=True, check=True).stdout.strip()
    command = shutil.which("gofmt") or str(Path(goroot) / "bin" / "gofmt")
    return subprocess.run([command], input=text, capture_output=True, text=True, check=True).stdout
