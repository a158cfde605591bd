"""Collapse rules and window timing, with the clock passed in."""

from __future__ import annotations

import pytest

from gosidecar.file_events.collapse import CAP_WINDOWS, Collapser, NetChange
from gosidecar.file_events.lsp import FileChangeType

CREATED, CHANGED, DELETED = FileChangeType.Created, FileChangeType.Changed, FileChangeType.Deleted


@pytest.mark.parametrize(
    ("events", "net"),
    [
        ([CREATED, DELETED], None),
        ([DELETED, CREATED], CHANGED),
        ([CHANGED] * 50, CHANGED),
        ([CREATED, CHANGED, CHANGED], CREATED),
        ([CHANGED, DELETED], DELETED),
        ([DELETED, CREATED, DELETED], DELETED),
        ([CREATED, DELETED, CREATED], CREATED),
        ([CREATED], CREATED),
    ],
)
def test_events_of_one_file_collapse_to_their_net_effect(
    events: list[FileChangeType], net: FileChangeType | None
) -> None:
    collapser = Collapser(0.1)
    for i, change in enumerate(events):
        collapser.add("/w/a.go", change, now=i * 0.001)
    assert collapser.take_all() == [NetChange("/w/a.go", net, len(events))]


def test_a_move_is_a_delete_and_a_create() -> None:
    collapser = Collapser(0.1)
    collapser.add("/w/old.go", DELETED, 0.0)
    collapser.add("/w/new.go", CREATED, 0.0)
    assert [(n.key, n.change) for n in collapser.take_all()] == [
        ("/w/old.go", DELETED),
        ("/w/new.go", CREATED),
    ]


def test_window_closes_after_a_quiet_debounce_period() -> None:
    collapser = Collapser(0.1)
    assert collapser.due_at() is None
    collapser.add("/w/a.go", CHANGED, 10.0)
    collapser.add("/w/a.go", CHANGED, 10.05)
    assert collapser.due_at() == pytest.approx(10.15)
    assert collapser.take_due(10.149) == []
    assert len(collapser.take_due(10.15)) == 1
    assert len(collapser) == 0


def test_a_long_burst_still_flushes_at_the_cap() -> None:
    collapser = Collapser(0.1)
    flushed_at = []
    for step in range(100):  # an event every 50 ms for 5 s
        now = step * 0.05
        if collapser.take_due(now):
            flushed_at.append(now)
        collapser.add(f"/w/f{step}.go", CREATED, now)
    assert flushed_at
    assert flushed_at[0] == pytest.approx(0.1 * CAP_WINDOWS)
    assert len(flushed_at) >= 10


def test_editor_uri_is_kept_as_a_fallback() -> None:
    collapser = Collapser(0.1)
    collapser.add("/w/a.go", CHANGED, 0.0)
    collapser.add("/w/a.go", CHANGED, 0.0, fallback_uri="file:///alias/a.go")
    assert collapser.take_all()[0].fallback_uri == "file:///alias/a.go"


def test_zero_debounce_flushes_at_once() -> None:
    collapser = Collapser(0)
    collapser.add("/w/a.go", CHANGED, 5.0)
    assert collapser.take_due(5.0)


def test_at_the_cap_a_file_still_being_written_waits_for_the_next_window() -> None:
    collapser = Collapser(0.1)
    collapser.add("/w/done.go", CREATED, 0.0)
    for step in range(9):  # /w/hot.go is written every 50 ms until 0.4 s
        collapser.add("/w/hot.go", CHANGED, step * 0.05)
    assert [n.key for n in collapser.take_due(0.1 * CAP_WINDOWS)] == ["/w/done.go"]
    assert [n.key for n in collapser.take_due(0.5)] == ["/w/hot.go"]


def test_a_file_written_without_pause_still_flushes_after_two_caps() -> None:
    collapser = Collapser(0.1)
    flushed = []
    for step in range(40):  # every 50 ms for 2 s
        now = step * 0.05
        flushed += collapser.take_due(now)
        collapser.add("/w/hot.go", CHANGED, now)
    assert flushed
    assert flushed[0].events <= 2 * CAP_WINDOWS * 2 + 1
