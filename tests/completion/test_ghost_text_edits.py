"""Ghost text through `gosidecar serve` (real gopls, real model), applied as the editor applies it.

Two cases VS Code users meet at once: gopls's suggestion list open after a member access
(the ghost text must extend the selected item, or VS Code shows none), and a CRLF file
where the editor auto-closed `")` before the cursor.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from gosidecar.completion.cursor import CursorContext
from gosidecar.completion.go_scan import scan_go
from gosidecar.documents import offset_at, position_at
from gosidecar.uris import path_to_uri
from tests.lsp_client import LspClient
from tests.support import sidecar_command

pytestmark = [pytest.mark.model, pytest.mark.timeout(300)]

QUEUE = """package inventory

import "container/list"

// Queue keeps items in the order they arrive.
type Queue struct {
	items *list.List
}

// NewQueue returns an empty queue.
func NewQueue() *Queue {
	return &Queue{items: list.New()}
}

// Front returns the item at the front of the queue.
func (q *Queue) Front() Item {
	return q.items.Front().Val
}
"""


class Session:
    def __init__(self, workspace: Path) -> None:
        self.workspace = workspace
        self.client = LspClient(sidecar_command(), cwd=str(workspace))
        self.client.initialize(path_to_uri(workspace), {"ai": {"debounceMs": 0}})
        self.client.request("workspace/symbol", {"query": ""}, timeout=120)

    def open(self, relative: str, text: str) -> str:
        path = self.workspace / relative
        path.write_bytes(text.encode())
        uri = path_to_uri(path)
        item = {"uri": uri, "languageId": "go", "version": 1, "text": text}
        self.client.notify("textDocument/didOpen", {"textDocument": item})
        return uri

    def inline(self, uri: str, position: dict[str, int], selected: dict[str, Any] | None = None) -> list[Any]:
        context: dict[str, Any] = {"triggerKind": 2}
        if selected is not None:
            context["selectedCompletionInfo"] = selected
        params = {"textDocument": {"uri": uri}, "position": position, "context": context}
        result = self.client.request("textDocument/inlineCompletion", params, timeout=120)
        items: list[Any] = result["items"]
        return items


@pytest.fixture
def session(example_workspace: Path) -> Iterator[Session]:
    opened = Session(example_workspace)
    yield opened
    opened.client.shutdown()


def at(text: str, offset: int) -> dict[str, int]:
    line, character = position_at(text, offset)
    return {"line": line, "character": character}


def accept(text: str, item: dict[str, Any]) -> str:
    start = offset_at(text, item["range"]["start"])
    end = offset_at(text, item["range"]["end"])
    return text[:start] + item["insertText"] + text[end:]


def line_at(text: str, offset: int) -> str:
    context = CursorContext.at_offset(text, offset)
    return context.line_prefix + context.line_suffix


def plain_text(snippet: str) -> str:
    """A snippet as VS Code puts it in `selectedCompletionInfo`: placeholders by their text."""
    return re.sub(r"\$\{\d+:([^}]*)\}|\$\d+", lambda match: match.group(1) or "", snippet)


def test_ghost_text_extends_the_selected_suggestion(session: Session) -> None:
    typed = "q.items.Front().Val"
    cursor = QUEUE.index(typed) + len(typed)
    uri = session.open("inventory/queue.go", QUEUE)
    listed = session.client.request(
        "textDocument/completion", {"textDocument": {"uri": uri}, "position": at(QUEUE, cursor)}, timeout=120
    )
    first = (listed["items"] if isinstance(listed, dict) else listed)[0]
    edit = first["textEdit"]
    assert edit["newText"] == "Value", first
    selected = {"range": edit.get("range") or edit["replace"], "text": plain_text(edit["newText"])}

    items = session.inline(uri, at(QUEUE, cursor), selected)

    assert items, "no ghost text while the suggestion list is open"
    [item] = items
    assert item["range"]["start"] == selected["range"]["start"]
    assert item["insertText"].startswith(selected["text"]) and len(item["insertText"]) > len(selected["text"])
    accepted = accept(QUEUE, item)
    line = line_at(accepted, cursor)
    print(f"accepted line: {line!r}")
    assert line.startswith("\treturn q.items.Front()." + selected["text"])
    assert scan_go(line).open == [], f"{line!r} is not well-formed"


def test_ghost_text_after_auto_closed_characters_in_a_crlf_file(session: Session) -> None:
    main = (session.workspace / "main.go").read_text()
    typed = '\tfmt.Println("total'
    anchor = "\tif err := report.Write"
    text = main.replace(anchor, typed + '")\n' + anchor).replace("\n", "\r\n")
    cursor = text.index(typed) + len(typed)
    uri = session.open("main.go", text)

    [item] = session.inline(uri, at(text, cursor))

    accepted = accept(text, item)
    line = line_at(accepted, cursor)
    print(f"accepted line: {line!r}")
    assert line.startswith(typed) and scan_go(line).open == [], f"{line!r} is not well-formed"
    assert accepted.count("\r\n") == text.count("\r\n") and "\r\r" not in accepted
