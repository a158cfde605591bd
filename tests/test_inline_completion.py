"""Ghost text next to auto-closed brackets and quotes, and over the editor's selected suggestion.

The line after accepting is what counts: the edit (text and range) is applied to the
document the way the editor applies it, in LF, CRLF and lone-CR documents and with
characters outside the BMP (two UTF-16 code units) before the cursor.
"""

from __future__ import annotations

import pytest
from lsprotocol import types

from gosidecar.completion.cursor import CursorContext, Edit
from gosidecar.completion.postprocess import finalize
from gosidecar.documents import LINE_BREAK, offset_at, position_at
from gosidecar.inline_completion import extending_item, with_item_accepted

LINE_BREAKS = ["\n", "\r\n", "\r"]


def document(line: str, line_break: str) -> str:
    return line_break.join(["package p", "", "func f() {", line, "}", ""])


def cursor_after(text: str, prefix: str) -> CursorContext:
    return CursorContext.at_offset(text, text.index(prefix) + len(prefix))


def accept(text: str, insert: str, start: types.Position, end: types.Position) -> str:
    """The document after the editor applies the ghost text (LSP positions, UTF-16)."""
    begin = offset_at(text, {"line": start.line, "character": start.character})
    finish = offset_at(text, {"line": end.line, "character": end.character})
    return text[:begin] + insert + text[finish:]


def accept_edit(text: str, edit: Edit) -> str:
    return accept(text, edit.text, types.Position(*edit.start), types.Position(*edit.end))


def line_of(text: str, number: int = 3) -> str:
    return LINE_BREAK.split(text)[number]


@pytest.mark.parametrize("line_break", LINE_BREAKS)
@pytest.mark.parametrize(
    ("prefix", "generated", "suffix", "expected_line"),
    [
        ('\tfmt.Println("total', ':", total)', '")', '\tfmt.Println("total:", total)'),
        ('\tfmt.Println("total', ":", '")', '\tfmt.Println("total:")'),
        ("\tif isValid(item", ") {", ")", "\tif isValid(item) {"),
        ("\tx := compute(a, b", ", c", ")", "\tx := compute(a, b, c)"),
        ("\tm := map[string]int{", '"a": 1}', "}", '\tm := map[string]int{"a": 1}'),
        ('\ts := strings.Split(line, ",', '")', '")', '\ts := strings.Split(line, ",")'),
        (
            '\tfmt.Println("😀 " + strings.Repeat("✓',
            '", n), "😀")',
            '")',
            '\tfmt.Println("😀 " + strings.Repeat("✓", n), "😀")',
        ),
    ],
)
def test_the_line_after_accepting_is_well_formed(
    line_break: str, prefix: str, generated: str, suffix: str, expected_line: str
) -> None:
    text = document(prefix + suffix, line_break)
    context = cursor_after(text, prefix)
    accepted = accept_edit(text, finalize(context, generated, finished=True))
    assert line_of(accepted) == expected_line
    assert accepted.count(line_break) == text.count(line_break), "line breaks untouched"


@pytest.mark.parametrize("line_break", LINE_BREAKS)
def test_other_text_after_the_cursor_is_left_alone(line_break: str) -> None:
    text = document("\tx := y + 1", line_break)
    context = cursor_after(text, "\tx := ")
    assert finalize(context, "compute(y + 1", finished=True) == context.edit("compute(")
    assert finalize(context, "compute(z)", finished=True).text == ""


def test_the_range_counts_utf16_code_units() -> None:
    prefix = '\tfmt.Println("😀😀", "total'
    text = document(prefix + '")', "\r\n")
    edit = finalize(cursor_after(text, prefix), ':", total)', finished=True)
    assert edit.start == (3, len(prefix) + 2) and edit.end == (3, len(prefix) + 4)
    assert line_of(accept_edit(text, edit)) == '\tfmt.Println("😀😀", "total:", total)'


def selected_item(text: str, word_start: str, typed: str, item: str) -> types.SelectedCompletionInfo:
    """The editor's suggestion list with `item` selected while `typed` of it is typed."""
    line, character = position_at(text, text.index(word_start) + len(word_start) - len(typed))
    return types.SelectedCompletionInfo(
        range=types.Range(types.Position(line, character), types.Position(line, character + len(typed))),
        text=item,
    )


@pytest.mark.parametrize("line_break", LINE_BREAKS)
@pytest.mark.parametrize(
    ("line", "item", "generated", "expected_line"),
    [
        ("\tl.Pu", "PushBack", "(v)", "\tl.PushBack(v)"),
        ('\tfmt.Println("😀", strings.Tr)', "TrimSpace", "(s), n)", '\tfmt.Println("😀", strings.TrimSpace(s), n)'),
        ("\tfmt.Println(strings.Tr)", "TrimSpace", "(s))", "\tfmt.Println(strings.TrimSpace(s))"),
    ],
)
def test_ghost_text_extends_the_selected_suggestion(
    line_break: str, line: str, item: str, generated: str, expected_line: str
) -> None:
    """The list is open after `.Pu`/`.Tr` (the cursor before any auto-closed `)`) with `item` selected."""
    text = document(line, line_break)
    typed = line.rstrip(")").rsplit(".", 1)[1]
    selected = selected_item(text, line.rstrip(")"), typed, item)
    accepted_text, cursor = with_item_accepted(text, selected)
    assert line_of(accepted_text) == line.replace(typed, item)
    context = CursorContext.at(accepted_text, cursor.line, cursor.character)
    assert context.line_prefix.endswith("." + item), "the model continues after the item"
    ghost = extending_item(selected, finalize(context, generated, finished=True))
    assert ghost is not None and isinstance(ghost.insert_text, str) and ghost.range is not None
    # What VS Code requires to show it while the list is open:
    assert ghost.range.start == selected.range.start and ghost.insert_text.startswith(item)
    end = ghost.range.end
    assert (end.line, end.character) >= (selected.range.end.line, selected.range.end.character)
    assert line_of(accept(text, ghost.insert_text, ghost.range.start, ghost.range.end)) == expected_line


def test_a_suggestion_that_changes_the_selected_identifier_is_dropped() -> None:
    text = document("\tl.Pu", "\n")
    selected = selected_item(text, "\tl.Pu", "Pu", "PushBack")
    _, cursor = with_item_accepted(text, selected)
    position = (cursor.line, cursor.character)
    assert extending_item(selected, Edit("List(other)", position, position)) is None
    assert extending_item(selected, Edit("(v)", position, position)) is not None
