"""Where the cursor is, computed once per request: every later step reads this one value.

The cache key, the prompt, the stop rule, the clean-up of the suggestion and the range
the ghost text replaces all agree on the same line, so they cannot disagree on line
breaks: a line ends at `\\r\\n`, `\\r` or `\\n` as in the LSP specification, and a
position's character counts UTF-16 code units.
"""

from __future__ import annotations

from dataclasses import dataclass

from gosidecar.documents import LINE_BREAK, offset_at, position_at, utf16_length

Position = tuple[int, int]
"""LSP (0-based line, UTF-16 character)."""


@dataclass(frozen=True)
class Edit:
    """Ghost text: `text` replaces the document from `start` to `end`; "" is no suggestion."""

    text: str
    start: Position
    end: Position

    def typed_through(self, typed: str) -> Edit | None:
        """What is left to show once the user has typed `typed`, the start of the text, or None."""
        if not self.text.startswith(typed) or len(self.text) <= len(typed):
            return None
        shift = utf16_length(typed)  # typed on the cursor's line, which the range is on
        return Edit(self.text[len(typed) :], _moved(self.start, shift), _moved(self.end, shift))


@dataclass(frozen=True)
class CursorContext:
    text: str
    """The whole document."""
    offset: int
    """The cursor as a code-point offset in `text`."""
    position: Position
    line_start: int
    line_end: int
    """Offset of the end of the cursor's line, before its line break."""
    line_break: str
    """The document's line break (its first one; `\\n` when it has none)."""
    previous_line: str
    next_lines: tuple[str, ...]
    """A few lines after the cursor's line."""

    @staticmethod
    def at(text: str, line: int, character: int, following: int = 4) -> CursorContext:
        return CursorContext.at_offset(text, offset_at(text, {"line": line, "character": character}), following)

    @staticmethod
    def at_offset(text: str, offset: int, following: int = 4) -> CursorContext:
        line_start = _line_start(text, offset)
        found = LINE_BREAK.search(text, offset)
        line_end = found.start() if found else len(text)
        first_break = LINE_BREAK.search(text)
        previous_end = line_start - _break_length_before(text, line_start)
        return CursorContext(
            text=text,
            offset=offset,
            position=position_at(text, offset),
            line_start=line_start,
            line_end=line_end,
            line_break=first_break.group() if first_break else "\n",
            previous_line=text[_line_start(text, previous_end) : previous_end] if line_start > 0 else "",
            next_lines=tuple(LINE_BREAK.split(text[line_end:], following + 1)[1 : following + 1]),
        )

    @property
    def line_prefix(self) -> str:
        """The cursor's line before the cursor."""
        return self.text[self.line_start : self.offset]

    @property
    def line_suffix(self) -> str:
        """The cursor's line after the cursor, without its line break."""
        return self.text[self.offset : self.line_end]

    @property
    def block_mode(self) -> bool:
        """On a blank line (so far) a suggestion may be several lines."""
        return not self.line_prefix.strip()

    @property
    def indent(self) -> int:
        return indent_width(self.line_prefix)

    def edit(self, text: str, replaced: int = 0) -> Edit:
        """`text` at the cursor, replacing the first `replaced` characters of the line after it."""
        end = _moved(self.position, utf16_length(self.line_suffix[:replaced]))
        return Edit(text, self.position, end)


def indent_width(line: str) -> int:
    stripped = line.lstrip(" \t")
    return len(line[: len(line) - len(stripped)].replace("\t", "    "))


def _line_start(text: str, offset: int) -> int:
    return max(text.rfind("\n", 0, offset), text.rfind("\r", 0, offset)) + 1


def _break_length_before(text: str, line_start: int) -> int:
    if line_start == 0:
        return 0
    return 2 if text.startswith("\r\n", line_start - 2) else 1


def _moved(position: Position, characters: int) -> Position:
    return position[0], position[1] + characters
