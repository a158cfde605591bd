"""inotify watches on real directories, through watchdog's inotify layer.

watchdog's `Observer` runs a thread per scheduled path and its recursive watches can
neither skip `.git`/`node_modules`/directoryFilters nor report a directory it failed to
watch, so this uses watchdog's `InotifyFD` directly: one inotify descriptor and one
reader thread, one watch per real directory that `tree` chose, and an `OSError(ENOSPC)`
the caller sees when the watch limit is reached. Raw events are handed to a sink
unchanged; turning them into file changes happens on the service's own thread.
"""

# String paths and os.path on purpose: this code runs for every inotify event and every
# directory entry, where pathlib objects cost several times as much.
# ruff: noqa: PTH118

from __future__ import annotations

import errno
import logging
import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol, cast

from watchdog.utils import UnsupportedLibcError

from gosidecar.file_events.inotify_bits import InotifyConstants

if TYPE_CHECKING:
    from watchdog.observers.inotify_c import InotifyEvent, Mask, WatchDescriptor

log = logging.getLogger(__name__)

_MASK = cast(
    "Mask",
    InotifyConstants.IN_CREATE
    | InotifyConstants.IN_DELETE
    | InotifyConstants.IN_MODIFY
    | InotifyConstants.IN_ATTRIB
    | InotifyConstants.IN_CLOSE_WRITE
    | InotifyConstants.IN_MOVED_FROM
    | InotifyConstants.IN_MOVED_TO
    | InotifyConstants.IN_DONT_FOLLOW
    | InotifyConstants.IN_ONLYDIR
    | InotifyConstants.IN_EXCL_UNLINK,
)


@dataclass(frozen=True)
class RawEvent:
    """One inotify event, its directory already resolved to the watched real path."""

    directory: str
    name: str
    mask: int

    @property
    def path(self) -> str:
        return os.path.join(self.directory, self.name) if self.name else self.directory

    @property
    def is_dir(self) -> bool:
        return bool(self.mask & InotifyConstants.IN_ISDIR)

    def has(self, flag: int) -> bool:
        return bool(self.mask & flag)


class WatchBackend(Protocol):
    """What the service needs from a watcher (a test may wrap the real one)."""

    def watch(self, real_dir: str) -> None: ...

    def unwatch(self, real_dir: str) -> None: ...

    def resolve(self, wd: int, name: bytes, mask: int) -> RawEvent | None: ...

    def close(self) -> None: ...


class WatchSink(Protocol):
    """Called on watchdog's reader thread: must only hand the event over."""

    def on_raw(self, wd: int, name: bytes, mask: int) -> None: ...

    def on_overflow(self) -> None: ...


class InotifyWatcher:
    """One inotify instance; `watch`/`unwatch`/`resolve` run on the service thread only."""

    def __init__(self, sink: WatchSink) -> None:
        # InotifyFD is watchdog >= 7 only, which needs Python >= 3.11: on 3.10 (watchdog 6)
        # the ImportError makes the service poll instead; so does a libc without inotify.
        try:
            from watchdog.observers.inotify_c import CallbackId, InotifyFD  # noqa: PLC0415
        except UnsupportedLibcError as error:
            raise ImportError(f"no inotify on this platform ({error})") from error

        self._sink = sink
        self._callback_id = CallbackId(id(self))
        self._dir_by_wd: dict[int, str] = {}
        self._wd_by_dir: dict[str, int] = {}
        self._fd = InotifyFD()
        self._fd.start()

    def watch(self, real_dir: str) -> None:
        """Watch one directory; raises OSError (ENOSPC at the watch limit)."""
        if real_dir in self._wd_by_dir:
            return
        wd = int(self._fd.add_callback(os.fsencode(real_dir), _MASK, self, self._callback_id))
        if wd < 0:  # watchdog swallows EACCES and returns the failed descriptor
            raise OSError(errno.EACCES, os.strerror(errno.EACCES), real_dir)
        self._dir_by_wd[wd] = real_dir
        self._wd_by_dir[real_dir] = wd

    def unwatch(self, real_dir: str) -> None:
        wd = self._wd_by_dir.pop(real_dir, None)
        if wd is None:
            return
        self._dir_by_wd.pop(wd, None)
        try:
            self._fd.remove_callbacks([(cast("WatchDescriptor", wd), self._callback_id)])
        except OSError as error:  # the directory is already gone
            log.debug("unwatch %s: %s", real_dir, error)

    def resolve(self, wd: int, name: bytes, mask: int) -> RawEvent | None:
        directory = self._dir_by_wd.get(wd)
        if directory is None:
            return None
        if mask & InotifyConstants.IN_IGNORED:
            self._dir_by_wd.pop(wd, None)
            if self._wd_by_dir.get(directory) == wd:
                del self._wd_by_dir[directory]
            return None
        return RawEvent(directory, os.fsdecode(name), mask)

    def close(self) -> None:
        self._fd.stop()
        self._fd.join(timeout=2)

    # watchdog's WatchCallback, called on its reader thread.

    def on_event(self, event: InotifyEvent) -> None:
        self._sink.on_raw(int(event.wd), event.name, int(event.mask))

    def on_watch_deleted(self, wd: int) -> None:
        self._sink.on_raw(wd, b"", int(InotifyConstants.IN_IGNORED))

    def on_queue_overflow(self) -> None:
        self._sink.on_overflow()


WatcherFactory = Callable[[WatchSink], WatchBackend]
