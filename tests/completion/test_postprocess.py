"""Stop rules and clean-up of suggestions."""

from __future__ import annotations

from gosidecar.completion.postprocess import bracket_balance, cursor_context, finalize, should_stop

GO = """package p

func f(items []int) int {
\ttotal := 0
\tfor _, item := range items {
\t\t|
\t}
\treturn total
}
"""


def at_marker(text: str) -> tuple[str, int]:
    cursor = text.index("|")
    return text.replace("|", "", 1), cursor


def test_mid_line_stops_at_end_of_line() -> None:
    text, cursor = at_marker("func f() {\n\tx := fmt.Spr|\n}\n")
    context = cursor_context(text, cursor)
    assert not context.block_mode
    assert not should_stop(context, 'intf("%d"')
    assert should_stop(context, 'intf("%d", x)\n')
    assert finalize(context, 'intf("%d", x)\n\treturn', finished=True) == 'intf("%d", x)'


def test_text_already_after_the_cursor_is_dropped() -> None:
    text, cursor = at_marker("func f() {\n\tfmt.Println(|)\n}\n")
    context = cursor_context(text, cursor)
    assert finalize(context, '"hello")', finished=True) == '"hello"'
    text, cursor = at_marker("\tif err := f(|) {\n")
    assert finalize(cursor_context(text, cursor), "ctx) {", finished=True) == "ctx"
    assert finalize(cursor_context(text, cursor), "a, b)", finished=True) == "a, b"


def test_mid_line_suggestion_must_lead_into_the_rest_of_the_line() -> None:
    text, cursor = at_marker('\tfmt.Fprintln(os.|Stderr, "report:", err)\n')
    context = cursor_context(text, cursor)
    assert finalize(context, 'Stderr, "error: %s", err)', finished=True) == ""
    text, cursor = at_marker("\tx := compute(|, 2)\n")
    assert finalize(cursor_context(text, cursor), "1, 2)", finished=True) == "1"


def test_block_stops_when_it_leaves_the_block() -> None:
    text, cursor = at_marker(GO)
    context = cursor_context(text, cursor)
    assert context.block_mode
    generated = "total += item\n\t}\n\treturn total\n}"
    assert should_stop(context, "total += item\n\t}\n")
    assert finalize(context, generated, finished=True) == "total += item"


def test_block_keeps_balanced_nested_lines() -> None:
    text, cursor = at_marker(GO)
    context = cursor_context(text, cursor)
    generated = "if item > 0 {\n\t\t\ttotal += item\n\t\t}\n\t}"
    assert finalize(context, generated, finished=True) == "if item > 0 {\n\t\t\ttotal += item\n\t\t}"


def test_block_stops_at_blank_line_and_drops_cut_half_line() -> None:
    text, cursor = at_marker(GO)
    context = cursor_context(text, cursor)
    assert finalize(context, "total += item\n\n\t\tother()", finished=True) == "total += item"
    assert finalize(context, "total += item\n\t\ttotal *= 2\n\t\tpri", finished=False) == (
        "total += item\n\t\ttotal *= 2"
    )


def test_a_copy_of_the_following_code_is_no_suggestion() -> None:
    text, cursor = at_marker("func f() {\n\t|\n\treturn nil\n}\n")
    context = cursor_context(text, cursor)
    assert finalize(context, "return nil\n}", finished=True) == ""


def test_junk_is_no_suggestion() -> None:
    text, cursor = at_marker("\tx := 1\n\tx := |\n")
    context = cursor_context(text, cursor)
    assert finalize(context, "   \n", finished=True) == ""
    assert finalize(context, "\ufffd\ufffd", finished=True) == ""
    text, cursor = at_marker("\tx++\n\t|\n")
    assert finalize(cursor_context(text, cursor), "x++", finished=True) == ""


def test_bracket_balance_ignores_strings_and_comments() -> None:
    assert bracket_balance("f(\"(\", '{', `[`) { // )))") == 1
    assert bracket_balance('s := "\\")"') == 0
    assert bracket_balance("})") == -2
