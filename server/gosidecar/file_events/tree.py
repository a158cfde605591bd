"""Which real directories to watch, the files known in each, and the names they go by.

The walk starts at each root (a workspace folder, or a directory gopls named in a
registration) and goes through the tree as the user sees it ("view" paths). Symlinked
directories are followed when their real target lies inside a root, so Bazel's
`bazel-out -> .cache/...` links and linked packages are seen, but every real directory
is listed and watched once, whatever number of names lead to it; a link back to an
ancestor therefore ends the walk instead of looping. Links whose target is outside every
root are not followed (`outside_links`): they lead to build outputs, module caches or
other checkouts, which gopls does not edit and which would cost inotify watches.

Skipped: `.git` and `node_modules` always, and whatever gopls's `directoryFilters`
exclude, evaluated exactly as gopls does (relative to the root, last match wins).

At most `max_dirs` real directories are listed (breadth-first over all roots at once,
so every root gets its top levels): a workspace that holds more, or a root that is far
too wide, costs neither unbounded inotify watches nor unbounded memory. The directories
left unlisted are kept in `over_cap` (each one stands for its whole subtree) until they
disappear or there is room again (`fill_to_cap`).
"""

# String paths and os.path on purpose: this code runs for every inotify event and every
# directory entry, where pathlib objects cost several times as much.
# ruff: noqa: PTH112, PTH118, PTH119, PTH120

from __future__ import annotations

import os
import re
import stat
from collections import deque
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from gosidecar.file_events.lsp import FileChangeType

ALWAYS_SKIPPED = frozenset({".git", "node_modules"})
GOPLS_DEFAULT_FILTERS = ("-**/node_modules",)
MAX_DIRECTORIES = 20_000
"""Default cap on listed (so watched) directories: far above a large Go monorepo's
source tree once `directoryFilters` exclude its generated parts, far below a home
directory or `/`."""


@dataclass(frozen=True)
class Stamp:
    """Enough of a file's stat to tell that it changed."""

    mtime_ns: int
    size: int
    inode: int

    @classmethod
    def of(cls, result: os.stat_result) -> Stamp:
        return cls(result.st_mtime_ns, result.st_size, result.st_ino)


def stamp_of(path: str) -> Stamp | None:
    try:
        return Stamp.of(os.lstat(path))
    except OSError:
        return None


class DirectoryFilters:
    """gopls's `directoryFilters` (`-node_modules`, `-**/bazel-out`, `+keep/this`)."""

    def __init__(self, rules: Sequence[str] = GOPLS_DEFAULT_FILTERS) -> None:
        self.rules = tuple(r for r in rules if len(r) > 1 and r[0] in "+-")
        self._compiled = [(_filter_regex(rule[1:]), rule[0] == "+") for rule in self.rules]

    def includes(self, relative_dir: str) -> bool:
        path = "/" + relative_dir.strip("/") + "/"
        included = True
        for regex, include in self._compiled:
            if regex.search(path):
                included = include  # the last match wins
        return included


def _filter_regex(prefix: str) -> re.Pattern[str]:
    # Same construction as gopls's convertFilterToRegexp.
    segments = os.path.normpath(prefix).strip("/").split("/")
    pattern = "^/" + "".join((".*" if s == "**" else re.escape(s)) + "/" for s in segments)
    return re.compile(pattern.removeprefix("^/.*"))


@dataclass(frozen=True)
class Root:
    view: str
    """The path as the editor or gopls names it (may run through symlinks)."""
    real: str

    @classmethod
    def of(cls, path: str) -> Root:
        view = os.path.normpath(path)
        return cls(view, os.path.realpath(view))


@dataclass
class _Listing:
    files: dict[str, Stamp] = field(default_factory=dict)
    subdirs: list[str] = field(default_factory=list)
    dir_links: list[tuple[str, str]] = field(default_factory=list)
    """(name, real target) of symlinks to directories."""


def _list_dir(real_dir: str) -> _Listing | None:
    listing = _Listing()
    try:
        entries = list(os.scandir(real_dir))
    except OSError:
        return None
    for entry in entries:
        try:
            info = entry.stat(follow_symlinks=False)
        except OSError:
            continue  # vanished while listing
        if stat.S_ISDIR(info.st_mode):
            listing.subdirs.append(entry.name)
        elif stat.S_ISLNK(info.st_mode) and os.path.isdir(entry.path):
            listing.dir_links.append((entry.name, os.path.realpath(entry.path)))
        else:
            listing.files[entry.name] = Stamp.of(info)
    return listing


def is_within(path: str, directory: str) -> bool:
    return path == directory or path.startswith(directory.rstrip("/") + "/")


def _relative(path: str, directory: str) -> str:
    return "" if path == directory else path[len(directory.rstrip("/")) + 1 :]


class Tree:
    """The real directories under the roots and the files last seen in each."""

    def __init__(self, roots: Iterable[Root], filters: DirectoryFilters, max_dirs: int = MAX_DIRECTORIES) -> None:
        self.roots = list(dict.fromkeys(roots))
        self.filters = filters
        self.max_dirs = max_dirs
        self.files: dict[str, dict[str, Stamp]] = {}
        """Real directory -> file name -> stamp: every directory to watch."""
        self.links: dict[str, str] = {}
        """View path of a followed directory link -> its real target."""
        self.outside_links: list[str] = []
        self.link_entries: set[str] = set()
        """Real paths of the directory links themselves: their change re-plans the tree."""
        self.over_cap: set[str] = set()
        """Real directories not listed because `max_dirs` were listed already."""
        self._walk([(root.view, root.real, root) for root in self.roots])

    def add_subtree(self, real_dir: str) -> list[str]:
        """List a directory that appeared; returns its new files and directories."""
        for view in self.view_paths(real_dir):
            root = self._root_of(view)
            if root is not None and self._included(view, root):
                return self._walk([(view, real_dir, root)])
        return []

    def remove_subtree(self, real_dir: str) -> list[str]:
        """Forget a directory that went away; returns the files and directories it held."""
        gone: list[str] = []
        self.over_cap.difference_update([d for d in self.over_cap if is_within(d, real_dir)])
        for directory in [d for d in self.files if is_within(d, real_dir)]:
            gone.append(directory)
            gone.extend(os.path.join(directory, name) for name in self.files.pop(directory))
        return gone

    def refresh_dir(self, real_dir: str) -> list[tuple[str, FileChangeType]]:
        """Re-list one directory (not its subdirectories) and report how its files differ."""
        known = self.files.get(real_dir)
        listing = _list_dir(real_dir)
        if known is None or listing is None:
            return []
        self.files[real_dir] = listing.files
        changes = _diff_files(real_dir, known, listing.files)
        for subdir in [d for d in [*self.files, *self.over_cap] if os.path.dirname(d) == real_dir]:
            if os.path.basename(subdir) not in listing.subdirs:
                changes.extend((p, FileChangeType.Deleted) for p in self.remove_subtree(subdir))
        for name in listing.subdirs:
            subdir = os.path.join(real_dir, name)
            if subdir not in self.files and subdir not in self.over_cap:
                changes.extend((p, FileChangeType.Created) for p in self.add_subtree(subdir))
        return changes

    def fill_to_cap(self) -> None:
        """List directories left over the cap while there is room again (they are not
        new, so nothing is reported)."""
        if not self.over_cap or len(self.files) >= self.max_dirs:
            return
        for real_dir in sorted(self.over_cap):
            if len(self.files) >= self.max_dirs:
                break
            self.over_cap.discard(real_dir)  # stays out if it has no name under a root any more
            self.add_subtree(real_dir)

    def note(self, real_path: str, change: FileChangeType) -> None:
        """Keep the snapshot in step with a change the watcher reported."""
        directory, name = os.path.split(real_path)
        files = self.files.get(directory)
        if files is None:
            return
        current = stamp_of(real_path) if change is not FileChangeType.Deleted else None
        if current is None:
            files.pop(name, None)
        else:
            files[name] = current

    def view_paths(self, real_path: str) -> list[str]:
        """The names of a real path: under each root first, then through followed links."""
        direct = [
            os.path.join(root.view, _relative(real_path, root.real)).rstrip("/")
            for root in self.roots
            if is_within(real_path, root.real)
        ]
        linked = sorted(
            (
                os.path.join(view, _relative(real_path, target)).rstrip("/")
                for view, target in self.links.items()
                if is_within(real_path, target)
            ),
            key=len,
        )
        return list(dict.fromkeys(direct + linked))

    def _walk(self, starts: Iterable[tuple[str, str, Root]]) -> list[str]:
        """Breadth-first from (view, real, root) directories; returns the paths it added."""
        added: list[str] = []
        queue = deque(starts)
        while queue:
            view, real, root = queue.popleft()
            if real in self.files:
                continue  # another name for a directory already seen (or a cycle)
            if len(self.files) >= self.max_dirs:
                self.over_cap.add(real)
                continue
            listing = _list_dir(real)
            if listing is None:
                continue
            self.files[real] = listing.files
            self.over_cap.discard(real)
            added.append(real)
            added.extend(os.path.join(real, name) for name in listing.files)
            for name in sorted(listing.subdirs):  # the same directories fall under the cap each time
                child = os.path.join(view, name)
                if self._included(child, root):
                    queue.append((child, os.path.join(real, name), root))
            for name, target in listing.dir_links:
                self.link_entries.add(os.path.join(real, name))
                child = os.path.join(view, name)
                if not self._included(child, root):
                    continue
                if not any(is_within(target, r.real) for r in self.roots):
                    self.outside_links.append(child)
                    continue
                self.links[child] = target
                queue.append((child, target, root))
        return added

    def _included(self, view: str, root: Root) -> bool:
        if os.path.basename(view) in ALWAYS_SKIPPED:
            return False
        return self.filters.includes(_relative(view, root.view))

    def _root_of(self, view: str) -> Root | None:
        return next((r for r in self.roots if is_within(view, r.view)), None)


def _diff_files(directory: str, before: dict[str, Stamp], after: dict[str, Stamp]) -> list[tuple[str, FileChangeType]]:
    changes = [
        (
            os.path.join(directory, name),
            FileChangeType.Created if name not in before else FileChangeType.Changed,
        )
        for name, stamp in after.items()
        if before.get(name) != stamp
    ]
    changes.extend((os.path.join(directory, n), FileChangeType.Deleted) for n in before if n not in after)
    return changes


def diff_trees(before: Tree, after: Tree) -> list[tuple[str, FileChangeType]]:
    """How the files differ between two walks (a rescan after lost events).

    A directory only in `before` counts as deleted only if it is really gone (it may
    just have stopped being reachable); one only in `after` is reported as created.
    """
    changes: list[tuple[str, FileChangeType]] = []
    for directory, files in after.files.items():
        changes.extend(_diff_files(directory, before.files.get(directory, {}), files))
    for directory, files in before.files.items():
        if directory not in after.files and not os.path.isdir(directory):
            changes.extend((os.path.join(directory, n), FileChangeType.Deleted) for n in files)
    return changes
