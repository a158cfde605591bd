"""What gopls is told about a document ends in the mirror's text, whatever the editor sent.

The editor's changes below break each of gopls's rules for reading a didChange (see
gopls_rules.py); the forwarded ones must not: gopls ends with the mirror's text.
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gosidecar.documents import DocumentStore
from gosidecar.message import Rejected
from tests.unit.gopls_rules import gopls_apply

URI = "file:///w/main.go"


pieces = st.sampled_from(["a", "é", "中", "😀", "\n", "\r\n", "\r", "\t", " ", "}"])
texts = st.lists(pieces, max_size=25).map("".join)
positions = st.fixed_dictionaries({"line": st.integers(0, 8), "character": st.integers(0, 12)})
ranged = st.fixed_dictionaries({"range": st.fixed_dictionaries({"start": positions, "end": positions}), "text": texts})
whole = st.fixed_dictionaries({"text": texts})
changes = st.lists(st.one_of(ranged, ranged, ranged, whole), min_size=1, max_size=4)


def open_store(text: str) -> DocumentStore:
    store = DocumentStore()
    store.did_open({"textDocument": {"uri": URI, "languageId": "go", "version": 1, "text": text}})
    return store


@settings(max_examples=400, deadline=None)
@given(texts, st.lists(changes, min_size=1, max_size=5))
def test_gopls_ends_with_the_mirrors_text(initial: str, notifications: list[list[dict[str, Any]]]) -> None:
    store = open_store(initial)
    gopls_text = initial
    for version, content_changes in enumerate(notifications, start=2):
        forwarded = store.did_change(
            {"textDocument": {"uri": URI, "version": version}, "contentChanges": content_changes}
        )
        assert forwarded is not None
        gopls_text = gopls_apply(gopls_text, forwarded["contentChanges"])
        document = store.get(URI)
        assert document is not None
        assert gopls_text == document.text


@pytest.mark.parametrize(
    "params",
    [
        {"textDocument": {"uri": URI, "version": 2}, "contentChanges": {}},
        {"textDocument": {"uri": URI, "version": "2"}, "contentChanges": []},
        {"textDocument": {"uri": URI, "version": 2}, "contentChanges": [{"text": 5}]},
        {"textDocument": {"uri": URI, "version": 2}, "contentChanges": [{"text": "\ud800"}]},
        {"textDocument": {"uri": URI, "version": 2}, "contentChanges": [{"range": [], "text": "x"}]},
        {
            "textDocument": {"uri": URI, "version": 2},
            "contentChanges": [
                {"range": {"start": {"line": -1, "character": 0}, "end": {"line": 0, "character": 0}}, "text": "x"}
            ],
        },
        [],
        None,
    ],
)
def test_a_change_the_mirror_cannot_read_is_refused_and_changes_nothing(params: object) -> None:
    store = open_store("package main\n")
    with pytest.raises(Rejected):
        store.did_change(params)
    document = store.get(URI)
    assert document is not None and (document.text, document.version) == ("package main\n", 1)


def test_a_change_to_a_document_that_is_not_open_is_not_forwarded() -> None:
    store = DocumentStore()
    assert store.did_change({"textDocument": {"uri": URI, "version": 2}, "contentChanges": [{"text": "x"}]}) is None
    assert store.did_close({"textDocument": {"uri": URI}}) is None


@pytest.mark.parametrize(
    "item",
    [
        {"uri": URI, "languageId": 3, "version": 1, "text": ""},
        {"uri": URI, "languageId": "go", "version": 1.0, "text": ""},
        {"uri": URI, "languageId": "go", "version": 1, "text": None},
        {"uri": URI, "languageId": "go", "version": 1, "text": "\udfff"},
    ],
)
def test_an_open_the_mirror_cannot_read_is_refused(item: dict[str, Any]) -> None:
    store = DocumentStore()
    with pytest.raises(Rejected):
        store.did_open({"textDocument": item})
    assert store.all() == []
