"""Prompt layout: the head of the prompt stays byte-identical while the user types."""

from __future__ import annotations

import itertools
import subprocess
from pathlib import Path

import pytest

from gosidecar.completion.prompt import (
    FimTokens,
    PromptBudget,
    build_prompt_text,
    extra_skeletons,
    go_header,
    go_skeleton,
    prompt_tokens,
    split_trailing_word,
)

GOROOT = Path(subprocess.run(["go", "env", "GOROOT"], capture_output=True, text=True, check=True).stdout.strip())
BIG_FILE = GOROOT / "src" / "net" / "http" / "server.go"
BUDGET = PromptBudget()


def type_line(text: str, at: int, line: str) -> list[tuple[str, int]]:
    """Each (document, cursor) while `line` is typed one character at a time at `at`."""
    states = []
    for typed in range(len(line) + 1):
        states.append((text[:at] + line[:typed] + text[at:], at + typed))
    return states


def test_prefix_is_stable_across_keystrokes() -> None:
    text = BIG_FILE.read_text()
    at = text.index("func (s *Server) Close() error {")
    prompts = [
        build_prompt_text(doc, cursor, "file:///server.go") for doc, cursor in type_line(text, at, "// hello world\n")
    ]
    first = prompts[0]
    assert first.anchor > 0, "a big file must be windowed"
    for prompt in prompts:
        assert prompt.anchor == first.anchor
        assert prompt.context.startswith(first.context)


def test_anchor_moves_in_big_steps_and_keeps_the_window_in_budget() -> None:
    text = BIG_FILE.read_text()
    window = BUDGET.chars(BUDGET.window_tokens)
    anchors = []
    for cursor in range(window, len(text), 97):
        prompt = build_prompt_text(text, cursor, "file:///server.go")
        assert len(prompt.prefix) <= window
        assert prompt.anchor == 0 or text[prompt.anchor - 1] == "\n"
        anchors.append(prompt.anchor)
    moves = [b - a for a, b in itertools.pairwise(anchors) if b != a]
    assert moves, "the window must follow the cursor through a big file"
    assert min(moves) >= window // BUDGET.anchor_steps - 200
    assert len(moves) < len(anchors) / 5


@pytest.mark.parametrize("line_break", ["\r\n", "\r"])
def test_the_model_sees_lf_line_breaks_in_any_document(line_break: str) -> None:
    """A CRLF or lone-CR file gets the same prompt, window and anchor as its LF twin."""
    text = BIG_FILE.read_text()
    cursor = text.index("func (s *Server) Close() error {") + len("func (s *Server) Cl")
    lf = build_prompt_text(text, cursor, "file:///server.go")
    other = text.replace("\n", line_break)
    converted = build_prompt_text(other, cursor + text.count("\n", 0, cursor) * (len(line_break) - 1), "file:///s.go")
    assert lf.anchor > 0, "a big file must be windowed"
    assert (converted.header, converted.prefix, converted.suffix) == (lf.header, lf.prefix, lf.suffix)
    assert converted.anchor == lf.anchor


def test_windowed_prompt_keeps_package_and_imports() -> None:
    text = BIG_FILE.read_text()
    prompt = build_prompt_text(text, len(text) - 10, "file:///server.go")
    assert prompt.header.startswith("package http\n")
    assert '"net/url"' in prompt.header
    assert "Copyright" not in prompt.header


def test_small_file_is_sent_whole_without_header() -> None:
    text = "package main\n\nfunc main() {\n\tprintln(1)\n}\n"
    prompt = build_prompt_text(text, text.index("println"), "file:///main.go")
    assert (prompt.header, prompt.prefix, prompt.anchor) == ("", text[: text.index("println")], 0)
    assert prompt.suffix.startswith("println(1)\n")


def test_go_header_with_single_imports() -> None:
    text = '// doc\npackage p\n\nimport "fmt"\nimport x "os"\n\nfunc f() {}\n'
    assert go_header(text, 1000) == 'package p\n\nimport "fmt"\nimport x "os"'


def test_skeleton_has_types_and_signatures_only() -> None:
    source = (Path(__file__).resolve().parents[2] / "examples" / "workspace" / "inventory" / "inventory.go").read_text()
    skeleton = go_skeleton(source)
    assert skeleton.startswith("package inventory")
    assert "type Item struct {" in skeleton
    assert "func New() *Inventory" in skeleton
    assert "return" not in skeleton


def test_extra_context_skips_the_current_file_and_is_ordered() -> None:
    files = [
        ("file:///b.go", "package b\nfunc B() {\n}\n"),
        ("file:///a.go", "package a\nfunc A() {\n}\n"),
        ("file:///x.txt", "text"),
    ]
    extra = extra_skeletons("file:///b.go", files, 1000)
    assert extra == "// a.go\npackage a\nfunc A()\n\n"


class ByteTokenizer:
    """One token per byte, BOS = 1000: enough to check the layout."""

    def tokenize(self, text: str, add_bos: bool) -> list[int]:
        return ([1000] if add_bos else []) + list(text.encode())


def test_fim_layout_and_prefix_only_layout() -> None:
    text = "package p\n\nfunc f() {\n\tx := 1\n}\n"
    cursor = text.index("x :=")
    prompt = build_prompt_text(text, cursor, "file:///p.go")
    fim = FimTokens(prefix=1001, suffix=1002, middle=1003)
    tokens = prompt_tokens(prompt, ByteTokenizer(), fim, 1000)
    before, after = list(text[:cursor].encode()), list(text[cursor:].encode())
    assert tokens == [1000, 1001, *before, 1002, *after, 1003]
    assert prompt_tokens(prompt, ByteTokenizer(), None, 1000) == [1000, *before]


def test_over_budget_prompts_keep_bos_and_the_text_nearest_the_cursor() -> None:
    prompt = build_prompt_text("x" * 500, 500, "file:///p.go")
    assert prompt_tokens(prompt, ByteTokenizer(), None, 100) == [1000] + [ord("x")] * 99


def test_split_trailing_word() -> None:
    assert split_trailing_word("\tm.mu.Unl") == ("\tm.mu.", "Unl")
    assert split_trailing_word("f(") == ("f(", "")
    assert split_trailing_word("word") == ("word", "")
