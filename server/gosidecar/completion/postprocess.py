"""Where a suggestion stops and what of it is worth showing.

Mid-line, a suggestion is the rest of the line. On a blank line it may be a block: it
stops at a blank line, when it leaves the cursor's block (a line indented less, or a
closing bracket that was opened before the cursor), or after a few lines. Text that
repeats what already follows the cursor is cut, and anything left that looks like junk
(blank, a copy of the previous line, broken characters) becomes no suggestion.
"""

from __future__ import annotations

from dataclasses import dataclass

MAX_BLOCK_LINES = 8
_OPENERS = {"(": ")", "[": "]", "{": "}"}
_CLOSERS = frozenset(_OPENERS.values())
# What may follow the cursor on a line that still takes a suggestion: closing brackets and
# quotes, separators, and the `{` of `if f(|) {`.
_CLOSING_CHARACTERS = ")]}{\"'`;,: "


@dataclass(frozen=True)
class CursorContext:
    line_prefix: str
    """The cursor's line before the cursor."""
    line_suffix: str
    """The cursor's line after the cursor."""
    previous_line: str
    next_lines: tuple[str, ...]
    """A few lines after the cursor's line."""

    @property
    def block_mode(self) -> bool:
        return not self.line_prefix.strip()

    @property
    def indent(self) -> int:
        return _indent_width(self.line_prefix)


def cursor_context(text: str, cursor: int, following: int = 4) -> CursorContext:
    line_start = text.rfind("\n", 0, cursor) + 1
    line_end = text.find("\n", cursor)
    line_end = len(text) if line_end < 0 else line_end
    previous_start = text.rfind("\n", 0, max(line_start - 1, 0)) + 1
    previous_line = text[previous_start : line_start - 1] if line_start > 0 else ""
    next_lines = tuple(text[line_end + 1 :].split("\n", following)[:following])
    return CursorContext(
        line_prefix=text[line_start:cursor],
        line_suffix=text[cursor:line_end],
        previous_line=previous_line,
        next_lines=next_lines,
    )


def should_stop(context: CursorContext, generated: str) -> bool:
    """Whether generation can stop: what comes next would be cut anyway."""
    if not context.block_mode:
        return "\n" in generated
    return len(_block_lines(context, generated, finished=False)) < generated.count("\n")


def finalize(context: CursorContext, generated: str, finished: bool) -> str:
    """The text to insert at the cursor, or "" when nothing good is left.

    `finished` is False when generation was cut (time or token budget): a half line of a
    block is dropped then, while a half rest-of-line is still worth showing.
    """
    if context.block_mode:
        lines = _block_lines(context, generated, finished)
        text = "\n".join(lines).rstrip()
    else:
        text = _without_line_suffix(generated.split("\n", 1)[0].rstrip(), context.line_suffix)
    return text if _looks_useful(context, text) else ""


def _block_lines(context: CursorContext, generated: str, finished: bool) -> list[str]:
    lines = generated.split("\n")
    if not finished and len(lines) > 1:
        lines = lines[:-1]
    next_code = next((line.rstrip() for line in context.next_lines if line.strip()), None)
    kept: list[str] = []
    depth = 0
    for index, line in enumerate(lines):
        if not line.strip() or (context.line_prefix if index == 0 else "") + line.rstrip() == next_code:
            break
        if index > 0 and _indent_width(line) < context.indent:
            break
        depth += bracket_balance(line)
        if depth < 0 or len(kept) == MAX_BLOCK_LINES:
            break
        kept.append(line)
    return kept


def _without_line_suffix(text: str, line_suffix: str) -> str:
    """Drop the end of `text` that the rest of the line already holds, e.g. a `)`.

    When the rest of the line is more than closing characters, the suggestion is only
    usable if it leads into that text; otherwise inserting it would garble the line.
    """
    existing = line_suffix.strip()
    if existing and text.endswith(existing):
        return text[: -len(existing)].rstrip()
    if existing.strip(_CLOSING_CHARACTERS):
        return ""
    for size in range(min(len(existing), len(text)), 0, -1):
        if text.endswith(existing[:size]):
            return text[:-size]
    return text


def _looks_useful(context: CursorContext, text: str) -> bool:
    if not text.strip() or "\ufffd" in text:
        return False
    first_line = (context.line_prefix + text.split("\n", 1)[0]).strip()
    return first_line != context.previous_line.strip()


def bracket_balance(line: str) -> int:
    """Opened minus closed brackets of a Go line, outside strings and comments."""
    balance = 0
    quote = ""
    index = 0
    while index < len(line):
        char = line[index]
        if quote:
            if char == "\\" and quote != "`":
                index += 1
            elif char == quote:
                quote = ""
        elif char in "\"'`":
            quote = char
        elif line.startswith("//", index):
            break
        elif char in _OPENERS:
            balance += 1
        elif char in _CLOSERS:
            balance -= 1
        index += 1
    return balance


def _indent_width(line: str) -> int:
    stripped = line.lstrip(" \t")
    return len(line[: len(line) - len(stripped)].replace("\t", "    "))
