"""Debounce and collapse: the events of one window reduced to each file's net effect.

Pure and clock-free: the caller passes the time (seconds, any monotonic origin). A
window closes when no event has arrived for `debounce` seconds. A generator that writes
for a long time keeps it open, so at `CAP_WINDOWS` debounce periods after the window
opened, the files that have been quiet for a debounce period go out anyway; a file
still being written waits for the next window (so one file is not split across two
batches by a write in flight), unless it has been pending for two caps. Within a window
the events of one key (a real path) collapse by what they say about the file before and
after the window:

| existed before | exists after | net effect |
|---|---|---|
| no  | no  | nothing (created, then deleted) |
| no  | yes | created |
| yes | no  | deleted |
| yes | yes | changed (many writes; or deleted, then created) |

A move is already two keys: a delete of the source and a create of the target.
"""

from __future__ import annotations

from dataclasses import dataclass

from gosidecar.file_events.lsp import FileChangeType

CAP_WINDOWS = 4
"""A window never stays open longer than this many debounce periods."""


@dataclass(frozen=True)
class NetChange:
    """What one window did to one key."""

    key: str
    change: FileChangeType | None
    """None when the window's events cancel out."""
    events: int
    """How many events were collapsed into this one."""
    fallback_uri: str | None = None
    """The URI an editor used for it, if the key came from the editor."""


@dataclass
class _Pending:
    first: FileChangeType
    last: FileChangeType
    events: int
    fallback_uri: str | None
    first_at: float
    last_at: float

    def net(self) -> FileChangeType | None:
        existed_before = self.first is not FileChangeType.Created
        exists_after = self.last is not FileChangeType.Deleted
        if existed_before and exists_after:
            return FileChangeType.Changed
        if existed_before:
            return FileChangeType.Deleted
        return FileChangeType.Created if exists_after else None


class Collapser:
    def __init__(self, debounce_s: float) -> None:
        self._pending: dict[str, _Pending] = {}
        self._window_start = 0.0
        self._last_event = 0.0
        self.debounce_s = debounce_s

    @property
    def debounce_s(self) -> float:
        return self._debounce_s

    @debounce_s.setter
    def debounce_s(self, seconds: float) -> None:
        self._debounce_s = max(0.0, seconds)

    def add(self, key: str, change: FileChangeType, now: float, fallback_uri: str | None = None) -> None:
        if not self._pending:
            self._window_start = now
        self._last_event = now
        pending = self._pending.get(key)
        if pending is None:
            self._pending[key] = _Pending(change, change, 1, fallback_uri, now, now)
            return
        pending.last = change
        pending.last_at = now
        pending.events += 1
        pending.fallback_uri = pending.fallback_uri or fallback_uri

    def due_at(self) -> float | None:
        """When the open window closes; None when nothing is pending."""
        if not self._pending:
            return None
        quiet_end = self._last_event + self._debounce_s
        cap_end = self._window_start + self._debounce_s * CAP_WINDOWS
        return min(quiet_end, cap_end)

    def take_due(self, now: float) -> list[NetChange]:
        """The net changes due by `now`, in arrival order."""
        due = self.due_at()
        if due is None or now < due:
            return []
        if now >= self._last_event + self._debounce_s:
            return self.take_all()
        cap = self._debounce_s * CAP_WINDOWS
        ready = [
            key
            for key, p in self._pending.items()
            if now - p.last_at >= self._debounce_s or now - p.first_at >= 2 * cap
        ]
        self._window_start = now
        return [self._net(key, self._pending.pop(key)) for key in ready]

    def take_all(self) -> list[NetChange]:
        pending, self._pending = self._pending, {}
        return [self._net(key, p) for key, p in pending.items()]

    @staticmethod
    def _net(key: str, pending: _Pending) -> NetChange:
        return NetChange(key, pending.net(), pending.events, pending.fallback_uri)

    def __len__(self) -> int:
        return len(self._pending)
