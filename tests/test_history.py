"""The Health Check's history: bounded memory, downsampling into buckets, a simulated day."""

from __future__ import annotations

import tracemalloc

from gosidecar.health import format_report, sparkline
from gosidecar.history import BUCKET_S, BUCKETS, RESTARTS_KEPT, History

START = 1_700_000_000.0  # a bucket boundary: 1_700_000_000 is a multiple of BUCKET_S
MIB = 1024 * 1024


class Clock:
    """Seconds since the epoch, moved by the test."""

    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> float:
        return self.now


def test_rss_samples_of_one_bucket_become_its_min_mean_and_max() -> None:
    clock = Clock()
    history = History(clock)
    for rss in (300, 100, 200):
        history.record_rss(rss * MIB)
        clock.now += 1
    clock.now = START + 2 * BUCKET_S  # one bucket without samples in between
    history.record_rss(50 * MIB)

    rss = history.to_dict()["rssBytes"]
    assert rss["min"] == [100 * MIB, None, 50 * MIB]
    assert rss["mean"] == [200 * MIB, None, 50 * MIB]
    assert rss["max"] == [300 * MIB, None, 50 * MIB]


def test_a_bucket_an_hour_old_is_reused_from_scratch() -> None:
    clock = Clock()
    history = History(clock)
    history.record_rss(900 * MIB)
    history.record_file_events(received=40, forwarded=3)
    clock.now += BUCKETS * BUCKET_S  # the same ring row, one hour later
    history.record_rss(10 * MIB)

    report = history.to_dict()
    assert len(report["rssBytes"]["max"]) == BUCKETS
    assert report["rssBytes"]["max"][-1] == 10 * MIB
    assert report["rssBytes"]["max"][0] is None, "a bucket older than the hour is still shown"
    assert sum(report["fileEvents"]["received"]) == 0


def test_file_events_received_and_forwarded_per_bucket() -> None:
    clock = Clock()
    history = History(clock)
    history.record_file_events(received=500, forwarded=20)
    clock.now += BUCKET_S
    history.record_file_events(received=3, forwarded=3)
    history.record_file_events(received=1, forwarded=1)

    events = history.to_dict()["fileEvents"]
    assert events == {"received": [500, 4], "forwarded": [20, 4]}


def test_latencies_fall_into_fixed_bins_and_acceptance_is_counted() -> None:
    history = History(Clock())
    for latency_ms in (0.5, 49.9, 50, 120, 5000, 99_999):
        history.record_latency(latency_ms)
    for _ in range(4):
        history.record_shown()
    history.record_accepted()

    report = history.to_dict()
    assert report["latencyMs"] == {"edges": [0, 50, 100, 200, 400, 800, 1600, 3200], "counts": [2, 1, 1, 0, 0, 0, 0, 2]}
    suggestions = report["suggestions"]
    assert (suggestions["shownTotal"], suggestions["acceptedTotal"]) == (4, 1)
    assert (suggestions["shown"], suggestions["accepted"]) == ([4], [1])


def simulate(history: History, clock: Clock, seconds: int) -> None:
    """A busy session at the watchdog's 2 Hz: growing RSS, event storms, suggestions, restarts."""
    first = round((clock.now - START) * 2)
    for tick in range(first, first + 2 * seconds):  # half-seconds since START
        clock.now = START + tick / 2
        history.record_rss((400 + tick % 1200) * MIB)
        if tick % 10 == 0:
            history.record_file_events(received=200, forwarded=7)
        if tick % 60 == 0:
            history.record_latency(tick % 2000)
            history.record_shown()
        if tick % 240 == 0:
            history.record_restart("rss-limit", 2048 * MIB)
            history.record_accepted()
    clock.now = START + (first + 2 * seconds) / 2


def test_a_simulated_day_takes_no_more_memory_than_an_hour() -> None:
    clock = Clock()
    tracemalloc.start()
    try:
        history = History(clock)
        simulate(history, clock, 3600)
        buckets_after_hour = len(history.to_dict()["rssBytes"]["mean"])
        after_hour, _ = tracemalloc.get_traced_memory()
        simulate(history, clock, 23 * 3600)
        after_day, _ = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    report_day = history.to_dict()

    print(f"\nhistory memory (tracemalloc): after 1 h {after_hour} B, after 24 h {after_day} B")
    assert after_day - after_hour < 4096, f"grew by {after_day - after_hour} B from hour 1 to hour 24"
    assert len(report_day["rssBytes"]["mean"]) == buckets_after_hour == BUCKETS
    assert len(report_day["restarts"]) == RESTARTS_KEPT
    assert report_day["suggestions"]["shownTotal"] == 24 * 3600 // 30
    assert sum(report_day["latencyMs"]["counts"]) == 24 * 3600 // 30
    assert None not in report_day["rssBytes"]["max"][:-1], "a bucket of the last hour lost its samples"
    assert report_day["rssBytes"]["max"][-1] is None, "the bucket just begun has a sample"


def test_sparklines_scale_to_the_top_and_leave_gaps() -> None:
    assert sparkline([0, 50, 100]) == "▁▅█"
    assert sparkline([None, 1024], top=2048) == " ▅"
    assert sparkline([0, 0]) == "▁▁"


def test_the_text_report_prints_the_history() -> None:
    clock = Clock()
    history = History(clock)
    for minute in range(30):
        history.record_rss((100 + 10 * minute) * MIB)
        history.record_file_events(received=1000 if minute == 12 else 1, forwarded=4 if minute == 12 else 1)
        clock.now += 60
    history.record_restart("rss-spike", 1500 * MIB)
    history.record_latency(120)
    history.record_shown()
    history.record_accepted()
    report = {"ok": True, "gopls": {"memoryLimitBytes": 2048 * MIB}, "history": history.to_dict()}

    text = format_report(report)

    def row(name: str) -> str:
        return next(line for line in text.splitlines() if line.strip().startswith(name))

    assert "last 30 min" in row("history")
    assert "now 390 MiB" in row("gopls RSS")
    assert "rss-spike (1500 MiB)" in row("restarts")
    received, forwarded = row("events received"), row("events forwarded")
    assert "█" in received and "1029" in received
    assert "█" not in forwarded and "33" in forwarded, "forwarded is drawn on the received scale"
    assert "1 shown, 1 accepted (100 %)" in row("ghost text")
