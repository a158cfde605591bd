"""Calls that come out balanced: how many arguments each call in a suggestion takes, from gopls.

Two answers of gopls bound a suggestion's calls: the signature of the call the cursor is in
(`textDocument/signatureHelp`: its parameters and the one the cursor is at), and the
`detail` of each completion candidate (`func(p []byte) (n int, err error)` for a method,
`int` for a field). `CallMonitor.accepts(text)` tells whether the text after the cursor
breaks them: a comma past a call's last parameter, a call closed before each parameter has
an argument, a field or constant that is not a function called, or a line ended inside a
parenthesis or bracket the suggestion opened, its last argument unfinished (`f(a` + line
break: Go wants `f(a,` or `f(a)`). The local engine steers every token by it (the model's
next best token that keeps the calls balanced); whatever the backend, a suggestion is cut
before its first break (`balanced_prefix`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from typing import Any

from lsprotocol.types import CompletionItemKind

from gosidecar.completion.go_scan import CLOSER_OF, GO_KEYWORDS, GoScan

_NAME_BEFORE = re.compile(r"(\w+)\s*$")
_LEADING_NAME = re.compile(r"\w*")
_TRAILING_NAME = re.compile(r"\w*$")
_NEVER_CALLED = re.compile(
    r"(?:\[|\*|map\[|<-|chan\b|struct\s*\{|interface\s*\{"
    r"|(?:bool|string|error|any|byte|rune|u?int(?:8|16|32|64)?|uintptr|float(?:32|64)|complex(?:64|128))$)"
)
"""A field's or variable's type that is certainly not a function (a named type may be one)."""
_VALUES = (CompletionItemKind.Field, CompletionItemKind.Variable)
_LINE_BREAKS = "\r\n"
_CLOSERS = frozenset(CLOSER_OF.values())
_STATEMENT_START = re.compile(r"^\s*(?:(?:if|for|switch|return|go|defer)\b|[\w.,\s\[\]*]+(?::=|[-+*/%&|^]?=)(?!=))")
"""A line that starts a statement (`if`, `x := `, `a.b[i] += `): nothing is open from lines before it."""
_ENDS_OPERAND = frozenset(")]}\"'`")
"""After these (or a name or number), a line break ends the line's code: Go inserts a semicolon."""
_ARGUMENT_LISTS = ")]"
"""Closers of the brackets whose last element needs a comma before a line break."""


@dataclass(frozen=True)
class Arity:
    """How many arguments a call takes."""

    parameters: int
    variadic: bool = False
    result_callable: bool = True
    """False when what the call returns is certainly no function: `Len()(` is a break."""
    single_result: bool = True
    """False when the call returns nothing or several values: `ReadByte().r` is a break."""

    def takes_another(self, given: int) -> bool:
        """Whether a call that has `given` arguments may get one more."""
        return self.variadic or given < self.parameters

    def satisfied_by(self, given: int) -> bool:
        """Whether `given` arguments are what the call takes."""
        return self.parameters - self.variadic <= given and (self.variadic or given <= self.parameters)


@dataclass(frozen=True)
class CallShapes:
    """What gopls says about the calls at the cursor; travels with `Limits` to the model process."""

    line_prefix: str
    enclosing: Arity | None = None
    """The call the cursor is in (opened on the cursor's line), from signature help."""
    callees: tuple[tuple[str, Arity | None], ...] = ()
    """Candidate names with their arity, or None for a field or constant that cannot be called."""


# ----------------------------------------------------------------- what gopls says


def function_arity(signature: str) -> Arity | None:
    """The arity of a function type as gopls writes it (`func[T any](s []T, v ...T) int`); None otherwise."""
    if not signature.startswith("func"):
        return None
    rest = signature[4:]
    if rest.startswith("["):
        rest = rest[_matching(rest) + 1 :]
    if not rest.startswith("("):
        return None
    end = _matching(rest)
    arguments = _arguments(rest[1:end])
    results = rest[end + 1 :].strip()
    if results.startswith("("):  # `(n int, err error)`, or one named result `(ok bool)`
        named = _arguments(results[1 : _matching(results)])
        results = named[0].split(" ", 1)[-1] if len(named) == 1 else results
    single = bool(results) and not results.startswith("(")
    never_a_function = not single or _NEVER_CALLED.match(results) is not None
    return Arity(len(arguments), bool(arguments) and "..." in arguments[-1], not never_a_function, single)


def callees_of(result: object) -> tuple[tuple[str, Arity | None], ...]:
    """Each completion candidate whose call shape the answer tells (`textDocument/completion`)."""
    items = result.get("items") if isinstance(result, dict) else result
    shapes: dict[str, Arity | None] = {}
    for item in items if isinstance(items, list) else ():
        label, detail = (item.get("label"), item.get("detail")) if isinstance(item, dict) else (None, None)
        if not isinstance(label, str) or not label.isidentifier() or not isinstance(detail, str) or label in shapes:
            continue  # a deep completion (`Front().Value`) tells the type of its last name only
        name = label
        arity = function_arity(detail)
        if arity is not None:
            shapes[name] = arity
        elif item.get("kind") == CompletionItemKind.Constant or (
            item.get("kind") in _VALUES and _NEVER_CALLED.match(detail)
        ):
            shapes[name] = None
    return tuple(shapes.items())


def called_at_cursor(line_prefix: str) -> str | None:
    """The name of the function whose call the cursor is in, when its `(` is on this line."""
    call = _call_at_cursor(line_prefix)
    return call[0] if call else None


def enclosing_arity(line_prefix: str, signature_help: object) -> Arity | None:
    """The arity of the call the cursor is in, from gopls's signature help, when it agrees
    with the line: the same function name, and the cursor at the same parameter."""
    call = _call_at_cursor(line_prefix)
    signature, active = _active_signature(signature_help)
    if call is None or signature is None:
        return None
    (called, frame), label, parameters = call, signature.get("label"), signature.get("parameters")
    if not isinstance(label, str) or not isinstance(parameters, list) or not label.startswith(called + "("):
        return None
    arity = Arity(len(parameters), variadic=bool(parameters) and "..." in _parameter_label(label, parameters[-1]))
    at_active = frame.commas == active or (arity.variadic and frame.commas >= active == arity.parameters - 1)
    return arity if at_active else None


def _call_at_cursor(line_prefix: str) -> tuple[str, _Frame] | None:
    """The called name and the open `(` of the call the cursor is in, when it is on this line."""
    frame = _Walk.after(line_prefix).innermost
    if frame is None or frame.closer != ")":
        return None
    name = _NAME_BEFORE.search(line_prefix[: frame.opened_at])
    if name is None or name.group(1)[0].isdigit() or name.group(1) in GO_KEYWORDS:
        return None  # `if (`, `func(`, `3 * (` open no call
    return name.group(1), frame


def _active_signature(help: object) -> tuple[dict[str, Any] | None, int]:
    if not isinstance(help, dict) or not isinstance(help.get("signatures"), list) or not help["signatures"]:
        return None, -1
    index = help.get("activeSignature") or 0
    signatures = help["signatures"]
    signature = signatures[index] if isinstance(index, int) and 0 <= index < len(signatures) else None
    if not isinstance(signature, dict):
        return None, -1
    active = signature.get("activeParameter", help.get("activeParameter"))
    return signature, active if isinstance(active, int) else 0


def _parameter_label(signature_label: str, parameter: object) -> str:
    """A parameter's label: its text, or [start, end] offsets into the signature's label."""
    label = parameter.get("label") if isinstance(parameter, dict) else None
    if isinstance(label, list) and len(label) == 2 and all(isinstance(end, int) for end in label):
        return signature_label[label[0] : label[1]]
    return label if isinstance(label, str) else ""


def _leading_name(text: str) -> str:
    match = _LEADING_NAME.match(text)
    return match.group() if match else ""


def _matching(text: str) -> int:
    """The index of the bracket closing the one `text` starts with (the end when unclosed)."""
    scan = GoScan()
    for index in scan.code(text):
        if not scan.open_brackets_and_quotes:
            return index
    return len(text)


def _arguments(inside: str) -> list[str]:
    """The comma-separated parts of a bracket's inside, at its own level."""
    scan, parts, start = GoScan(), [], 0
    for index in scan.code(inside):
        if inside[index] == "," and not scan.open:
            parts.append(inside[start:index])
            start = index + 1
    parts.append(inside[start:])
    return [part.strip() for part in parts if part.strip()]


# ----------------------------------------------------------------- the monitor


@dataclass
class _Frame:
    closer: str
    opened_at: int
    """Where its bracket is, counted from the start of the cursor's line."""
    arity: Arity | None = None
    commas: int = 0
    unfinished: bool = False
    """Code since the bracket or its last comma: an argument being written."""

    @property
    def given(self) -> int:
        return self.commas + self.unfinished


@dataclass
class _Walk:
    """The brackets open at a point of a line, with their commas; fed more code, it finds
    the first character that breaks a call."""

    scan: GoScan
    frames: list[_Frame] = field(default_factory=list)
    last: str = ""
    """The last code character that is not a space."""
    ended_call: tuple[int, Arity] | None = None
    """Where the last call of a known function ended, and its arity (what it returns)."""
    starts_statement: bool = False
    """The line starts a statement: a `)` or `]` that closes nothing on it is a break."""

    @staticmethod
    def after(line_prefix: str) -> _Walk:
        walk = _Walk(GoScan(), starts_statement=_STATEMENT_START.match(line_prefix) is not None)
        walk.feed(line_prefix, {}, offset=0)
        return walk

    @property
    def innermost(self) -> _Frame | None:
        return self.frames[-1] if self.frames else None

    def copy(self) -> _Walk:
        frames = [replace(frame) for frame in self.frames]
        return _Walk(self.scan.copy(), frames, self.last, self.ended_call, self.starts_statement)

    def feed(self, text: str, calls: dict[int, Arity | None], offset: int) -> int | None:
        """Take `text` (at `offset` in the line) in; the index of its first character that
        breaks a call, or None. `calls` maps the index of the `(` that calls a candidate
        to its arity (None: the candidate cannot be called)."""
        for index in self.scan.code(text):
            char = text[index]
            if char.isspace() and char not in _LINE_BREAKS:
                continue
            if not self._uses_result(char, offset + index):
                return index
            self.ended_call = None
            if char in _LINE_BREAKS:
                allowed = self.unfinished_argument(offset) is None
            elif char == ",":
                allowed = not self.frames or self._comma()
            elif char in _CLOSERS:
                closed = self.innermost
                allowed = self._close() if self.frames else char == "}" or not self.starts_statement
                if closed is not None and closed.arity is not None and closed.closer == ")":
                    self.ended_call = (offset + index + 1, closed.arity)
            elif char in CLOSER_OF:
                arity = calls.get(index) if char == "(" else None
                allowed = not (char == "(" and index in calls and arity is None) and self._touch()
                self.frames.append(_Frame(CLOSER_OF[char], offset + index, arity))
            else:
                allowed = self._touch()
            if not allowed:
                return index
            self.last = char
        return None

    def _uses_result(self, char: str, at: int) -> bool:
        """False when `char`, the first code after a call, uses a result the call does not
        have: calls one that is no function (`Len()(`), or goes on after several results or
        none (`ReadByte().r`, `ReadByte(), x`: those stand alone)."""
        if self.ended_call is None or char in _LINE_BREAKS:
            return True
        end, arity = self.ended_call
        if char == "(" and at == end:
            return arity.result_callable
        return arity.single_result or char in ")}"

    def unfinished_argument(self, offset: int) -> _Frame | None:
        """The innermost bracket opened at or after `offset`, when a line break now would
        end its argument there (`f(a` + line break: Go inserts a semicolon after an
        operand; after `a +` or `a,` the argument goes on; a `{` may be a block), or when
        it calls a function that takes no argument."""
        frame = self.innermost
        if frame is None or frame.opened_at < offset or frame.closer not in _ARGUMENT_LISTS:
            return None
        if frame.arity is not None and not frame.arity.takes_another(0):
            return frame  # `Len(` + line break: a call that takes nothing is closed on its line
        return frame if frame.unfinished and _ends_operand(self.last) else None

    def _touch(self) -> bool:
        """Code in the innermost bracket; False when it starts an argument its call does not take."""
        frame = self.innermost
        if frame is None or frame.unfinished:
            return True
        frame.unfinished = True
        return frame.arity is None or frame.arity.takes_another(frame.commas)

    def _comma(self) -> bool:
        frame = self.frames[-1]
        if frame.arity is not None and not frame.arity.takes_another(frame.commas + 1):
            return False
        frame.commas, frame.unfinished = frame.commas + 1, False
        return True

    def _close(self) -> bool:
        frame = self.frames.pop()
        if frame.arity is None:
            return self._touch()
        if frame.commas == 0 and self.last == ")":  # f(g()): g's results may be all of f's arguments
            return frame.arity.takes_another(0) and self._touch()
        return frame.arity.satisfied_by(frame.given) and self._touch()


def _ends_operand(char: str) -> bool:
    return char.isalnum() or char == "_" or char in _ENDS_OPERAND


class CallMonitor:
    """Whether the text after the cursor keeps the calls at the cursor balanced (`CallShapes`)."""

    def __init__(self, shapes: CallShapes) -> None:
        self._callees = dict(shapes.callees)
        fragment = _TRAILING_NAME.search(shapes.line_prefix)
        self._fragment = fragment.group() if fragment else ""
        self._cursor = len(shapes.line_prefix)
        self._start = _Walk.after(shapes.line_prefix)
        innermost = self._start.innermost
        if innermost is not None and innermost.closer == ")":
            innermost.arity = shapes.enclosing

    def first_break(self, text: str, *, ended: bool = False) -> int | None:
        """The index in `text` of the first character that breaks a call, or None.

        When the text is whole (`ended`: the line ends after it) but leaves an argument
        unfinished in a bracket it opened, the break is that bracket.
        """
        walk = self._start.copy()
        broken = walk.feed(text, self._call_of_first_name(text), offset=self._cursor)
        unfinished = walk.unfinished_argument(self._cursor) if broken is None and ended else None
        return broken if unfinished is None else unfinished.opened_at - self._cursor

    def accepts(self, text: str, *, ended: bool = False) -> bool:
        return self.first_break(text, ended=ended) is None

    def _call_of_first_name(self, text: str) -> dict[int, Arity | None]:
        """Where the text calls the candidate it starts with (`Name(`, `Name[int](`), and its arity."""
        name_end = len(_leading_name(text))
        name = self._fragment + text[:name_end]
        if name not in self._callees:
            return {}
        call = name_end
        if text[call : call + 1] == "[":  # type arguments first
            call += _matching(text[call:]) + 1
        return {call: self._callees[name]}


def balanced_prefix(text: str, shapes: CallShapes, *, whole: bool) -> str:
    """`text` cut before the first character that breaks a call. When it is `whole` (the
    model ended it), cut again while what is left ends inside an unfinished argument."""
    monitor = CallMonitor(shapes)
    while (broken := monitor.first_break(text, ended=whole)) is not None:
        text = text[:broken].rstrip()
    return text
