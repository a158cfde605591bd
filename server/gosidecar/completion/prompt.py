"""Prompt layout built for KV cache reuse.

llama.cpp keeps the longest common token prefix of the previous prompt, so what matters
for latency is that the head of the prompt stays byte-identical while the user types.
The prompt is, in order: skeletons of other open Go files (sorted, so stable), the
current file's package clause and imports, and the current file from an *anchor* to the
cursor. The anchor is a line start on a grid of `step` characters: it moves only when the
cursor has moved a whole step, so a keystroke adds a token or two at the end instead of
sliding the window (which would re-evaluate everything).

The model sees `\n` line breaks whatever the document uses (`\r\n`, `\r`): that is
what it was trained on, and what the anchor's line starts are found by.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from gosidecar.documents import LINE_BREAK


@dataclass(frozen=True)
class PromptBudget:
    window_tokens: int = 2048
    """Most tokens of the current file before the cursor."""
    header_tokens: int = 192
    """Most tokens of the package clause and imports, shown when the window starts later."""
    extra_tokens: int = 384
    """Most tokens of other open files' declarations."""
    suffix_tokens: int = 192
    """Most tokens after the cursor (FIM models only)."""
    chars_per_token: float = 3.0
    """A low estimate for Go source, so the character budgets rarely overshoot."""
    anchor_steps: int = 2
    """The window start moves in steps of window/anchor_steps."""

    def chars(self, tokens: int) -> int:
        return int(tokens * self.chars_per_token)

    @property
    def total_tokens(self) -> int:
        return self.window_tokens + self.header_tokens + self.extra_tokens + self.suffix_tokens


@dataclass(frozen=True)
class PromptText:
    extra: str
    """Declarations from other open files."""
    header: str
    """Package clause and imports of the current file when the window starts after them."""
    prefix: str
    """The current file from the anchor to the cursor."""
    suffix: str
    """The current file after the cursor, bounded."""
    anchor: int
    """Offset where `prefix` starts, in the document with its line breaks made `\n`."""

    @property
    def context(self) -> str:
        """Everything before the cursor, as one text (what prefix-only prompts send)."""
        return self.extra + self.header + self.prefix


class Tokenizer(Protocol):
    def tokenize(self, text: str, add_bos: bool) -> list[int]: ...


@dataclass(frozen=True)
class FimTokens:
    prefix: int
    suffix: int
    middle: int


def build_prompt_text(
    text: str,
    cursor: int,
    uri: str,
    extra_context: Sequence[tuple[str, str]] = (),
    budget: PromptBudget | None = None,
) -> PromptText:
    budget = budget or PromptBudget()
    if "\r" in text:
        before = LINE_BREAK.sub("\n", text[:cursor])
        text, cursor = before + LINE_BREAK.sub("\n", text[cursor:]), len(before)
    anchor = anchor_offset(text, cursor, budget)
    header = go_header(text, budget.chars(budget.header_tokens)) if anchor > 0 else ""
    if len(header) >= anchor:
        header, anchor = "", 0
    suffix_end = text.rfind("\n", cursor, cursor + budget.chars(budget.suffix_tokens))
    suffix = text[cursor : suffix_end + 1] if suffix_end >= 0 else text[cursor : cursor + 1]
    return PromptText(
        extra=extra_skeletons(uri, extra_context, budget.chars(budget.extra_tokens)),
        header=header + "\n" if header else "",
        prefix=text[anchor:cursor],
        suffix=suffix,
        anchor=anchor,
    )


def anchor_offset(text: str, cursor: int, budget: PromptBudget) -> int:
    """Start of the window: the first line start at or after a grid point.

    The grid point is the smallest multiple of `step` that keeps the window within its
    budget, so it only changes when the cursor crosses a multiple of `step`.
    """
    window = budget.chars(budget.window_tokens)
    step = max(window // budget.anchor_steps, 1)
    earliest = cursor - window
    if earliest <= 0:
        return 0
    grid = -(-earliest // step) * step
    newline = text.find("\n", grid - 1, cursor)
    return newline + 1 if newline >= 0 else text.rfind("\n", 0, cursor) + 1


def go_header(text: str, max_chars: int) -> str:
    """The package clause and the imports, without the comments around them."""
    kept: list[str] = []
    in_import_block = False
    for line in text.splitlines():
        if in_import_block:
            kept.append(line)
            in_import_block = not line.startswith(")")
        elif line.startswith(("package ", "import ")):
            kept.append(line if line.startswith("import") else line + "\n")
            in_import_block = line.startswith("import (")
        elif line.strip() and not line.startswith("//"):
            break
    header = "\n".join(kept)
    if len(header) <= max_chars:
        return header
    return header[: max(header.rfind("\n", 0, max_chars), 0)]


def extra_skeletons(uri: str, extra_context: Sequence[tuple[str, str]], max_chars: int) -> str:
    """Declarations of the other open Go files, sorted by URI so the prompt head is stable."""
    parts: list[str] = []
    used = 0
    for other_uri, other_text in sorted(extra_context):
        if other_uri == uri or not other_uri.endswith(".go"):
            continue
        skeleton = go_skeleton(other_text)
        if not skeleton:
            continue
        part = f"// {other_uri.rsplit('/', 1)[-1]}\n{skeleton}\n\n"
        if used + len(part) > max_chars:
            break
        parts.append(part)
        used += len(part)
    return "".join(parts)


def go_skeleton(text: str) -> str:
    """Package clause, type definitions with their fields, and function signatures."""
    lines: list[str] = []
    in_type_body = False
    for line in text.splitlines():
        if in_type_body:
            lines.append(line)
            in_type_body = not line.startswith("}")
        elif line.startswith("package "):
            lines.append(line)
        elif line.startswith("type "):
            lines.append(line)
            in_type_body = line.rstrip().endswith("{")
        elif line.startswith("func "):
            lines.append(line.rstrip().removesuffix("{").rstrip())
    return "\n".join(lines)


_TRAILING_WORD = re.compile(r"\w+$")


def split_trailing_word(text: str) -> tuple[str, str]:
    """`text` without its half-typed last word, and that word ("m.mu.Unl" -> "m.mu.", "Unl").

    Servers that cannot heal tokens get the prompt without the fragment; the suggestion
    must then start with it.
    """
    match = _TRAILING_WORD.search(text[-64:])
    if match is None or len(match.group()) == len(text):
        return text, ""
    fragment = match.group()
    return text[: -len(fragment)], fragment


def prompt_tokens(prompt: PromptText, tokenizer: Tokenizer, fim: FimTokens | None, max_tokens: int) -> list[int]:
    """The prompt as tokens: FIM when the model has the tokens, prefix-only otherwise.

    Over `max_tokens` (the character estimate was too low) the oldest context goes first.
    """
    if fim is None:
        tokens = tokenizer.tokenize(prompt.context, True)
        return tokens[:1] + tokens[1 - max_tokens :] if len(tokens) > max_tokens else tokens
    head = tokenizer.tokenize("", True)
    context = tokenizer.tokenize(prompt.context, False)
    suffix = tokenizer.tokenize(prompt.suffix, False)
    room = max_tokens - len(head) - len(suffix) - 3
    context = context[-room:] if len(context) > room else context
    return [*head, fim.prefix, *context, fim.suffix, *suffix, fim.middle]
