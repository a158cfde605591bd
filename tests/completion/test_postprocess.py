"""Stop rules and clean-up of suggestions, the cursor context and the Go scanner."""

from __future__ import annotations

import pytest

from gosidecar.completion.cursor import CursorContext, Edit
from gosidecar.completion.go_scan import scan_go
from gosidecar.completion.postprocess import finalize, should_stop

GO = """package p

func f(items []int) int {
\ttotal := 0
\tfor _, item := range items {
\t\t|
\t}
\treturn total
}
"""


def at_marker(text: str, line_break: str = "\n") -> CursorContext:
    text = text.replace("\n", line_break)
    cursor = text.index("|")
    return CursorContext.at_offset(text.replace("|", "", 1), cursor)


def shown(context: CursorContext, generated: str, finished: bool = True) -> str:
    return finalize(context, generated, finished).text


def test_mid_line_stops_at_end_of_line() -> None:
    context = at_marker("func f() {\n\tx := fmt.Spr|\n}\n")
    assert not context.block_mode
    assert not should_stop(context, 'intf("%d"')
    assert should_stop(context, 'intf("%d", x)\n')
    assert should_stop(context, 'intf("%d", x)\r')
    assert shown(context, 'intf("%d", x)\n\treturn') == 'intf("%d", x)'


def test_text_already_after_the_cursor_is_dropped() -> None:
    context = at_marker("func f() {\n\tfmt.Println(|)\n}\n")
    assert shown(context, '"hello")') == '"hello"'
    context = at_marker("\tif err := f(|) {\n")
    assert shown(context, "ctx) {") == "ctx"
    assert shown(context, "a, b)") == "a, b"


def test_mid_line_suggestion_must_lead_into_the_rest_of_the_line() -> None:
    context = at_marker('\tfmt.Fprintln(os.|Stderr, "report:", err)\n')
    assert shown(context, 'Stderr, "error: %s", err)') == ""
    assert shown(at_marker("\tx := compute(|, 2)\n"), "1, 2)") == "1"


def test_block_stops_when_it_leaves_the_block() -> None:
    context = at_marker(GO)
    assert context.block_mode
    generated = "total += item\n\t}\n\treturn total\n}"
    assert should_stop(context, "total += item\n\t}\n")
    assert shown(context, generated) == "total += item"


def test_block_keeps_balanced_nested_lines() -> None:
    context = at_marker(GO)
    generated = "if item > 0 {\n\t\t\ttotal += item\n\t\t}\n\t}"
    assert shown(context, generated) == "if item > 0 {\n\t\t\ttotal += item\n\t\t}"


def test_block_stops_at_blank_line_and_drops_cut_half_line() -> None:
    context = at_marker(GO)
    assert shown(context, "total += item\n\n\t\tother()") == "total += item"
    assert shown(context, "total += item\n\t\ttotal *= 2\n\t\tpri", finished=False) == "total += item\n\t\ttotal *= 2"


def test_block_brackets_in_strings_and_comments_do_not_count() -> None:
    context = at_marker(GO)
    generated = 'total += len("}") // }\n\t\ttotal += len(`\n}`)\n\t\ttotal++\n\t}'
    assert shown(context, generated) == 'total += len("}") // }\n\t\ttotal += len(`\n}`)\n\t\ttotal++'


@pytest.mark.parametrize("line_break", ["\r\n", "\r"])
def test_a_block_uses_the_documents_line_breaks(line_break: str) -> None:
    context = at_marker(GO, line_break)
    assert context.line_break == line_break
    assert context.next_lines[:2] == ("\t}", "\treturn total")
    edit = finalize(context, "if item > 0 {\n\t\t\ttotal += item\n\t\t}\n\t}", finished=True)
    assert edit.text == line_break.join(["if item > 0 {", "\t\t\ttotal += item", "\t\t}"])


def test_a_copy_of_the_following_code_is_no_suggestion() -> None:
    context = at_marker("func f() {\n\t|\n\treturn nil\n}\n")
    assert shown(context, "return nil\n}") == ""


@pytest.mark.parametrize("line_break", ["\n", "\r\n", "\r"])
def test_junk_is_no_suggestion(line_break: str) -> None:
    context = at_marker("\tx := 1\n\tx := |\n", line_break)
    assert shown(context, "   \n") == ""
    assert shown(context, "\ufffd\ufffd") == ""
    assert shown(at_marker("\tx++\n\t|\n", line_break), "x++") == ""


@pytest.mark.parametrize("line_break", ["\n", "\r\n", "\r"])
def test_cursor_context_splits_lines_at_every_line_break(line_break: str) -> None:
    context = at_marker('func f() {\n\tfmt.Println("a")\n\tfmt.Println("to|")\n\treturn\n}\n', line_break)
    assert (context.line_prefix, context.line_suffix) == ('\tfmt.Println("to', '")')
    assert context.previous_line == '\tfmt.Println("a")'
    assert context.next_lines == ("\treturn", "}", "")
    assert context.position == (2, len('\tfmt.Println("to'))


def test_positions_count_utf16_code_units() -> None:
    context = at_marker('\ts := "😀 ✓ 😀" + fmt.Sprint("to|")\n')
    prefix = '\ts := "😀 ✓ 😀" + fmt.Sprint("to'
    assert context.position == (0, len(prefix) + 2)  # each emoji is two UTF-16 units
    edit = finalize(context, 'tal:", n)', finished=True)
    assert edit == Edit('tal:", n)', context.position, (0, len(prefix) + 2 + 2))
    assert CursorContext.at(context.text, 0, len(prefix) + 2) == context


def test_typed_through_edit_moves_its_range() -> None:
    edit = Edit('😀:", total)', (3, 10), (3, 12))
    assert edit.typed_through("😀") == Edit(':", total)', (3, 12), (3, 14))
    assert edit.typed_through("x") is None
    assert edit.typed_through('😀:", total)') is None


def test_go_scanner_skips_strings_runes_and_comments() -> None:
    assert scan_go("f(\"(\", '{', `[`) { // )))").depth == 1
    assert scan_go('s := "\\")"').depth == 0
    assert scan_go("})").depth == -2
    assert scan_go("f(a /* ) */, b").open == [")"]
    assert scan_go('fmt.Println("total').open_brackets_and_quotes == [")", '"']
    assert scan_go("x := '\\''").open == []


@pytest.mark.parametrize("line_break", ["\n", "\r\n", "\r"])
def test_go_scanner_line_breaks_end_line_literals_but_not_raw_strings(line_break: str) -> None:
    def scan_lines(*lines: str) -> list[str]:
        return scan_go(line_break.join(lines)).open

    assert scan_lines("f(`a", "b)") == [")", "`"]
    assert scan_lines("f(a // (", "b") == [")"]
    assert scan_lines('f("a', "b") == [")"]
    assert scan_lines("f(a /* (", ") */ b") == [")"]
