"""Calls kept balanced: arities from gopls's answers, and the monitor's verdict on a suggestion."""

from __future__ import annotations

import pytest
from lsprotocol.types import CompletionItemKind

from gosidecar.completion.signatures import (
    Arity,
    CallMonitor,
    CallShapes,
    balanced_prefix,
    called_at_cursor,
    callees_of,
    enclosing_arity,
    function_arity,
)


@pytest.mark.parametrize(
    ("detail", "arity"),
    [
        ("func() int", Arity(0, result_callable=False)),
        ("func(a int, b int) int", Arity(2, result_callable=False)),
        ("func(p []byte) (n int, err error)", Arity(1, result_callable=False, single_result=False)),
        ("func(format string, args ...any)", Arity(2, variadic=True, result_callable=False, single_result=False)),
        ("func() (ok bool)", Arity(0, result_callable=False)),
        ("func(f func(int, int) bool, m map[string]int) bool", Arity(2, result_callable=False)),
        ("func[S ~[]E, E comparable](s S, v E) int", Arity(2, result_callable=False)),
        ("func(int) error", Arity(1, result_callable=False)),
        ("func() func(int) bool", Arity(0)),
        ("func() http.HandlerFunc", Arity(0)),  # a named type may be a function
        ("int", None),
        ("http.HandlerFunc", None),
    ],
)
def test_function_arity_from_a_candidates_detail(detail: str, arity: Arity | None) -> None:
    assert function_arity(detail) == arity


def test_callees_of_a_completion_answer() -> None:
    items = [
        {"label": "Len", "kind": CompletionItemKind.Method, "detail": "func() int"},
        {"label": "Count", "kind": CompletionItemKind.Field, "detail": "int"},
        {"label": "Handler", "kind": CompletionItemKind.Field, "detail": "http.HandlerFunc"},
        {"label": "hook", "kind": CompletionItemKind.Field, "detail": "func(int) error"},
        {"label": "RuneSelf", "kind": CompletionItemKind.Constant, "detail": "untyped int = 128"},
        {"label": "buf", "kind": CompletionItemKind.Variable, "detail": "[]byte"},
        {"label": "Writer", "kind": CompletionItemKind.Struct, "detail": "struct{...}"},
        {"label": "Front().Value", "kind": CompletionItemKind.Field, "detail": "any"},  # a deep completion
    ]
    assert dict(callees_of({"items": items})) == {
        "Len": Arity(0, result_callable=False),
        "Count": None,
        "hook": Arity(1, result_callable=False),
        "RuneSelf": None,
        "buf": None,
    }
    assert callees_of(None) == () and callees_of({"items": "junk"}) == ()


REPEAT_HELP = {
    "signatures": [
        {
            "label": "Repeat(s string, count int) string",
            "parameters": [{"label": "s string"}, {"label": "count int"}],
            "activeParameter": 1,
        }
    ],
    "activeSignature": 0,
}


def test_enclosing_arity_when_signature_help_agrees_with_the_line() -> None:
    line = '\tfmt.Println(strings.Repeat("a", t.'
    assert called_at_cursor(line) == "Repeat"
    assert enclosing_arity(line, REPEAT_HELP) == Arity(2)
    # Another function's signature, or the cursor at another parameter: not trusted.
    assert enclosing_arity('\tstrings.Split("a", t.', REPEAT_HELP) is None
    assert enclosing_arity("\tstrings.Repeat(t.", REPEAT_HELP) is None
    assert enclosing_arity(line, None) is None and enclosing_arity(line, {"signatures": "junk"}) is None


def test_parameter_labels_as_offsets_and_variadic_calls() -> None:
    label = "Printf(format string, a ...any) (n int, err error)"
    help = {
        "signatures": [{"label": label, "parameters": [{"label": [7, 20]}, {"label": [22, 30]}]}],
        "activeParameter": 1,
    }
    assert enclosing_arity('\tfmt.Printf("%d %d", a, b, x.', help) == Arity(2, variadic=True)


def test_no_enclosing_call_outside_a_call_on_the_line() -> None:
    assert called_at_cursor("\tx := t.") is None
    assert called_at_cursor("\tx := (a + t.") is None
    assert called_at_cursor('\tfmt.Println("(", t.') == "Println"
    assert called_at_cursor("\tf(a)[b].") is None
    assert called_at_cursor("\tif (t.") is None and called_at_cursor("\tgo func(t.") is None


SHAPES = CallShapes(
    '\tfmt.Println(strings.Repeat("a", t.',
    enclosing=Arity(2),
    callees=(
        ("Add", Arity(2)),
        ("Len", Arity(0, result_callable=False)),
        ("Count", None),
        ("Log", Arity(2, variadic=True, result_callable=False, single_result=False)),
        ("buf", None),
        ("Map", Arity(1)),
    ),
)


@pytest.mark.parametrize(
    ("text", "first_break"),
    [
        ("Count))", None),
        ("Count, 3)", 5),  # Repeat takes no third argument
        ("Count()", 5),  # a field that is not a function
        ("Len()) + 1", None),
        ("Len(1))", 4),  # Len takes no argument
        ("Add(1))", 5),  # Add takes two
        ("Add(1, 2, 3))", 8),
        ('Log("x", 1, 2, 3))', None),
        ("Log())", 4),  # the format is needed
        ('Len() + f("(", 2))', None),  # a bracket in a string is not code
        ("Len() + g(a,\n", None),  # a call going on on the next line
        ("Len() + g(a\n", 11),  # Go wants a comma before that line break
        ("Len() + [2]int{1\n", None),  # a `{` may be a block
        ("Len() + g(a +\n", None),  # the argument goes on on the next line
        ("Len() + g(a &&\n", None),
        ("buf[0])", None),  # indexing a field is no call
        ("buf[1:], 2", 7),  # Repeat takes no third argument
        ("Map[int](xs))", None),  # a generic function's call, its type arguments first
        ("Map[int](xs, ys))", 11),
        ("Len() + copy(g()))", None),  # g's results may be all of copy's arguments
        ("Len(\n", 4),  # a call that takes nothing is closed on its line
        ("Len()(1))", 5),  # what Len returns is no function
        ("Len() + (1))", None),
        ('Log("x").y)', 8),  # Log returns nothing
        ('Log("x"), 1)', 8),  # nor can a call with several results or none go on
        ('Log("x") + 1)', 9),
        ('Log("x"))', None),
        ("Len().y)", None),  # a method of what Len returns (gopls would check the name)
    ],
)
def test_first_break_in_a_suggestion(text: str, first_break: int | None) -> None:
    assert CallMonitor(SHAPES).first_break(text) == first_break


def test_a_whole_suggestion_must_not_end_inside_an_argument_it_opened() -> None:
    monitor = CallMonitor(SHAPES)
    assert monitor.accepts("Len() + g(a")
    assert monitor.first_break("Len() + g(a", ended=True) == 9
    assert monitor.accepts("Count)", ended=True)  # the cursor's own call is the user's


def test_balanced_prefix_cuts_before_the_break_and_what_it_leaves_open() -> None:
    assert balanced_prefix("Count, 3)", SHAPES, whole=True) == "Count"
    assert balanced_prefix("Add(1, 2, 3))", SHAPES, whole=True) == "Add"  # "Add(1, 2" would leave a line broken
    assert balanced_prefix("Add(1, 2, 3))", SHAPES, whole=False) == "Add(1, 2"  # cut short: the model was not done
    assert balanced_prefix("Len() + Add(1, 2, 3))", SHAPES, whole=True) != "Len() + Add"  # only the first name's
    assert balanced_prefix("Count))", SHAPES, whole=True) == "Count))"


@pytest.mark.parametrize(
    ("line_prefix", "closes_from_before"),
    [("\tb, err := r.", False), ("\tif x.", False), ("\ta.b[i] += x.", False), ("\t\tlast, x.", True)],
)
def test_a_line_that_starts_a_statement_closes_nothing_from_lines_before(
    line_prefix: str, closes_from_before: bool
) -> None:
    assert CallMonitor(CallShapes(line_prefix)).accepts("Len())") is closes_from_before
    assert CallMonitor(CallShapes(line_prefix)).accepts("Len() }")


def test_without_gopls_answers_only_the_line_breaks_are_checked() -> None:
    monitor = CallMonitor(CallShapes("\tx := "))
    assert monitor.accepts("f(a, b, c, d)") and monitor.accepts("f(\n")
    assert not monitor.accepts("f(a\n")
