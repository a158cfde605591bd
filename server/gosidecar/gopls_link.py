"""The sidecar's link to the current gopls: one owner for everything a restart changes.

The router (`proxy.py`) only routes; what depends on which gopls is running lives here:
the process and the number of its generation, the backlog of messages that wait for a
new gopls, and the tables of requests to and from gopls (`outstanding.py`): the client's
requests it has not answered yet, its requests to the editor, and the sidecar's own.

A restart is a transaction of three steps, driven by the supervisor:

- `retire` cuts the current gopls off: from then on its late words are dropped, the
  requests it never answered go back to the front of the backlog (the safe ones) or to
  the caller (the others, to be failed), and the sidecar's own requests fail.
- `replace` attaches a new gopls and takes the replay's snapshot of the editor state at
  a clean cut of the backlog.
- `open` flushes the backlog once the replay is done; when the replay failed, the caller
  `retire`s the new gopls instead and tries again (or gives up with `go_down`).

`retire` and `replace` run under the client lock, so no editor message is routed half
way through them, and every step runs under the link lock, so no other thread writes to
gopls half way through one. A client request is in exactly one place: the backlog (not
yet written to a gopls) or `in_flight` (written to the current gopls), never both.
"""

from __future__ import annotations

import enum
import logging
import threading
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, TypeVar

from .framing import Sink
from .gopls_process import GoplsProcess
from .message import Kind, Message, MessageId, tail_id
from .outstanding import OutstandingRequests

logger = logging.getLogger(__name__)

T = TypeVar("T")
Pump = Callable[[GoplsProcess, int], None]
"""Reads one gopls's messages until its stream ends (the router's gopls side)."""
Reject = Callable[[Message, str], None]
"""Answers a request that cannot reach gopls with an error; drops anything else."""

_TAIL_BYTES = 128
_STREAM_WAIT_S = 2.0
"""How long a retire waits for a large answer being passed on before it kills its gopls."""

BACKLOG_LIMIT = 4096
"""Messages that may wait for a new gopls. Beyond it, requests are answered with an error
at once and notifications are dropped (see `GoplsLink.send`)."""

REPLAYED_METHODS = frozenset(
    {
        "textDocument/didOpen",
        "textDocument/didChange",
        "textDocument/didClose",
        "workspace/didChangeConfiguration",
        "workspace/didChangeWorkspaceFolders",
    }
)
"""Client notifications whose effect the replay's snapshot carries (see supervisor)."""


class LinkState(enum.Enum):
    STARTING = "starting"  # messages wait in the backlog
    READY = "ready"
    DOWN = "down"  # no gopls and none coming: requests get errors at once


@dataclass(frozen=True)
class GoplsRequest:
    """A request of gopls to the editor, waiting for the editor's answer."""

    generation: int
    """The gopls that sent it: an answer reaches only that one."""
    message: Message
    """As gopls sent it (its own id)."""


def editor_id(generation: int, gopls_id: MessageId) -> MessageId:
    """The id the editor sees for gopls `generation`'s request `gopls_id`.

    A new gopls numbers its requests from 1 again, so after a restart its ids get a
    generation prefix: an answer still on its way to an id of the old gopls would
    otherwise reach the new one.
    """
    return gopls_id if generation == 1 else f"gopls{generation}:{gopls_id}"


@dataclass(frozen=True)
class Retired:
    """What a retired gopls leaves to its caller."""

    process: GoplsProcess | None
    reader: threading.Thread | None
    unanswered: list[Message]
    """The client's requests it never answered that may not be retried."""


class GoplsLink:
    def __init__(
        self, client_lock: threading.RLock, pump: Pump, reject: Reject, backlog_limit: int = BACKLOG_LIMIT
    ) -> None:
        self._client_lock = client_lock
        self._pump = pump
        self._reject = reject
        self._backlog_limit = backlog_limit
        self._lock = threading.RLock()
        self._answer_lock = threading.Lock()
        """Held while a large answer is passed on: a retire waits for it (see pass_answer)."""
        self.state = LinkState.STARTING
        self.down_reason = "gopls is not running"
        self.process: GoplsProcess | None = None
        self._attached = 0
        self._live = False
        self._reader: threading.Thread | None = None
        self._reader_ended = False
        self._backlog: list[Message] = []
        self._cut: int | None = None
        """Backlog messages before this index are in the replay's snapshot; None: no snapshot yet."""
        self._stale = False
        """A message the snapshot does not carry was dropped: the replay must be taken again."""
        self._exit_listeners: list[Callable[[int], None]] = []
        self._retire_listeners: list[Callable[[int], None]] = []
        self.before_write: Callable[[Message], None] = lambda message: None
        # A retire settles all three: they belong to the gopls being replaced.
        self.in_flight: OutstandingRequests[MessageId, Message] = OutstandingRequests("editor->gopls")
        """The client's requests written to the current gopls and not answered yet."""
        self.gopls_requests: OutstandingRequests[MessageId, GoplsRequest] = OutstandingRequests("gopls->editor")
        """Keyed by the id the editor sees (`editor_id`)."""
        self.own_requests: OutstandingRequests[str, Future[Any]] = OutstandingRequests("sidecar->gopls")
        """The sidecar's own requests, answered through these futures."""

    @property
    def generation(self) -> int:
        """The number of the gopls whose messages count (1 for the first); 0 while none does."""
        return self._attached if self._live else 0

    @property
    def backlog_size(self) -> int:
        return len(self._backlog)

    def on_exit(self, listener: Callable[[int], None]) -> None:
        """`listener(generation)` runs when a gopls that was serving the editor goes away.

        A gopls that dies before `open` is the restart transaction's business: its
        replay fails (the sidecar's requests to it fail at once) and `open` refuses it.
        """
        self._exit_listeners.append(listener)

    def on_retired(self, listener: Callable[[int], None]) -> None:
        """`listener(generation)` runs after each `retire` of a gopls: what it was told is void."""
        self._retire_listeners.append(listener)

    # ----- routing ------------------------------------------------------------------

    def send(self, message: Message) -> None:
        """Write to gopls, or queue while a new one is coming, or reject when none is."""
        with self._lock:
            if self.state is LinkState.READY:
                self.write_now(message)
                return
            if self.state is LinkState.STARTING and self._queue(message):
                return
            reason = self.down_reason if self.state is LinkState.DOWN else self._overflow_reason()
        self._reject(message, reason)

    def write_now(self, message: Message) -> None:
        """Write to the current gopls, past the backlog (the replay, and the backlog's flush)."""
        with self._lock:
            if message.kind is Kind.REQUEST and message.id is not None and message.id not in self.own_requests:
                self.in_flight.add(message.id, message)
            self.before_write(message)
            process = self.process
            if process is None or not process.writer.write(message.body):
                logger.debug("gopls is not there to receive %r", message)

    def _queue(self, message: Message) -> bool:
        """Backlog a message; False when it must be rejected instead (the backlog is full)."""
        carried = _carried(message)
        if carried and self._cut is None:
            return True  # the snapshot still to be taken will carry it
        if len(self._backlog) < self._backlog_limit:
            self._backlog.append(message)
            return True
        if carried:
            self._stale = True  # dropped here, so this replay must be taken again
        logger.warning("gopls backlog full (%d messages): %s refused", self._backlog_limit, message)
        return False

    @contextmanager
    def pass_answer(self, generation: int, sink: Sink) -> Iterator[Callable[[memoryview], None]]:
        """Pass a large answer of gopls `generation` on to the editor as it arrives.

        The request it answers leaves `in_flight` before a retire can run, so it is never
        both answered here and retried; an answer of a gopls retired meanwhile is read
        and dropped.
        """
        with self._answer_lock:
            if generation != self.generation:
                yield lambda data: None
                return
            tail = bytearray()
            with sink as write:

                def write_noting_tail(data: memoryview) -> None:
                    write(data)
                    tail[:] = (bytes(tail) + bytes(data[-_TAIL_BYTES:]))[-_TAIL_BYTES:]

                yield write_noting_tail
            answered = tail_id(bytes(tail))
            self.in_flight.take(answered)

    def _overflow_reason(self) -> str:
        return f"{self.down_reason} ({self._backlog_limit} messages are waiting already): try again"

    # ----- the restart transaction ---------------------------------------------------

    def retire(self, reason: str, retry: Callable[[Message], bool]) -> Retired:
        """Cut the current gopls off; its unanswered requests for which `retry` is true go
        to the front of the backlog, the others are returned for the caller to fail."""
        with self._client_lock, self._answer_passed(), self._lock:
            self.state = LinkState.STARTING
            self.down_reason = reason
            generation = self.generation
            process, self.process = self.process, None
            reader, self._reader = self._reader, None
            self._live = False
            self._cut = None
            unanswered = self.in_flight.settle_all()
            self.gopls_requests.settle_all()  # the editor's late answers are dropped
            own = self.own_requests.settle_all()
            self._backlog[:0] = [message for message in unanswered if retry(message)]
        _fail(own, reason)
        for listener in self._retire_listeners:
            listener(generation)
        return Retired(process, reader, [message for message in unanswered if not retry(message)])

    @contextmanager
    def _answer_passed(self) -> Iterator[None]:
        """Wait for a large answer being passed on; a gopls stuck in the middle of one is killed."""
        if not self._answer_lock.acquire(timeout=_STREAM_WAIT_S):
            if self.process is not None:
                self.process.kill()  # its stream ends, padded: the answer's passing ends with it
            self._answer_lock.acquire()
        try:
            yield
        finally:
            self._answer_lock.release()

    def replace(self, process: GoplsProcess, snapshot: Callable[[], T]) -> T:
        """Attach a new gopls (its messages count from now on) and take the replay's snapshot.

        The client's messages are recorded by hooks and queued under the client lock, so
        every message queued before the cut is in the snapshot and none after it is.
        """
        with self._client_lock, self._lock:
            result = snapshot()
            self._cut = len(self._backlog)
            self._stale = False
            self.process = process
            self._attached += 1
            self._live = True
            self._reader_ended = False
            self._reader = threading.Thread(
                target=self._read, args=(process, self._attached), name=f"gopls-reader-{self._attached}", daemon=True
            )
            self._reader.start()
        return result

    def open(self) -> bool:
        """The replay is done: flush the backlog, then pass through.

        False (nothing sent) when the new gopls is already gone or the backlog overflowed
        with messages the snapshot lacks: the caller retires it and tries again.
        Backlogged messages from before the cut that the snapshot carries are dropped.
        """
        with self._lock:
            if self._reader_ended or self._stale or self._cut is None:
                return False
            cut = self._cut
            for index, message in enumerate(self._backlog):
                if index >= cut or not _carried(message):
                    self.write_now(message)
            self._backlog.clear()
            self._cut = None
            self.state = LinkState.READY
            return True

    def go_down(self, reason: str) -> None:
        """No gopls and none coming: everything waiting, and all that follows, gets an error."""
        with self._lock:
            self.state = LinkState.DOWN
            self.down_reason = reason
            self._cut = None
            rejected, self._backlog = self._backlog, []
        for message in rejected:
            self._reject(message, reason)

    # ----- the reader thread ------------------------------------------------------------

    def _read(self, process: GoplsProcess, generation: int) -> None:
        try:
            self._pump(process, generation)
        finally:
            process.close_output()  # only now: this thread owned the descriptor
            self._reader_exited(generation)

    def _reader_exited(self, generation: int) -> None:
        with self._lock:
            if generation != self.generation:
                return  # retired: its end is expected
            self._reader_ended = True
            own = self.own_requests.settle_all()
            serving = self.state is LinkState.READY
            if serving:
                self.state = LinkState.STARTING
                self.down_reason = "gopls exited and is restarting"
        _fail(own, "gopls exited")
        if serving:
            for listener in self._exit_listeners:
                listener(generation)


def _carried(message: Message) -> bool:
    return message.kind is Kind.NOTIFICATION and message.method in REPLAYED_METHODS


def _fail(futures: Sequence[Future[Any]], reason: str) -> None:
    for future in futures:
        if not future.done():
            future.set_exception(ConnectionError(reason))
