"""A Go scanner just deep enough for ghost text: which brackets, strings and comments are open.

The one place that knows Go's lexical rules for the completion pipeline: a bracket in a
string (`"("`), a rune (`'{'`), a raw string (`` `[` ``) or a comment (`// )`, `/* ) */`)
is not code. Interpreted strings, runes and line comments end at a line break
(`\\r\\n`, `\\r` or `\\n`); raw strings and block comments go on across lines.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

CLOSER_OF = {"(": ")", "[": "]", "{": "}"}
GO_KEYWORDS = frozenset(
    [
        "break",
        "case",
        "chan",
        "const",
        "continue",
        "default",
        "defer",
        "else",
        "fallthrough",
        "for",
        "func",
        "go",
        "goto",
        "if",
        "import",
        "interface",
        "map",
        "package",
        "range",
        "return",
        "select",
        "struct",
        "switch",
        "type",
        "var",
    ]
)
_CLOSERS = frozenset(CLOSER_OF.values())
_LINE_BREAKS = "\r\n"
_LINE_COMMENT = "\n"
"""On the stack while in a `//` comment: what closes it is the end of the line."""
_BLOCK_COMMENT = "*/"


@dataclass
class GoScan:
    """The state after some Go text; `feed` more text to go on from it."""

    open: list[str] = field(default_factory=list)
    """What the text still has open, innermost last, as the text that closes it: `)`, `]`,
    `}`, the quote of a string or rune, `*/` of a block comment, a line break for a `//`."""
    closed_outer: int = 0
    """Closing brackets that matched nothing in the text: they close brackets opened before it."""

    @property
    def depth(self) -> int:
        """Brackets left open minus those closed from before: the text's effect on nesting."""
        return sum(1 for closer in self.open if closer in _CLOSERS) - self.closed_outer

    @property
    def in_multiline_literal(self) -> bool:
        """Inside a raw string or a block comment, the two that go on across lines."""
        return bool(self.open) and self.open[-1] in ("`", _BLOCK_COMMENT)

    @property
    def open_brackets_and_quotes(self) -> list[str]:
        """The closing brackets and quotes the text still needs, innermost last."""
        return [closer for closer in self.open if closer not in (_LINE_COMMENT, _BLOCK_COMMENT)]

    def feed(self, text: str) -> GoScan:
        for _ in self.code(text):
            pass
        return self

    def code(self, text: str) -> Iterator[int]:
        """Feed `text`, yielding the index of each of its characters that is code, once the
        scan has taken it in: brackets, commas, names, the opening quote of a literal; not
        what is inside a literal or a comment, nor the comment's opening."""
        index = 0
        while index < len(text):
            inside = self.open[-1] if self.open else ""
            if inside in ('"', "'", "`"):
                index = self._in_literal(text, index, inside)
            elif inside in (_LINE_COMMENT, _BLOCK_COMMENT):
                index = self._in_comment(text, index, inside)
            else:
                start, index = index, self._in_code(text, index)
                if index == start + 1:
                    yield start

    def _in_literal(self, text: str, index: int, quote: str) -> int:
        char = text[index]
        if char == "\\" and quote != "`":
            return index + 2
        if char == quote or (char in _LINE_BREAKS and quote != "`"):
            self.open.pop()
        return index + 1

    def _in_comment(self, text: str, index: int, closer: str) -> int:
        if closer == _BLOCK_COMMENT and text.startswith(_BLOCK_COMMENT, index):
            self.open.pop()
            return index + 2
        if closer == _LINE_COMMENT and text[index] in _LINE_BREAKS:
            self.open.pop()
        return index + 1

    def _in_code(self, text: str, index: int) -> int:
        char = text[index]
        if text.startswith("//", index):
            self.open.append(_LINE_COMMENT)
            return index + 2
        if text.startswith("/*", index):
            self.open.append(_BLOCK_COMMENT)
            return index + 2
        if char in "\"'`":
            self.open.append(char)
        elif char in CLOSER_OF:
            self.open.append(CLOSER_OF[char])
        elif char in _CLOSERS:
            self._close(char)
        return index + 1

    def _close(self, closer: str) -> None:
        # A mismatched closer still closes the innermost bracket: the code is wrong
        # either way, and this keeps the nesting depth an honest count.
        if self.open:
            self.open.pop()
        else:
            self.closed_outer += 1

    def copy(self) -> GoScan:
        return GoScan(list(self.open), self.closed_outer)


def scan_go(text: str) -> GoScan:
    return GoScan().feed(text)
