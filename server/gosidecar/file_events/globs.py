"""LSP glob patterns and the watchers gopls registers with them.

Glob syntax (LSP 3.17 `Pattern`): `*` matches within one path segment, `?` one
character of a segment, `**` any number of segments, `{a,b}` alternatives (which may
hold globs themselves), `[...]` / `[!...]` a character (not) in a range. A watcher's
`globPattern` is either a string, matched against the absolute path, or a
`RelativePattern` whose `baseUri` (a URI or a `WorkspaceFolder`) is the directory its
pattern is relative to. Patterns without any glob character (gopls's per-directory
watchers for VS Code) are compared as plain paths, since gopls may send thousands.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from gosidecar.file_events.lsp import ALL_WATCH_KINDS, FileChangeType, file_path, watch_kind

_GLOB_CHARS = frozenset("*?{}[]")


def compile_glob(pattern: str) -> re.Pattern[str]:
    """A regular expression matching exactly the paths `pattern` matches."""
    return re.compile(_translate(pattern) + r"\Z", re.DOTALL)


def _translate(pattern: str) -> str:
    out: list[str] = []
    i = 0
    while i < len(pattern):
        char = pattern[i]
        if pattern.startswith("**", i) and (i == 0 or pattern[i - 1] == "/"):
            regex, i = _translate_globstar(pattern, i)
        elif char == "*":
            regex, i = "[^/]*", i + 1
        elif char == "?":
            regex, i = "[^/]", i + 1
        elif char == "{":
            regex, i = _translate_braces(pattern, i)
        elif char == "[":
            regex, i = _translate_class(pattern, i)
        else:
            regex, i = re.escape(char), i + 1
        out.append(regex)
    return "".join(out)


def _translate_globstar(pattern: str, i: int) -> tuple[str, int]:
    end = i + 2
    while end < len(pattern) and pattern[end] == "*":
        end += 1  # `***` means the same as `**`
    if end == len(pattern):
        return ".*", end
    if pattern[end] == "/":
        return "(?:[^/]*/)*", end + 1
    return "[^/]*", end  # `**x` inside a segment is just a star


def _translate_braces(pattern: str, start: int) -> tuple[str, int]:
    depth = 0
    alternatives: list[str] = []
    piece_start = start + 1
    for i in range(start, len(pattern)):
        char = pattern[i]
        if char == "{":
            depth += 1
        elif char == "}":
            depth -= 1
            if depth == 0:
                alternatives.append(pattern[piece_start:i])
                return "(?:" + "|".join(_translate(a) for a in alternatives) + ")", i + 1
        elif char == "," and depth == 1:
            alternatives.append(pattern[piece_start:i])
            piece_start = i + 1
    return re.escape("{"), start + 1  # unbalanced: a literal brace


def _translate_class(pattern: str, start: int) -> tuple[str, int]:
    i = start + 1
    negate = i < len(pattern) and pattern[i] in "!^"
    if negate:
        i += 1
    body_start = i
    if i < len(pattern) and pattern[i] == "]":
        i += 1  # a leading `]` is a member, not the end
    end = pattern.find("]", i)
    if end < 0:
        return re.escape("["), start + 1
    body = pattern[body_start:end].replace("\\", "\\\\").replace("[", "\\[").replace("]", "\\]")
    body = body.replace("^", "\\^")
    # A class never matches the separator, negated or not.
    return ("[^/" + body + "]" if negate else "(?!/)[" + body + "]"), end + 1


@dataclass(frozen=True)
class FileWatcher:
    """One `FileSystemWatcher` of a `DidChangeWatchedFilesRegistrationOptions`."""

    pattern: str
    base: str | None = None
    """Absolute directory of a relative pattern; None for a plain string pattern."""
    kind: int = ALL_WATCH_KINDS

    @property
    def is_literal(self) -> bool:
        return not _GLOB_CHARS.intersection(self.pattern)

    @property
    def full_pattern(self) -> str:
        if self.base is None:
            return self.pattern
        return self.base.rstrip("/") + "/" + self.pattern


def parse_watchers(register_options: object) -> list[FileWatcher]:
    """The watchers in gopls's registration options; malformed entries are skipped."""
    if not isinstance(register_options, Mapping):
        return []
    raw_watchers = register_options.get("watchers")
    if not isinstance(raw_watchers, list):
        return []
    watchers = []
    for raw in raw_watchers:
        watcher = _parse_watcher(raw)
        if watcher is not None:
            watchers.append(watcher)
    return watchers


def _parse_watcher(raw: object) -> FileWatcher | None:
    if not isinstance(raw, Mapping):
        return None
    kind = raw.get("kind", ALL_WATCH_KINDS)
    if not isinstance(kind, int) or isinstance(kind, bool):
        kind = ALL_WATCH_KINDS
    glob = raw.get("globPattern")
    if isinstance(glob, str):
        return FileWatcher(glob, None, kind)
    if not isinstance(glob, Mapping) or not isinstance(glob.get("pattern"), str):
        return None
    base = glob.get("baseUri")
    if isinstance(base, Mapping):  # a WorkspaceFolder
        base = base.get("uri")
    base_path = file_path(base) if isinstance(base, str) else None
    if base_path is None:
        return None
    return FileWatcher(glob["pattern"], base_path.rstrip("/") or "/", kind)


class WatcherSet:
    """All watchers gopls has registered, matched against absolute paths."""

    def __init__(self, watchers: Iterable[FileWatcher] = ()) -> None:
        self._literal_kinds: dict[str, int] = {}
        self._globs: list[tuple[re.Pattern[str], int]] = []
        for watcher in watchers:
            if watcher.is_literal:
                path = watcher.full_pattern
                self._literal_kinds[path] = self._literal_kinds.get(path, 0) | watcher.kind
            else:
                self._globs.append((compile_glob(watcher.full_pattern), watcher.kind))

    def __bool__(self) -> bool:
        return bool(self._literal_kinds or self._globs)

    def names_literally(self, path: str) -> bool:
        """Whether gopls registered exactly this path (how it names a directory it knows)."""
        return path in self._literal_kinds

    def matches(self, path: str, change: FileChangeType | None = None) -> bool:
        """Whether any watcher covers `path` (for `change`, or for any change if None)."""
        wanted = watch_kind(change) if change is not None else ALL_WATCH_KINDS
        if self._literal_kinds.get(path, 0) & wanted:
            return True
        return any(kind & wanted and regex.match(path) for regex, kind in self._globs)
