"""The sidecar's own watcher for gopls: registrations in, one event per real file out.

Every piece of state lives on one service thread. The public methods, watchdog's
reader thread and the editor's notifications only put a job on its queue, so none of
them ever waits for a tree walk, and the thread also closes debounce windows (sending
the batch to gopls) and polls directories that could not be watched.

What is watched: the workspace folders (those of `initialize` and those added later by
`didChangeWorkspaceFolders`), and a registration's base directory only when its real
path lies inside one of them. A base outside every folder (gopls names a module of a
`go.work` in `../other`, or a crafted workspace names `/`) is not walked or watched:
it is logged, listed as `skippedBases` in the health section and reported as a problem;
gopls then learns of changes there only as edits of documents open in the editor. Within the folders at
most `max_watched_dirs` directories are watched (`tree.MAX_DIRECTORIES` by default);
past the cap the rest go unwatched and the health report says so, with the
`directoryFilters` that would bring the workspace under it.

One entry never costs the others: an event or a window entry that fails is logged and
dropped on its own, and file names that are not valid UTF-8 get byte-exact URIs.
"""

# String paths and os.path on purpose: this code runs for every inotify event and every
# directory entry, where pathlib objects cost several times as much.
# ruff: noqa: PTH112, PTH114, PTH118, PTH120

from __future__ import annotations

import errno
import heapq
import logging
import os
import queue
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from functools import partial
from typing import Any

from gosidecar.file_events.collapse import Collapser, NetChange
from gosidecar.file_events.globs import FileWatcher, WatcherSet, parse_watchers
from gosidecar.file_events.inotify_bits import InotifyConstants
from gosidecar.file_events.lsp import FileChangeType, change_type, file_path, path_to_uri
from gosidecar.file_events.tree import (
    GOPLS_DEFAULT_FILTERS,
    MAX_DIRECTORIES,
    DirectoryFilters,
    Root,
    Tree,
    diff_trees,
    is_within,
)
from gosidecar.file_events.watcher import InotifyWatcher, RawEvent, WatchBackend, WatcherFactory
from gosidecar.history import History
from gosidecar.problems import Problem
from gosidecar.settings import FileEventSettings

log = logging.getLogger(__name__)

SendToGopls = Callable[[list[dict[str, Any]]], None]
Job = Callable[[], None]

POLL_INTERVAL_S = 2.0
"""How often directories without an inotify watch are re-listed."""

_APPEARED = InotifyConstants.IN_CREATE | InotifyConstants.IN_MOVED_TO
_VANISHED = InotifyConstants.IN_DELETE | InotifyConstants.IN_MOVED_FROM
_WATCH_LIMIT_FIX = (
    "Raise the inotify watch limit, e.g. `sudo sysctl fs.inotify.max_user_watches=524288` "
    "(persist it in /etc/sysctl.d/), or exclude large trees with the gopls setting "
    "`directoryFilters`."
)
_SHOWN = 3
"""How many paths a problem message names."""


@dataclass(frozen=True)
class _RootPlan:
    """Where the tree walk starts, and the registration bases it leaves out."""

    roots: tuple[Root, ...]
    outside: tuple[str, ...]


class FileEventService:
    """Implements `gosidecar.problems.HealthSource` (section `fileEvents`)."""

    def __init__(
        self,
        send_to_gopls: SendToGopls,
        settings: FileEventSettings,
        workspace_folders: list[str],
        *,
        watcher_factory: WatcherFactory = InotifyWatcher,
        max_watched_dirs: int = MAX_DIRECTORIES,
        history: History | None = None,
    ) -> None:
        self._send = send_to_gopls
        self._history = history if history is not None else History()
        self._jobs: queue.SimpleQueue[Job | None] = queue.SimpleQueue()
        self._collapser = Collapser(settings.debounceMs / 1000)
        self._registrations: dict[str, list[FileWatcher]] = {}
        self._watchers = WatcherSet()
        self._folders = _paths(workspace_folders)
        self._filters = DirectoryFilters()
        self._max_dirs = max_watched_dirs
        self._tree = Tree([], self._filters, max_watched_dirs)
        self._tree_plan = _RootPlan((), ())
        self._watched: set[str] = set()
        self._unwatched: set[str] = set()
        self._next_poll = 0.0
        self._stats_lock = threading.Lock()
        self._received = self._forwarded = self._suppressed = self._overflows = 0
        self._debounce_ms = settings.debounceMs
        self._outside_links: list[str] = []
        self._outside_bases: tuple[str, ...] = ()
        self._over_cap: tuple[int, list[str]] = (0, [])
        self._backend: WatchBackend | None = self._start_backend(watcher_factory)
        self._thread = threading.Thread(target=self._run, name="file-events", daemon=True)
        self._thread.start()
        self._submit(partial(self._rebuild, report=False))

    # Public interface: every method only queues a job.

    def on_register(self, registration_id: str, register_options: dict[str, Any]) -> None:
        self._submit(partial(self._register, registration_id, parse_watchers(register_options)))

    def on_unregister(self, registration_id: str) -> None:
        self._submit(partial(self._register, registration_id, None))

    def on_client_changes(self, changes: list[dict[str, Any]]) -> None:
        self._submit(partial(self._record_client_changes, list(changes)))

    def set_workspace_folders(self, folders: list[str]) -> None:
        self._submit(partial(self._set_folders, _paths(folders)))

    def set_gopls_settings(self, gopls_config: Mapping[str, Any]) -> None:
        rules = gopls_config.get("directoryFilters", GOPLS_DEFAULT_FILTERS)
        if isinstance(rules, list) and all(isinstance(r, str) for r in rules):
            self._submit(partial(self._set_filters, tuple(rules)))

    def apply_settings(self, settings: FileEventSettings) -> None:
        self._submit(partial(self._set_debounce, settings.debounceMs))

    def reset(self) -> None:
        """gopls restarted: its registrations and the events meant for it are void."""
        self._submit(self._reset)

    def close(self) -> None:
        self._jobs.put(None)
        self._thread.join(timeout=5)
        if self._backend is not None:
            self._backend.close()

    def wait_idle(self, timeout: float = 10.0) -> bool:
        """Wait until everything asked of the service so far is done (tree walked, watches
        set); False on timeout."""
        done = threading.Event()
        self._submit(done.set)
        return done.wait(timeout)

    def flush(self) -> None:
        """Close the open window now (e.g. before gopls is asked for diagnostics)."""
        self._submit(partial(self._flush, force=True))

    def health_section(self) -> dict[str, object]:
        with self._stats_lock:
            return {
                "received": self._received,
                "forwarded": self._forwarded,
                "suppressed": self._suppressed,
                "debounceMs": self._debounce_ms,
                "watchedDirectories": len(self._watched),
                "polledDirectories": len(self._unwatched),
                "maxWatchedDirectories": self._max_dirs,
                "directoriesOverCap": self._over_cap[0],
                "skippedBases": list(self._outside_bases),
            }

    def problems(self) -> list[Problem]:
        with self._stats_lock:
            polled, watched = len(self._unwatched), len(self._watched)
            overflows, outside = self._overflows, list(self._outside_links)
            over_cap, over_cap_sample = self._over_cap
            outside_bases = list(self._outside_bases)
        found: list[Problem] = []
        if self._backend is None:
            found.append(
                Problem(
                    "warning",
                    f"inotify is not available: watched files are found by polling every {POLL_INTERVAL_S:g} s",
                    "Run the sidecar on Linux, or expect file changes to reach gopls late.",
                )
            )
        elif polled:
            found.append(
                Problem(
                    "warning",
                    f"inotify watch limit reached: {polled} of {polled + watched} directories "
                    f"are polled every {POLL_INTERVAL_S:g} s instead of watched",
                    _WATCH_LIMIT_FIX,
                )
            )
        if overflows:
            found.append(
                Problem(
                    "warning",
                    f"the inotify event queue overflowed {overflows} time(s); the workspace was "
                    "rescanned and every file found changed was sent to gopls",
                    "Raise `fs.inotify.max_queued_events` (e.g. `sudo sysctl "
                    "fs.inotify.max_queued_events=65536`) and check `fs.inotify.max_user_watches`; "
                    "exclude generated trees with gopls `directoryFilters`.",
                )
            )
        if over_cap:
            found.append(
                Problem(
                    "warning",
                    f"{watched} directories are watched, the cap; {over_cap} more and everything under them "
                    f"are not, so changes made there outside the editor do not reach gopls: "
                    f"{_shown(over_cap_sample, over_cap)}",
                    "Exclude trees gopls need not see with the gopls setting `directoryFilters`, "
                    'e.g. `"-**/testdata"`.',
                )
            )
        if outside_bases:
            found.append(
                Problem(
                    "warning",
                    f"gopls asked to watch {len(outside_bases)} directories outside the workspace folders; "
                    f"they are not watched: {_shown(outside_bases, len(outside_bases))}",
                    "Add the folder to the workspace (File > Add Folder to Workspace) if gopls should see "
                    "changes made there outside the editor.",
                )
            )
        if outside:
            found.append(
                Problem(
                    "info",
                    f"{len(outside)} symlinked directories lead outside the workspace and are not watched: "
                    f"{_shown(outside, len(outside))}",
                    "Add the link's target to the workspace if gopls should see its changes.",
                )
            )
        return found

    # WatchSink: called on watchdog's reader thread.

    def on_raw(self, wd: int, name: bytes, mask: int) -> None:
        self._submit(partial(self._handle_raw, wd, name, mask))

    def on_overflow(self) -> None:
        self._submit(self._recover_from_overflow)

    # The service thread.

    def _submit(self, job: Job) -> None:
        self._jobs.put(job)

    def _start_backend(self, factory: WatcherFactory) -> WatchBackend | None:
        try:
            return factory(self)
        except (OSError, ImportError) as error:
            log.warning("no inotify (%s): polling watched files instead", error)
            return None

    def _run(self) -> None:
        while True:
            try:
                job = self._jobs.get(timeout=self._seconds_to_next_duty())
            except queue.Empty:
                job = _idle
            if job is None:
                return
            try:
                job()
                self._flush(force=False)
                self._poll_if_due()
            except Exception:
                log.exception("file events: job failed")

    def _seconds_to_next_duty(self) -> float | None:
        deadlines = [self._collapser.due_at()]
        if self._unwatched:
            deadlines.append(self._next_poll)
        due = [d for d in deadlines if d is not None]
        return max(0.0, min(due) - time.monotonic()) if due else None

    def _handle_raw(self, wd: int, name: bytes, mask: int) -> None:
        if self._backend is None:
            return
        event = self._backend.resolve(wd, name, mask)
        if event is None:
            return
        if event.is_dir:
            self._handle_directory(event)
        elif event.path in self._tree.link_entries or (
            event.has(_APPEARED) and os.path.islink(event.path) and os.path.isdir(event.path)
        ):
            self._rebuild(report=True)  # a directory link came or went: re-plan the tree
        else:
            change = _file_change(event)
            self._tree.note(event.path, change)
            self._record(event.path, change)

    def _handle_directory(self, event: RawEvent) -> None:
        if event.has(_APPEARED):
            for path in self._tree.add_subtree(event.path):
                self._record(path, FileChangeType.Created)
            self._sync_watches(report=True)
        elif event.has(_VANISHED):
            for path in self._tree.remove_subtree(event.path):
                self._record(path, FileChangeType.Deleted)
            self._sync_watches(report=True)

    def _record(self, real_path: str, change: FileChangeType, fallback_uri: str | None = None) -> None:
        if fallback_uri is None and not any(self._watchers.matches(view) for view in self._tree.view_paths(real_path)):
            return  # not a file gopls asked for
        self._collapser.add(real_path, change, time.monotonic(), fallback_uri)
        with self._stats_lock:
            self._received += 1

    def _record_client_changes(self, changes: list[dict[str, Any]]) -> None:
        for raw in changes:
            try:
                self._record_client_change(raw)
            except Exception:
                log.exception("file events: dropped the editor's event %r", raw)

    def _record_client_change(self, raw: dict[str, Any]) -> None:
        uri, change = raw.get("uri"), change_type(raw.get("type"))
        path = file_path(uri) if isinstance(uri, str) else None
        if path is None or change is None:
            return
        directory, name = os.path.split(os.path.normpath(path))
        assert isinstance(uri, str)
        self._record(os.path.join(os.path.realpath(directory), name), change, uri)

    def _flush(self, *, force: bool) -> None:
        now = time.monotonic()
        window = self._collapser.take_all() if force else self._collapser.take_due(now)
        if not window:
            return
        batch: list[dict[str, Any]] = []
        sent: set[str] = set()
        for net in window:
            try:
                uri = self._uri_for(net)
            except Exception:  # one odd name must not cost the rest of the window
                log.exception("file events: dropped the change of %r", net.key)
                continue
            if uri is not None and uri not in sent and net.change is not None:
                sent.add(uri)
                batch.append({"uri": uri, "type": int(net.change)})
        received = sum(net.events for net in window)
        with self._stats_lock:
            self._forwarded += len(batch)
            self._suppressed += received - len(batch)
        self._history.record_file_events(received, forwarded=len(batch))
        if batch:
            self._send(batch)

    def _uri_for(self, net: NetChange) -> str | None:
        """The name gopls knows the file by: under a directory gopls named, else the first
        name without a symlink, else a name through a link; always one its watchers match."""
        if net.change is None:
            return None
        views = self._tree.view_paths(net.key)
        named = [v for v in views if self._watchers.names_literally(os.path.dirname(v))]
        for view in named + views:
            if self._watchers.matches(view, net.change):
                return path_to_uri(view)
        return net.fallback_uri

    def _register(self, registration_id: str, watchers: list[FileWatcher] | None) -> None:
        if watchers is None:
            self._registrations.pop(registration_id, None)
        else:
            self._registrations[registration_id] = watchers
        self._watchers = WatcherSet(w for ws in self._registrations.values() for w in ws)
        if self._plan_roots() != self._tree_plan:
            self._rebuild(report=False)

    def _plan_roots(self) -> _RootPlan:
        """The workspace folders, then the bases inside them (judged by real path, so a
        link in the workspace cannot lead the walk out of it)."""
        folders = [Root.of(f) for f in self._folders]
        inside: list[Root] = []
        outside: list[str] = []
        for base in self._base_dirs():
            root = Root.of(base)
            if any(is_within(root.real, folder.real) for folder in folders):
                inside.append(root)
            else:
                outside.append(root.view)
        return _RootPlan(tuple(folders + inside), tuple(outside))

    def _base_dirs(self) -> list[str]:
        bases = (w.base for ws in self._registrations.values() for w in ws if w.base is not None)
        return sorted({b for b in bases if os.path.isdir(b)})

    def _set_folders(self, folders: list[str]) -> None:
        if folders != self._folders:
            self._folders = folders
            self._rebuild(report=False)

    def _set_filters(self, rules: tuple[str, ...]) -> None:
        if rules != self._filters.rules:
            self._filters = DirectoryFilters(rules)
            self._rebuild(report=False)

    def _set_debounce(self, debounce_ms: int) -> None:
        self._collapser.debounce_s = debounce_ms / 1000
        with self._stats_lock:
            self._debounce_ms = debounce_ms

    def _reset(self) -> None:
        self._registrations.clear()
        self._watchers = WatcherSet()
        dropped = self._collapser.take_all()
        with self._stats_lock:
            self._suppressed += sum(net.events for net in dropped)

    def _recover_from_overflow(self) -> None:
        with self._stats_lock:
            self._overflows += 1
        log.warning("inotify queue overflow: rescanning the workspace")
        self._rebuild(report=True)

    def _rebuild(self, *, report: bool) -> None:
        """Walk all roots again; with `report`, send what differs from the last walk."""
        plan = self._plan_roots()
        for base in set(plan.outside) - set(self._tree_plan.outside):
            log.warning("not watching %s for gopls: it lies outside the workspace folders", base)
        self._tree_plan = plan
        old, self._tree = self._tree, Tree(plan.roots, self._filters, self._max_dirs)
        if report:
            for path, change in diff_trees(old, self._tree):
                self._record(path, change)
        self._sync_watches(report=report)
        with self._stats_lock:
            self._outside_links = list(self._tree.outside_links)
            self._outside_bases = plan.outside

    def _sync_watches(self, *, report: bool) -> None:
        """Watch every directory of the tree, then re-list the new ones: a file created
        between the listing and the watch has no event of its own."""
        self._tree.fill_to_cap()  # directories that went away may have made room
        while new := self._tree.files.keys() - self._watched - self._unwatched:
            for directory in sorted(new):
                self._watch(directory)
            for directory in sorted(new & self._watched):
                changes = self._tree.refresh_dir(directory)
                for path, change in changes if report else ():
                    self._record(path, change)
        for directory in self._watched - self._tree.files.keys():
            self._unwatch(directory)
        over_cap = self._tree.over_cap
        with self._stats_lock:
            self._over_cap = (len(over_cap), heapq.nsmallest(_SHOWN, over_cap))

    def _watch(self, directory: str) -> None:
        if self._backend is None:
            self._mark_polled(directory)
            return
        try:
            self._backend.watch(directory)
        except OSError as error:
            if error.errno == errno.ENOSPC:
                self._mark_polled(directory)
            else:  # gone already or unreadable: nothing to watch
                log.debug("cannot watch %s: %s", directory, error)
                self._tree.remove_subtree(directory)
            return
        with self._stats_lock:
            self._watched.add(directory)

    def _unwatch(self, directory: str) -> None:
        if self._backend is not None:
            self._backend.unwatch(directory)
        with self._stats_lock:
            self._watched.discard(directory)
            self._unwatched.discard(directory)

    def _mark_polled(self, directory: str) -> None:
        with self._stats_lock:
            self._unwatched.add(directory)

    def _poll_if_due(self) -> None:
        now = time.monotonic()
        if not self._unwatched or now < self._next_poll:
            return
        self._next_poll = now + POLL_INTERVAL_S
        for directory in sorted(self._unwatched):
            with self._stats_lock:
                self._unwatched.discard(directory)
            self._watch(directory)  # the limit may have been raised meanwhile
            for path, change in self._tree.refresh_dir(directory):
                self._record(path, change)
        self._sync_watches(report=True)


def _idle() -> None:
    """The job of a wake-up without work: only the duties after every job run."""


def _file_change(event: RawEvent) -> FileChangeType:
    if event.has(_APPEARED):
        return FileChangeType.Created
    if event.has(_VANISHED):
        return FileChangeType.Deleted
    return FileChangeType.Changed


def _shown(paths: list[str], total: int) -> str:
    return ", ".join(paths[:_SHOWN]) + (" …" if total > _SHOWN else "")


def _paths(folders: Iterable[str]) -> list[str]:
    """Workspace folders as paths (URIs are accepted too)."""
    paths = [file_path(f) or f for f in folders]
    return [os.path.normpath(p) for p in paths if p]
