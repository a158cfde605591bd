"""One table of outstanding requests per direction.

The router sees five directions: the editor's requests to gopls and to the sidecar, gopls's
requests to the editor, and the sidecar's own requests to gopls and to the editor. Each has
exactly one table, an `OutstandingRequests`, keyed by the id the answer will carry: an
answer is routed by taking its id out of the table it belongs to, and a restart settles a
gopls's tables all at once.
"""

from __future__ import annotations

import threading
from collections.abc import Hashable, Iterator
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class OutstandingRequests(Generic[K, V]):
    """The requests sent one way and not answered yet: id → what the answer needs.

    Thread-safe: the two reader threads, the sidecar's threads and a restart use it at once.
    """

    def __init__(self, direction: str) -> None:
        self.direction = direction
        """Who asks whom, e.g. "editor->gopls" (for logs and test messages)."""
        self._lock = threading.Lock()
        self._pending: dict[K, V] = {}

    def __repr__(self) -> str:
        return f"OutstandingRequests({self.direction!r}, {len(self)} pending)"

    def add(self, msg_id: K, value: V) -> None:
        with self._lock:
            self._pending[msg_id] = value

    def take(self, msg_id: K | None) -> V | None:
        """The request `msg_id` answers, removed; None when it is not outstanding (any more)."""
        if msg_id is None:
            return None
        with self._lock:
            return self._pending.pop(msg_id, None)

    def cancel(self, value: V) -> list[K]:
        """Give up the requests waiting with `value`; returns their ids (to tell the other side)."""
        with self._lock:
            ids = [msg_id for msg_id, pending in self._pending.items() if pending is value]
            for msg_id in ids:
                del self._pending[msg_id]
        return ids

    def settle_all(self) -> list[V]:
        """Take every request at once (its peer is gone): the caller retries or fails them."""
        with self._lock:
            settled, self._pending = list(self._pending.values()), {}
        return settled

    def __contains__(self, msg_id: object) -> bool:
        if not isinstance(msg_id, Hashable):  # e.g. a malformed $/cancelRequest's id
            return False
        with self._lock:
            return msg_id in self._pending

    def __len__(self) -> int:
        return len(self._pending)

    def __iter__(self) -> Iterator[K]:
        """The outstanding ids (a copy: the table may change meanwhile)."""
        with self._lock:
            return iter(list(self._pending))
