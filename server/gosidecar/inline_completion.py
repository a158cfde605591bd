"""`textDocument/inlineCompletion`: the editor's position → the local model → ghost text."""

from __future__ import annotations

import asyncio
import threading

from lsprotocol import types

from .completion import CompletionRequest, CompletionService
from .completion.postprocess import cursor_context
from .documents import DocumentStore, offset_at, position_at

# Other open files give the model names and types it cannot see in the current file;
# a couple of them is what fits the token budget.
_EXTRA_CONTEXT_FILES = 2
_CLOSERS = {"(": ")", "[": "]", "{": "}"}
# The editor runs an item's command once the user accepts it; the extension's command
# sends `goSidecar/inlineCompletionAccepted` back, which the history counts.
ACCEPTED_COMMAND = types.Command(title="Ghost text accepted", command="goSidecar.inlineCompletionAccepted")
_QUOTES = "\"'`"


async def complete_inline(
    service: CompletionService, documents: DocumentStore, params: types.InlineCompletionParams
) -> types.InlineCompletionList | None:
    uri = params.text_document.uri
    doc = documents.get(uri)
    if doc is None:
        return None
    others = [(d.uri, d.text) for d in documents.all() if d.uri != uri and d.language_id == doc.language_id]
    position = params.position
    request = CompletionRequest(uri, doc.text, position.line, position.character, others[:_EXTRA_CONTEXT_FILES])
    cancel = threading.Event()
    loop = asyncio.get_running_loop()
    try:
        result = await loop.run_in_executor(None, service.complete, request, cancel)
    except asyncio.CancelledError:  # $/cancelRequest or a newer keystroke
        cancel.set()
        raise
    if not result.text:
        return types.InlineCompletionList(items=[])
    return types.InlineCompletionList(items=[_item(doc.text, position, result.text)])


def _item(text: str, position: types.Position, suggestion: str) -> types.InlineCompletionItem:
    cursor = offset_at(text, {"line": position.line, "character": position.character})
    line = cursor_context(text, cursor)
    insert, replaces_suffix = merge_with_line_suffix(line.line_prefix, suggestion, line.line_suffix)
    end = types.Position(*position_at(text, cursor + len(line.line_suffix))) if replaces_suffix else position
    return types.InlineCompletionItem(insert_text=insert, range=types.Range(position, end), command=ACCEPTED_COMMAND)


def merge_with_line_suffix(prefix: str, suggestion: str, suffix: str) -> tuple[str, bool]:
    """The text to insert and whether it replaces the rest of the line.

    Editors auto-close brackets and quotes: typing `fmt.Println("total` leaves `")` after
    the cursor. A suggestion that closes them itself (`:", total)`) must replace those
    characters, or the line ends up with them twice. The rest of the line is kept where
    it still closes something the prefix and suggestion leave open.
    """
    if "\n" in suggestion or not suffix.strip() or suffix.strip(")]}\"'` "):
        return suggestion, False
    expected = _unclosed(prefix + suggestion)
    kept = []
    for char in suffix:
        if expected and char == expected[-1]:
            kept.append(char)
            expected.pop()
    return suggestion + "".join(kept), True


def _unclosed(line: str) -> list[str]:
    """The closing characters a Go line still needs, innermost last."""
    expected: list[str] = []
    index = 0
    while index < len(line):
        char = line[index]
        in_string = bool(expected) and expected[-1] in _QUOTES
        if in_string:
            if char == "\\" and expected[-1] != "`":
                index += 1
            elif char == expected[-1]:
                expected.pop()
        elif char in _QUOTES:
            expected.append(char)
        elif char in _CLOSERS:
            expected.append(_CLOSERS[char])
        elif expected and char == expected[-1]:
            expected.pop()
        index += 1
    return expected
