"""The gopls link's restart transaction, in process: no gopls, no subprocess.

A stand-in process records what is written to it; its reader is a pump the test ends.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, cast

from gosidecar.gopls_link import GoplsLink, LinkState
from gosidecar.gopls_process import GoplsProcess
from gosidecar.message import Message, notification, request
from tests.support import wait_until


class _Writer:
    def __init__(self) -> None:
        self.written: list[Message] = []

    def write(self, body: bytes) -> bool:
        self.written.append(Message(body))
        return True


class _Process:
    def __init__(self) -> None:
        self.writer = _Writer()
        self.stream_ended = threading.Event()

    def close_output(self) -> None:
        pass

    @property
    def sent(self) -> list[Any]:
        return [message.id if message.id is not None else message.method for message in self.writer.written]


class Harness:
    def __init__(self, backlog_limit: int = 4096) -> None:
        self.rejected: list[tuple[Any, str]] = []
        self.exits: list[int] = []
        self.link = GoplsLink(threading.RLock(), self._pump, self._reject, backlog_limit)
        self.link.on_exit(self.exits.append)

    @staticmethod
    def _pump(process: GoplsProcess, generation: int) -> None:
        cast("_Process", process).stream_ended.wait(30)

    def _reject(self, message: Message, reason: str) -> None:
        self.rejected.append((message.id if message.id is not None else message.method, reason))

    def start(self) -> _Process:
        process = _Process()
        self.link.replace(cast("GoplsProcess", process), lambda: None)
        assert self.link.open()
        return process


@contextmanager
def into(passed: bytearray) -> Iterator[Callable[[memoryview], None]]:
    """The editor's end of a large answer being passed on."""
    yield passed.extend


def held_by_another_thread(lock: Any) -> bool:
    if lock.acquire(blocking=False):
        lock.release()
        return False
    return True


def hover(msg_id: int) -> Message:
    return request(msg_id, "textDocument/hover", {})


def did_change() -> Message:
    return notification("textDocument/didChange", {})


def test_requests_beyond_the_backlog_bound_are_answered_with_an_error_at_once() -> None:
    harness = Harness(backlog_limit=3)
    harness.link.retire("gopls is restarting", retry=lambda m: True)
    for msg_id in range(1, 6):
        harness.link.send(hover(msg_id))
    assert [msg_id for msg_id, _ in harness.rejected] == [4, 5]
    assert "3 messages are waiting" in harness.rejected[0][1]
    assert harness.link.backlog_size == 3


def test_edits_before_the_snapshot_do_not_fill_the_backlog() -> None:
    harness = Harness(backlog_limit=2)
    harness.link.retire("restarting", retry=lambda m: True)
    for _ in range(10):
        harness.link.send(did_change())  # the snapshot still to be taken carries them
    assert harness.link.backlog_size == 0
    assert not harness.rejected


def test_an_edit_dropped_after_the_snapshot_makes_the_replay_start_over() -> None:
    harness = Harness(backlog_limit=1)
    harness.link.retire("restarting", retry=lambda m: True)
    new = _Process()
    harness.link.replace(cast("GoplsProcess", new), lambda: None)
    harness.link.send(did_change())
    harness.link.send(did_change())  # over the bound: the snapshot lacks it
    assert not harness.link.open(), "a replay missing an edit was opened"
    harness.link.retire("the replay is taken again", retry=lambda m: True)
    newer = _Process()
    harness.link.replace(cast("GoplsProcess", newer), lambda: None)
    assert harness.link.open()
    assert newer.sent == []  # both edits are in the new snapshot


def test_a_request_in_flight_is_retried_once_and_never_also_backlogged() -> None:
    harness = Harness()
    old = harness.start()
    harness.link.send(hover(1))
    harness.link.send(request(2, "textDocument/rename", {}))
    assert old.sent == [1, 2]
    retired = harness.link.retire("restarting", retry=lambda m: m.method == "textDocument/hover")
    assert [m.id for m in retired.unanswered] == [2]
    harness.link.send(hover(3))  # arrives during the restart
    new = harness.start()
    assert new.sent == [1, 3]
    assert set(harness.link.in_flight) == {1, 3}


def test_a_retired_gopls_no_longer_counts_and_its_end_is_no_crash() -> None:
    harness = Harness()
    old = harness.start()
    assert harness.link.generation == 1
    retired = harness.link.retire("restarting", retry=lambda m: True)
    assert harness.link.generation == 0, "the retired gopls's late answers would still be routed"
    old.stream_ended.set()
    assert retired.reader is not None
    retired.reader.join(30)
    assert not harness.exits
    harness.start()
    assert harness.link.generation == 2


def test_a_serving_gopls_that_dies_is_reported_and_its_requests_wait() -> None:
    harness = Harness()
    process = harness.start()
    process.stream_ended.set()
    reader = harness.link._reader
    assert reader is not None
    reader.join(30)
    assert harness.exits == [1]
    assert harness.link.state is LinkState.STARTING
    harness.link.send(hover(7))
    assert harness.link.backlog_size == 1 and not harness.rejected


def test_a_new_gopls_that_dies_during_its_replay_is_refused_by_open() -> None:
    harness = Harness()
    harness.link.retire("restarting", retry=lambda m: True)
    new = _Process()
    harness.link.replace(cast("GoplsProcess", new), lambda: None)
    new.stream_ended.set()
    reader = harness.link._reader
    assert reader is not None
    reader.join(30)
    assert not harness.link.open()
    assert not harness.exits, "a gopls that never served was taken for a crash"


def test_giving_up_answers_everything_waiting_with_the_reason() -> None:
    harness = Harness()
    harness.link.retire("restarting", retry=lambda m: True)
    harness.link.send(hover(1))
    harness.link.go_down("gopls was restarted 5 times and is stopped")
    harness.link.send(hover(2))
    reason = "gopls was restarted 5 times and is stopped"
    assert harness.rejected == [(1, reason), (2, reason)]


def test_a_large_answer_being_passed_on_is_never_also_retried() -> None:
    harness = Harness()
    harness.start()
    harness.link.send(hover(1))
    passed = bytearray()
    may_finish = threading.Event()

    def pass_answer() -> None:
        with harness.link.pass_answer(1, into(passed)) as write:
            write(memoryview(b'{"jsonrpc":"2.0","result":"' + b"x" * 2000))
            may_finish.wait(30)
            write(memoryview(b'","id":1}'))

    passing = threading.Thread(target=pass_answer)
    passing.start()
    wait_until(lambda: passed, 30, "the answer to start")
    retired: list[Any] = []
    retiring = threading.Thread(target=lambda: retired.append(harness.link.retire("restart", retry=lambda m: True)))
    retiring.start()
    # The retire is done, or waits for the answer (holding the client lock meanwhile).
    client_lock = harness.link._client_lock
    wait_until(lambda: retired or held_by_another_thread(client_lock), 30, "the retire")
    may_finish.set()
    passing.join(30)
    retiring.join(30)
    new = harness.start()
    assert passed.endswith(b'"id":1}')
    assert new.sent == [], "request 1 was answered by the old gopls and retried on the new one"


def test_a_large_answer_of_a_retired_gopls_is_dropped() -> None:
    harness = Harness()
    harness.start()
    harness.link.retire("restart", retry=lambda m: True)
    passed = bytearray()

    with harness.link.pass_answer(1, into(passed)) as write:
        write(memoryview(b'{"jsonrpc":"2.0","result":null,"id":1}'))
    assert not passed
