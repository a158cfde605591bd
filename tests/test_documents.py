"""Property tests: the document mirror applies edits exactly as the editor does.

The reference works on UTF-16 code units directly (encode to UTF-16-LE, splice the code
units, decode), which is what an LSP client's positions count, so any mix-up between
code points and code units in `gosidecar.documents` shows up as a different text.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from gosidecar.documents import DocumentStore, apply_change, offset_at, position_at

URI = "file:///work/example/main.go"

# Characters that break naive implementations: multi-byte UTF-8 but one UTF-16 unit
# (é, 中), astral characters that are two UTF-16 units (😀, 𠜎), a combining mark, and
# separators that are not LSP line breaks.
TRICKY_CHARACTERS = [
    "\n",
    "\n",
    "é",
    "中",
    "😀",
    "𠜎",
    "e\u0301",
    "\t",
    "\u2028",
    "\x00",
    "ß",
]

text_pieces = st.one_of(
    st.sampled_from(TRICKY_CHARACTERS),
    st.text(st.characters(codec="utf-8", exclude_characters="\r"), max_size=4),
)
texts = st.lists(text_pieces, max_size=30).map("".join)


def units_of(text: str) -> list[int]:
    data = text.encode("utf-16-le")
    return [int.from_bytes(data[i : i + 2], "little") for i in range(0, len(data), 2)]


def text_of(units: list[int]) -> str:
    return b"".join(unit.to_bytes(2, "little") for unit in units).decode("utf-16-le")


NEWLINE = ord("\n")


def reference_unit_offset(units: list[int], line: int, character: int) -> int:
    """Offset in code units of an LSP position; past the line end clamps to it."""
    line_start = 0
    for _ in range(line):
        try:
            line_start = units.index(NEWLINE, line_start) + 1
        except ValueError:
            return len(units)
    try:
        line_end = units.index(NEWLINE, line_start)
    except ValueError:
        line_end = len(units)
    return line_start + min(character, line_end - line_start)


def reference_apply(text: str, change: dict[str, Any]) -> str:
    if "range" not in change:
        return str(change["text"])
    units = units_of(text)
    start, end = change["range"]["start"], change["range"]["end"]
    start_unit = reference_unit_offset(units, start["line"], start["character"])
    end_unit = reference_unit_offset(units, end["line"], end["character"])
    return text_of(units[:start_unit] + units_of(change["text"]) + units[end_unit:])


def reference_position(text: str, code_point_offset: int) -> dict[str, int]:
    units = units_of(text[:code_point_offset])
    line = units.count(NEWLINE)
    last_newline = len(units) - 1 - units[::-1].index(NEWLINE) if NEWLINE in units else -1
    return {"line": line, "character": len(units) - last_newline - 1}


@dataclass(frozen=True)
class EditPlan:
    """An edit chosen on code-point offsets (so it never splits a surrogate pair)."""

    start: int
    end: int
    text: str
    past_line_end: int
    full: bool


edit_plans = st.builds(
    EditPlan,
    start=st.integers(0, 10_000),
    end=st.integers(0, 10_000),
    text=texts,
    # Mostly exact ends; some past the line end, which must clamp to it.
    past_line_end=st.sampled_from([0, 0, 0, 1, 7, 1000]),
    # About one change in ten replaces the whole text.
    full=st.integers(0, 9).map(lambda n: n == 0),
)


def change_from_plan(text: str, plan: EditPlan) -> dict[str, Any]:
    """A content change valid for `text`; with `past_line_end` its end lies that many
    units beyond the end of its line."""
    if plan.full:
        return {"text": plan.text}
    start = plan.start % (len(text) + 1)
    end = start + plan.end % (len(text) - start + 1)
    end_position = reference_position(text, end)
    if plan.past_line_end:
        line_end = text.find("\n", end) if "\n" in text[end:] else len(text)
        end_position = reference_position(text, line_end)
        end_position["character"] += plan.past_line_end
    return {
        "range": {"start": reference_position(text, start), "end": end_position},
        "text": plan.text,
    }


@st.composite
def sessions(draw: st.DrawFn) -> tuple[str, list[list[EditPlan]]]:
    initial = draw(texts)
    notifications = draw(st.lists(st.lists(edit_plans, min_size=1, max_size=4), max_size=12))
    return initial, notifications


@settings(max_examples=300, deadline=None)
@given(sessions())
def test_incremental_edits_match_the_utf16_reference(
    session: tuple[str, list[list[EditPlan]]],
) -> None:
    initial, notifications = session
    store = DocumentStore()
    store.did_open(
        {
            "textDocument": {
                "uri": URI,
                "languageId": "go",
                "version": 1,
                "text": initial,
            }
        }
    )
    expected = initial
    for version, plans in enumerate(notifications, start=2):
        changes = []
        for plan in plans:
            change = change_from_plan(expected, plan)
            changes.append(change)
            expected = reference_apply(expected, change)
        store.did_change(
            {
                "textDocument": {"uri": URI, "version": version},
                "contentChanges": changes,
            }
        )
        document = store.get(URI)
        assert document is not None
        assert document.text == expected
        assert document.version == version


@given(texts, st.data())
def test_offset_and_position_round_trip(text: str, data: st.DataObject) -> None:
    offset = data.draw(st.integers(0, len(text)))
    position = reference_position(text, offset)
    assert position_at(text, offset) == (position["line"], position["character"])
    assert offset_at(text, position) == offset


@given(texts, st.integers(0, 50), st.integers(0, 50))
def test_positions_past_the_end_clamp(text: str, extra_lines: int, character: int) -> None:
    last_line = text.count("\n")
    beyond_last_line = {"line": last_line + 1 + extra_lines, "character": character}
    assert offset_at(text, beyond_last_line) == len(text)
    past_last_line_end = {"line": last_line, "character": 10_000 + character}
    assert offset_at(text, past_last_line_end) == len(text)
    first_line_end = text.find("\n") if "\n" in text else len(text)
    assert offset_at(text, {"line": 0, "character": 10_000 + character}) == first_line_end


@given(texts, texts)
def test_full_text_change_replaces_everything(old: str, new: str) -> None:
    assert apply_change(old, {"text": new}) == new


def test_astral_characters_count_two_units() -> None:
    text = "a😀b\n中😀"
    change = {
        "range": {
            "start": {"line": 0, "character": 3},
            "end": {"line": 1, "character": 1},
        },
        "text": "X",
    }
    assert apply_change(text, change) == "a😀X😀"
    assert position_at(text, len(text)) == (1, 3)


def test_store_ignores_unknown_documents_and_forgets_closed_ones() -> None:
    store = DocumentStore()
    store.did_change({"textDocument": {"uri": URI, "version": 2}, "contentChanges": [{"text": "x"}]})
    assert store.get(URI) is None
    store.did_open({"textDocument": {"uri": URI, "languageId": "go", "version": 1, "text": "a"}})
    store.did_close({"textDocument": {"uri": URI}})
    assert store.get(URI) is None
    assert store.all() == []


def test_past_line_end_clamps_before_crlf() -> None:
    at_line_end = {"line": 0, "character": 99}
    change = {"range": {"start": at_line_end, "end": at_line_end}, "text": "X"}
    assert apply_change("ab\r\ncd", change) == "abX\r\ncd"
    assert position_at("ab\r\ncd", 4) == (1, 0)


def test_lone_carriage_return_is_a_line_break() -> None:
    second_line = {"line": 1, "character": 1}
    change = {"range": {"start": second_line, "end": second_line}, "text": "X"}
    assert apply_change("ab\rcd\ref", change) == "ab\rcXd\ref"
