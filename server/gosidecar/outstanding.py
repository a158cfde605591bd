"""One table of outstanding requests per direction.

The router sees five directions: the editor's requests to gopls and to the sidecar, gopls's
requests to the editor, and the sidecar's own requests to gopls and to the editor. Each has
exactly one table, an `OutstandingRequests`, keyed by the id the answer will carry: an
answer is routed by taking its id out of the table it belongs to, and a restart settles a
gopls's tables all at once.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterator
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")
_TAKEN = object()
"""What `pop` gives for an id another thread took first."""


class OutstandingRequests(Generic[K, V]):
    """The requests sent one way and not answered yet: id → what the answer needs.

    Thread-safe without a lock of its own (it is on the hot path, twice per request): each
    operation is one dict operation (`setitem`, `pop`, `popitem`, `in`, a C-level copy), and
    the ids are ints and strings, so none can run Python code half way through.
    """

    def __init__(self, direction: str) -> None:
        self.direction = direction
        """Who asks whom, e.g. "editor->gopls" (for logs and test messages)."""
        self._pending: dict[K, V] = {}

    def __repr__(self) -> str:
        return f"OutstandingRequests({self.direction!r}, {len(self)} pending)"

    def add(self, msg_id: K, value: V) -> None:
        self._pending[msg_id] = value

    def take(self, msg_id: K | None) -> V | None:
        """The request `msg_id` answers, removed; None when it is not outstanding (any more)."""
        if msg_id is None:
            return None
        return self._pending.pop(msg_id, None)

    def cancel(self, value: V) -> list[K]:
        """Give up the requests waiting with `value`; returns their ids (to tell the other side)."""
        ids = [msg_id for msg_id, pending in list(self._pending.items()) if pending is value]
        return [msg_id for msg_id in ids if self._pending.pop(msg_id, _TAKEN) is not _TAKEN]

    def settle_all(self) -> list[V]:
        """Take every request (its peer is gone), oldest first: the caller retries or fails them.

        One at a time, so a request added meanwhile is either taken here or stays for the
        next peer, never lost."""
        settled: list[V] = []
        while self._pending:
            try:
                settled.append(self._pending.popitem()[1])
            except KeyError:  # emptied by another thread since the check
                break
        settled.reverse()
        return settled

    def __contains__(self, msg_id: object) -> bool:
        if not isinstance(msg_id, Hashable):  # e.g. a malformed $/cancelRequest's id
            return False
        return msg_id in self._pending

    def __len__(self) -> int:
        return len(self._pending)

    def __iter__(self) -> Iterator[K]:
        """The outstanding ids (a copy: the table may change meanwhile)."""
        return iter(list(self._pending))
