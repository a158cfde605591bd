"""Cursor signals the proxy sees become KV cache warming where the cursor rests."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import pytest

from gosidecar.completion.prefetch import Prefetcher, cursor_of
from gosidecar.completion.service import CompletionRequest
from gosidecar.documents import DocumentStore
from tests.support import wait_until

URI = "file:///w/a.go"
OTHER = "file:///w/b.go"


class Recorder:
    """Records what would be warmed (the warming itself is tested with the model in test_warming)."""

    def __init__(self) -> None:
        self.requests: list[CompletionRequest] = []
        self.arrived = threading.Event()

    def prefetch(self, request: CompletionRequest) -> None:
        self.requests.append(request)
        self.arrived.set()


def open_documents(*files: tuple[str, str, str]) -> DocumentStore:
    documents = DocumentStore()
    for uri, language, text in files:
        documents.did_open({"textDocument": {"uri": uri, "languageId": language, "version": 1, "text": text}})
    return documents


@pytest.fixture
def recorder() -> Recorder:
    return Recorder()


@pytest.fixture
def prefetcher(recorder: Recorder) -> Iterator[Prefetcher]:
    documents = open_documents(
        (URI, "go", "package a\n\nfunc f() {\n}\n"),
        (OTHER, "go", "package a\n\ntype T struct{}\n"),
        ("file:///w/notes.md", "markdown", "# notes\n"),
    )
    found = Prefetcher(recorder, documents, settle_s=0.05)
    yield found
    found.close()


@pytest.mark.parametrize(
    ("method", "params", "expected"),
    [
        ("textDocument/hover", {"textDocument": {"uri": URI}, "position": {"line": 3, "character": 7}}, (URI, 3, 7)),
        (
            "textDocument/codeAction",
            {"textDocument": {"uri": URI}, "range": {"start": {"line": 5, "character": 1}, "end": {}}, "context": {}},
            (URI, 5, 1),
        ),
        ("textDocument/hover", {"textDocument": {"uri": URI}, "position": {"line": "3", "character": 7}}, None),
        ("textDocument/hover", {"textDocument": {"uri": URI}}, None),
        ("textDocument/hover", ["not", "an", "object"], None),
        ("textDocument/codeAction", {"textDocument": {"uri": 5}, "range": {"start": {"line": 1}}}, None),
    ],
)
def test_the_cursor_is_read_from_the_request_shape(method: str, params: Any, expected: object) -> None:
    assert cursor_of(method, params) == expected


def test_only_where_the_cursor_settles_is_warmed(prefetcher: Prefetcher, recorder: Recorder) -> None:
    for line in range(3):
        prefetcher.note(URI, line, 0)
    recorder.arrived.wait(30)
    assert [(r.uri, r.line, r.character) for r in recorder.requests] == [(URI, 2, 0)]
    request = recorder.requests[0]
    assert request.text.startswith("package a") and request.extra_context == [(OTHER, "package a\n\ntype T struct{}\n")]


def test_a_file_of_another_language_or_unknown_is_not_warmed(prefetcher: Prefetcher, recorder: Recorder) -> None:
    for settled, uri in enumerate(("file:///w/notes.md", "file:///w/unknown.go", URI), 1):
        prefetcher.note(uri, 0, 0)
        wait_until(lambda: prefetcher.settled == settled, 30, f"the cursor in {uri} to settle")  # noqa: B023
    assert [r.uri for r in recorder.requests] == [URI]
