"""gopls's own reading of a didChange, for checking what the sidecar forwards.

From gopls/internal/server/text_synchronization.go (changedText) and
protocol.Mapper.PositionOffset: only `\\n` ends a line, a position past a line's end or
an end before its start makes gopls refuse the whole notification, and a range-less
change counts only when it is the only one.
"""

from __future__ import annotations

from typing import Any


class GoplsRefusedError(Exception):
    pass


def gopls_offset(content: bytes, line: int, character: int) -> int:
    line_starts = [0] + [i + 1 for i, b in enumerate(content) if b == 0x0A]
    if line > len(line_starts) or (line == len(line_starts) and character != 0):
        raise GoplsRefusedError("position out of range")
    if line == len(line_starts):
        return len(content)
    rest = content[line_starts[line] :].decode()
    col8, col16 = 0, 0
    for ch in rest:
        if col16 >= character:
            break
        if ch == "\n":
            raise GoplsRefusedError("column is beyond end of line")
        col16 += 2 if ord(ch) > 0xFFFF else 1
        if col16 > character:  # inside a surrogate pair: before the rune
            break
        col8 += len(ch.encode())
    else:
        if col16 < character:
            raise GoplsRefusedError("column is beyond end of file")
    return line_starts[line] + col8


def gopls_apply(text: str, changes: list[dict[str, Any]]) -> str:
    if len(changes) == 1 and "range" not in changes[0]:
        return str(changes[0]["text"])
    content = text.encode()
    for change in changes:
        if "range" not in change:
            raise GoplsRefusedError("unexpected nil range for change")
        start = gopls_offset(content, **change["range"]["start"])
        end = gopls_offset(content, **change["range"]["end"])
        if end < start:
            raise GoplsRefusedError("invalid range for content change")
        content = content[:start] + change["text"].encode() + content[end:]
    return content.decode()
