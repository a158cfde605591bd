"""The editor's open documents, mirrored exactly from didOpen/didChange/didClose.

The mirror is what lets a restarted gopls see the user's unsaved text, and what the
completion engine reads. LSP positions count UTF-16 code units (the default
`positionEncoding`), so edits are applied on UTF-16 offsets, not on Python's code
points: a line with an emoji or CJK text must come out byte-identical to the editor's.

The mirror is also what gopls is told. gopls reads positions by other rules than the
LSP's (only `\n` ends a line; a position past a line's end, a whole-text change among
several, or an end before the start make it refuse the whole notification) and decodes
JSON by Go's rules, so forwarding the editor's bytes could leave gopls with another text
than the mirror. Instead the sidecar forwards what the mirror applied: `did_change`
returns the changes re-expressed in positions gopls reads the same way. A notification
the mirror cannot read (wrong shapes, a document that is not open) is dropped, not
forwarded half understood: the editor's next full sync (or the next didOpen) is then
the only way back, which is also what gopls itself would have needed.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from lsprotocol import types

from .lsp_schema import read, read_text
from .message import Rejected

LINE_BREAK = re.compile(r"\r\n|\r|\n")


@dataclass(frozen=True)
class Document:
    uri: str
    language_id: str
    version: int
    text: str


class DocumentStore:
    """Thread-safe mirror of the open documents, keyed by URI."""

    def __init__(self) -> None:
        self._docs: dict[str, Document] = {}
        self._lock = threading.Lock()

    def get(self, uri: str) -> Document | None:
        with self._lock:
            return self._docs.get(uri)

    def all(self) -> list[Document]:
        with self._lock:
            return list(self._docs.values())

    def did_open(self, params: object) -> dict[str, Any]:
        """Record a didOpen; returns the params to forward. Raises `Rejected` when malformed."""
        item = read(types.DidOpenTextDocumentParams, params).text_document
        language_id = params["textDocument"]["languageId"]  # type: ignore[index] # read above
        if not isinstance(language_id, str):  # lsprotocol lets any value through for it
            raise Rejected("languageId must be a string")
        doc = Document(read_text(item.uri, "uri"), language_id, item.version, read_text(item.text, "text"))
        with self._lock:
            self._docs[doc.uri] = doc
        return {
            "textDocument": {"uri": doc.uri, "languageId": doc.language_id, "version": doc.version, "text": doc.text}
        }

    def did_change(self, params: object) -> dict[str, Any] | None:
        """Apply a didChange; returns the params to forward, None when the document is not
        open (nothing applied). Raises `Rejected` when malformed."""
        change_params = read(types.DidChangeTextDocumentParams, params)
        ident = change_params.text_document
        changes = [_read_change(change) for change in change_params.content_changes]
        with self._lock:
            doc = self._docs.get(ident.uri)
            if doc is None:
                return None
            text, forwarded = _apply_all(doc.text, changes)
            self._docs[doc.uri] = Document(doc.uri, doc.language_id, ident.version, text)
        return {"textDocument": {"uri": doc.uri, "version": ident.version}, "contentChanges": forwarded}

    def did_close(self, params: object) -> dict[str, Any] | None:
        """Forget a document; returns the params to forward, None when it was not open."""
        uri = read(types.DidCloseTextDocumentParams, params).text_document.uri
        with self._lock:
            closed = self._docs.pop(uri, None)
        return None if closed is None else {"textDocument": {"uri": uri}}


Change = tuple[tuple[dict[str, int], dict[str, int]] | None, str]
"""A content change as (range or None for the whole text, new text)."""


def _read_change(change: types.TextDocumentContentChangeEvent) -> Change:
    text = read_text(change.text, "a change's text")
    if isinstance(change, types.TextDocumentContentChangeWholeDocument):
        return None, text
    start, end = change.range.start, change.range.end
    return ({"line": start.line, "character": start.character}, {"line": end.line, "character": end.character}), text


def _apply_all(text: str, changes: list[Change]) -> tuple[str, list[dict[str, Any]]]:
    """The text after `changes`, and the changes as gopls reads them to the same text."""
    forwarded: list[dict[str, Any]] = []
    whole = False
    for rng, new_text in changes:
        if rng is None:
            text, whole = new_text, True
            continue
        spliced, start, end = _splice(text, rng[0], rng[1], new_text)
        gopls_range = {"start": gopls_position(text, start), "end": gopls_position(text, end)}
        forwarded.append({"range": gopls_range, "text": new_text})
        text = spliced
    # gopls takes a whole-text change only alone: then the end result is sent whole.
    return text, [{"text": text}] if whole else forwarded


def gopls_position(text: str, offset: int) -> dict[str, int]:
    """The position of a code-point offset as gopls reads positions (lines end at `\n` only)."""
    line_start = text.rfind("\n", 0, offset) + 1
    return {"line": text.count("\n", 0, offset), "character": utf16_length(text[line_start:offset])}


def apply_change(text: str, change: Mapping[str, Any]) -> str:
    """Apply one `TextDocumentContentChangeEvent` (full or incremental)."""
    rng = change.get("range")
    if rng is None:
        return str(change["text"])
    return _splice(text, rng["start"], rng["end"], str(change["text"]))[0]


def _splice(text: str, start: Mapping[str, Any], end: Mapping[str, Any], new_text: str) -> tuple[str, int, int]:
    """`text` with the range replaced, and the range's code-point offsets (start first)."""
    start_offset, end_offset = sorted((offset_at(text, start), offset_at(text, end)))
    return text[:start_offset] + new_text + text[end_offset:], start_offset, end_offset


def offset_at(text: str, position: Mapping[str, Any]) -> int:
    """Code-point offset in `text` of an LSP position (line, UTF-16 character).

    Lines end at `\n`, `\r\n` or `\r`, as in the LSP specification. Positions past the
    end of a line clamp to the line end (before its line break) and lines past the end
    of the text clamp to its end.
    """
    line, character = int(position["line"]), int(position["character"])
    line_start = 0
    if line > 0:
        for count, match in enumerate(LINE_BREAK.finditer(text), start=1):
            if count == line:
                line_start = match.end()
                break
        else:
            return len(text)
    found = LINE_BREAK.search(text, line_start)
    line_end = found.start() if found else len(text)
    return line_start + _utf16_to_code_points(text, line_start, line_end, character)


def position_at(text: str, offset: int) -> tuple[int, int]:
    """LSP (line, UTF-16 character) of a code-point offset."""
    breaks = list(LINE_BREAK.finditer(text, 0, offset))
    line_start = breaks[-1].end() if breaks else 0
    return len(breaks), utf16_length(text[line_start:offset])


def utf16_length(s: str) -> int:
    return len(s) + sum(1 for ch in s if ord(ch) > 0xFFFF)


def _utf16_to_code_points(text: str, start: int, end: int, units: int) -> int:
    segment = text[start:end]
    if segment.isascii():
        return min(units, len(segment))
    counted = 0
    for index, ch in enumerate(segment):
        if counted >= units:
            return index
        counted += 2 if ord(ch) > 0xFFFF else 1
    return len(segment)
