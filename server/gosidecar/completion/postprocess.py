"""Where a suggestion stops, what of it is worth showing, and what it replaces.

Mid-line, a suggestion is the rest of the line. On a blank line it may be a block: it
stops at a blank line, when it leaves the cursor's block (a line indented less, or a
closing bracket that was opened before the cursor), or after a few lines. Text that
repeats what already follows the cursor is cut, characters the editor auto-closed are
replaced when the suggestion closes them itself, and anything left that looks like junk
(blank, a copy of the previous line, broken characters, a no-op) becomes no suggestion.

This is the one layer that handles the text after the cursor: `finalize` returns the
text *and* the range it replaces.
"""

from __future__ import annotations

from gosidecar.completion.cursor import CursorContext, Edit, indent_width
from gosidecar.completion.go_scan import GoScan, scan_go
from gosidecar.documents import LINE_BREAK

MAX_BLOCK_LINES = 8
# What may follow the cursor on a line that still takes a suggestion: closing brackets and
# quotes, separators, and the `{` of `if f(|) {`.
_CLOSING_CHARACTERS = ")]}{\"'`;,: \t"
# What editors insert after the cursor when they auto-close a bracket or a quote.
_AUTO_CLOSED = ")]}\"'` \t"


def should_stop(context: CursorContext, generated: str) -> bool:
    """Whether generation can stop: what comes next would be cut anyway."""
    if not context.block_mode:
        return LINE_BREAK.search(generated) is not None
    lines = LINE_BREAK.split(generated)
    return len(_block_lines(context, lines, finished=False)) < len(lines) - 1


def finalize(context: CursorContext, generated: str, finished: bool) -> Edit:
    """The ghost text and the range it replaces; its text is "" when nothing good is left.

    `finished` is False when generation was cut (time or token budget): a half line of a
    block is dropped then, while a half rest-of-line is still worth showing.
    """
    lines = LINE_BREAK.split(generated)
    if context.block_mode:
        edit = context.edit(context.line_break.join(_block_lines(context, lines, finished)).rstrip())
    else:
        edit = _fit_to_line_suffix(context, lines[0].rstrip())
    return edit if _looks_useful(context, edit.text) else context.edit("")


def _block_lines(context: CursorContext, lines: list[str], finished: bool) -> list[str]:
    if not finished and len(lines) > 1:
        lines = lines[:-1]
    next_code = next((line.rstrip() for line in context.next_lines if line.strip()), None)
    kept: list[str] = []
    scan = GoScan()
    for index, line in enumerate(lines):
        # The inside of a raw string or a block comment is not code: any indent, blank lines.
        if not scan.in_multiline_literal and _ends_block(context, index, line, next_code):
            break
        if scan.feed(line + "\n").depth < 0 or len(kept) == MAX_BLOCK_LINES:
            break
        kept.append(line)
    return kept


def _ends_block(context: CursorContext, index: int, line: str, next_code: str | None) -> bool:
    """A blank line, the code that already follows, or a line indented less than the cursor."""
    if not line.strip() or (context.line_prefix if index == 0 else "") + line.rstrip() == next_code:
        return True
    return index > 0 and indent_width(line) < context.indent


def _fit_to_line_suffix(context: CursorContext, text: str) -> Edit:
    """`text` fitted to what follows the cursor on its line.

    When the rest of the line is more than closing characters, the suggestion is only
    usable if it leads into that text; otherwise inserting it would garble the line.
    Editors auto-close brackets and quotes: typing `fmt.Println("total` leaves `")` after
    the cursor. A suggestion that closes them itself (`:", total)`) replaces those
    characters, or the line would end up with them twice; the ones it still needs stay.
    """
    existing = context.line_suffix.strip()
    if existing and text.endswith(existing):
        return context.edit(text[: -len(existing)].rstrip())
    if existing.strip(_CLOSING_CHARACTERS):
        return context.edit("")
    if existing and not existing.strip(_AUTO_CLOSED):
        return _replacing_auto_closed(context, text)
    for size in range(min(len(existing), len(text)), 0, -1):
        if text.endswith(existing[:size]):
            return context.edit(text[:-size])
    return context.edit(text)


def _replacing_auto_closed(context: CursorContext, text: str) -> Edit:
    still_open = scan_go(context.line_prefix + text).open_brackets_and_quotes
    kept = []
    for char in context.line_suffix:
        if still_open and char == still_open[-1]:
            kept.append(char)
            still_open.pop()
    replacement = text + "".join(kept)
    if replacement == context.line_suffix:
        return context.edit("")  # it would leave the line as it is
    if len(kept) == len(context.line_suffix):
        return context.edit(text)
    return context.edit(replacement, replaced=len(context.line_suffix))


def _looks_useful(context: CursorContext, text: str) -> bool:
    if not text.strip() or "\ufffd" in text:
        return False
    first_line = (context.line_prefix + LINE_BREAK.split(text, 1)[0]).strip()
    return first_line != context.previous_line.strip()
