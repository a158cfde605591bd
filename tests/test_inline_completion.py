"""Ghost text next to auto-closed brackets and quotes: the line comes out well-formed."""

from __future__ import annotations

import pytest

from gosidecar.inline_completion import merge_with_line_suffix


@pytest.mark.parametrize(
    ("prefix", "suggestion", "suffix", "expected_line"),
    [
        ('\tfmt.Println("total', ':", total)', '")', '\tfmt.Println("total:", total)'),
        ('\tfmt.Println("total', ":", '")', '\tfmt.Println("total:")'),
        ("\tif isValid(item", ") {", ")", "\tif isValid(item) {"),
        ("\tx := compute(a, b", ", c", ")", "\tx := compute(a, b, c)"),
        ("\tm := map[string]int{", '"a": 1}', "}", '\tm := map[string]int{"a": 1}'),
        ('\ts := strings.Split(line, ",', '")', '")', '\ts := strings.Split(line, ",")'),
    ],
)
def test_the_line_after_accepting_is_well_formed(prefix: str, suggestion: str, suffix: str, expected_line: str) -> None:
    insert, replaces = merge_with_line_suffix(prefix, suggestion, suffix)
    line = prefix + insert + ("" if replaces else suffix)
    assert line == expected_line


def test_other_text_after_the_cursor_is_left_alone() -> None:
    assert merge_with_line_suffix("\tx := ", "compute(", "y + 1") == ("compute(", False)
    assert merge_with_line_suffix("\tx := ", "a\n\tb", ")") == ("a\n\tb", False)
    assert merge_with_line_suffix("\tx := ", "a", "") == ("a", False)
