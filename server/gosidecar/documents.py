"""The editor's open documents, mirrored exactly from didOpen/didChange/didClose.

The mirror is what lets a restarted gopls see the user's unsaved text, and what the
completion engine reads. LSP positions count UTF-16 code units (the default
`positionEncoding`), so edits are applied on UTF-16 offsets, not on Python's code
points: a line with an emoji or CJK text must come out byte-identical to the editor's.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

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

    def did_open(self, params: Mapping[str, Any]) -> None:
        item = params["textDocument"]
        doc = Document(item["uri"], item.get("languageId", ""), item["version"], item["text"])
        with self._lock:
            self._docs[doc.uri] = doc

    def did_change(self, params: Mapping[str, Any]) -> None:
        ident = params["textDocument"]
        uri = ident["uri"]
        with self._lock:
            doc = self._docs.get(uri)
            if doc is None:
                return
            text = doc.text
            for change in params.get("contentChanges", []):
                text = apply_change(text, change)
            self._docs[uri] = Document(uri, doc.language_id, ident.get("version", doc.version), text)

    def did_close(self, params: Mapping[str, Any]) -> None:
        with self._lock:
            self._docs.pop(params["textDocument"]["uri"], None)


def apply_change(text: str, change: Mapping[str, Any]) -> str:
    """Apply one `TextDocumentContentChangeEvent` (full or incremental)."""
    rng = change.get("range")
    if rng is None:
        return str(change["text"])
    start = offset_at(text, rng["start"])
    end = offset_at(text, rng["end"])
    if end < start:
        start, end = end, start
    return text[:start] + str(change["text"]) + text[end:]


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
