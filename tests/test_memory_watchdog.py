"""The RSS watchdog against real processes that allocate memory on cue.

The spike policy in these tests keeps the production ratios and sigmas but shrinks the
time windows and the absolute floor, so a load, a settle and a spike fit in a few
hundred MiB. The watchdog's clock is a SteppingClock: time moves on per sample, so the
tests wait for samples and for the load to settle instead of sleeping through windows.
"""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import replace

import psutil
import pytest

from gosidecar.memory_watchdog import (
    DEFAULT_SPIKE_POLICY,
    LIMIT_CONSECUTIVE_SAMPLES,
    MiB,
    RssWatchdog,
    SpikeDetector,
    Trip,
)
from tests.support import wait_until

# Reads commands from stdin, answers each with "ok" once it is done:
#   alloc N   keep N more MiB resident (written, so the pages are really there)
#   spawn N   start a grandchild that keeps N MiB resident
ALLOCATOR = r"""
import subprocess, sys
held, children = [], []
for line in sys.stdin:
    command, size = line.split()
    if command == "alloc":
        held.append(b"x" * (int(size) << 20))
    else:
        child = subprocess.Popen([sys.executable, "-c", sys.argv[1]], stdin=subprocess.PIPE,
                                 stdout=subprocess.PIPE, text=True)
        child.stdin.write(f"alloc {size}\n"); child.stdin.flush(); child.stdout.readline()
        children.append(child)
    print("ok", flush=True)
for child in children:
    child.stdin.close(); child.wait()
"""

FAST_INTERVAL_S = 0.05
SAMPLE_WAIT_S = 30.0  # generous: a loaded machine samples late, and nothing here counts real time
FAST_POLICY = replace(
    DEFAULT_SPIKE_POLICY,
    load_grace_min_s=1.0,
    stable_window_s=0.5,
    floor_bytes=64 * MiB,
    sustain_samples=4,
)


class Allocator:
    """A real child process whose memory the test drives."""

    def __init__(self) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-c", ALLOCATOR, ALLOCATOR],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )

    @property
    def pid(self) -> int:
        return self.process.pid

    def command(self, command: str, mib: int) -> None:
        assert self.process.stdin is not None and self.process.stdout is not None
        self.process.stdin.write(f"{command} {mib}\n")
        self.process.stdin.flush()
        assert self.process.stdout.readline().strip() == "ok"

    def close(self) -> None:
        if self.process.poll() is None:
            assert self.process.stdin is not None
            self.process.stdin.close()
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


class SteppingClock:
    """The watchdog reads its clock once per sample; each read moves time on by `step_s`."""

    def __init__(self, step_s: float = 0.25) -> None:
        self.step_s = step_s
        self.reads = 0
        self._running = threading.Event()
        self._running.set()

    def __call__(self) -> float:
        self._running.wait()
        self.reads += 1
        return self.reads * self.step_s

    @contextmanager
    def stopped(self) -> Iterator[None]:
        """Time stands still (the sampler waits at the clock): what happens meanwhile is
        one instant to the watchdog, however long a loaded machine takes for it."""
        self._running.clear()
        try:
            yield
        finally:
            self._running.set()

    def wait_for_samples(self, count: int) -> None:
        target = self.reads + count
        wait_until(lambda: self.reads >= target, SAMPLE_WAIT_S, f"{count} more samples")


class TripRecorder:
    def __init__(self) -> None:
        self.trips: list[Trip] = []
        self._tripped = threading.Event()

    def __call__(self, trip: Trip) -> None:
        self.trips.append(trip)
        self._tripped.set()

    def wait(self, timeout_s: float) -> bool:
        return self._tripped.wait(timeout_s)


@pytest.fixture
def allocator() -> Iterator[Allocator]:
    child = Allocator()
    yield child
    child.close()


@pytest.fixture
def recorder() -> TripRecorder:
    return TripRecorder()


@pytest.fixture
def make_watchdog() -> Iterator[Callable[..., RssWatchdog]]:
    made: list[RssWatchdog] = []

    def make(
        on_trip: Callable[[Trip], None],
        limit_bytes: int = 0,
        clock: SteppingClock | None = None,
    ) -> RssWatchdog:
        watchdog = RssWatchdog(on_trip, limit_bytes, FAST_INTERVAL_S, clock or SteppingClock(), FAST_POLICY)
        made.append(watchdog)
        return watchdog

    yield make
    for watchdog in made:
        watchdog.stop()


def quiet_period() -> None:
    """Ten sampling intervals in which nothing may happen: a deliberate sleep, the window
    a wrong trip would need, for the cases with no sample to wait for."""
    time.sleep(10 * FAST_INTERVAL_S)


def wait_settled(watchdog: RssWatchdog) -> None:
    wait_until(lambda: watchdog.judging_spikes, SAMPLE_WAIT_S, "the load to settle")


def settled_watchdog(
    allocator: Allocator, recorder: TripRecorder, make_watchdog: Callable[..., RssWatchdog]
) -> tuple[RssWatchdog, SteppingClock]:
    """A watchdog on the allocator, on a stepping clock, past the load: judging spikes."""
    clock = SteppingClock()
    watchdog = make_watchdog(recorder, clock=clock)
    watchdog.watch(allocator.pid)
    wait_settled(watchdog)
    return watchdog, clock


def test_measures_the_whole_process_tree(
    allocator: Allocator,
    recorder: TripRecorder,
    make_watchdog: Callable[..., RssWatchdog],
) -> None:
    allocator.command("spawn", 60)
    allocator.command("spawn", 60)
    watchdog = make_watchdog(recorder)
    watchdog.watch(allocator.pid)

    wait_until(lambda: watchdog.rss_bytes > 120 * MiB, SAMPLE_WAIT_S, "the tree's RSS")
    own = psutil.Process(allocator.pid).memory_info().rss
    assert own < 60 * MiB, "the grandchildren hold the memory, not the child"
    assert watchdog.peak_rss_bytes >= watchdog.rss_bytes
    assert recorder.trips == []


def test_limit_trips_once_after_consecutive_samples(
    allocator: Allocator,
    recorder: TripRecorder,
    make_watchdog: Callable[..., RssWatchdog],
) -> None:
    clock = SteppingClock()
    samples_at_trips: list[int] = []

    def on_trip(trip: Trip) -> None:
        samples_at_trips.append(clock.reads)
        recorder(trip)

    allocator.command("alloc", 100)
    watchdog = make_watchdog(on_trip, limit_bytes=50 * MiB, clock=clock)
    watchdog.watch(allocator.pid)

    assert recorder.wait(SAMPLE_WAIT_S)
    assert samples_at_trips == [LIMIT_CONSECUTIVE_SAMPLES]
    (trip,) = recorder.trips
    assert trip.reason == "rss-limit"
    assert trip.rss_bytes > 100 * MiB
    assert "50 MiB limit" in trip.detail

    clock.wait_for_samples(10)
    assert len(recorder.trips) == 1, "stays quiet until watch() is called again"

    watchdog.watch(allocator.pid)
    wait_until(lambda: len(recorder.trips) == 2, SAMPLE_WAIT_S, "a trip after watch()")


def test_limit_zero_is_off_and_set_limit_applies_live(
    allocator: Allocator,
    recorder: TripRecorder,
    make_watchdog: Callable[..., RssWatchdog],
) -> None:
    allocator.command("alloc", 100)
    clock = SteppingClock()
    watchdog = make_watchdog(recorder, limit_bytes=0, clock=clock)
    watchdog.watch(allocator.pid)
    wait_until(lambda: watchdog.rss_bytes > 100 * MiB, SAMPLE_WAIT_S, "the tree's RSS")
    clock.wait_for_samples(10)
    assert recorder.trips == []

    watchdog.set_limit(50 * MiB)
    assert recorder.wait(SAMPLE_WAIT_S)
    assert [trip.reason for trip in recorder.trips] == ["rss-limit"]


def test_real_spike_after_the_load_trips(
    allocator: Allocator,
    recorder: TripRecorder,
    make_watchdog: Callable[..., RssWatchdog],
) -> None:
    _, clock = settled_watchdog(allocator, recorder, make_watchdog)
    assert recorder.trips == []

    with clock.stopped():
        allocator.command("alloc", 300)

    assert recorder.wait(SAMPLE_WAIT_S)
    (trip,) = recorder.trips
    assert trip.reason == "rss-spike"
    assert trip.rss_bytes > 300 * MiB
    assert "baseline" in trip.detail


def test_turning_spike_restarts_off_applies_to_the_running_session(
    allocator: Allocator,
    recorder: TripRecorder,
    make_watchdog: Callable[..., RssWatchdog],
) -> None:
    watchdog, clock = settled_watchdog(allocator, recorder, make_watchdog)

    watchdog.set_spike_policy(replace(FAST_POLICY, enabled=False))  # spikeMB set to 0
    with clock.stopped():
        allocator.command("alloc", 300)
    wait_until(lambda: watchdog.rss_bytes > 300 * MiB, SAMPLE_WAIT_S, "the spike's RSS")
    clock.wait_for_samples(10)
    assert recorder.trips == []


def test_spike_in_a_grandchild_counts(
    allocator: Allocator,
    recorder: TripRecorder,
    make_watchdog: Callable[..., RssWatchdog],
) -> None:
    _, clock = settled_watchdog(allocator, recorder, make_watchdog)

    with clock.stopped():
        allocator.command("spawn", 300)

    assert recorder.wait(SAMPLE_WAIT_S)
    assert [trip.reason for trip in recorder.trips] == ["rss-spike"]


def test_workspace_load_ramp_never_trips(
    allocator: Allocator,
    recorder: TripRecorder,
    make_watchdog: Callable[..., RssWatchdog],
) -> None:
    clock = SteppingClock(step_s=0.1)
    watchdog = make_watchdog(recorder, clock=clock)
    watchdog.watch(allocator.pid)
    allocator.command("spawn", 20)  # like `go list` at the start of a load
    for _ in range(30):  # a 3 s ramp to ~330 MiB, far past any spike threshold of the start
        allocator.command("alloc", 10)
        clock.wait_for_samples(1)  # 10 MiB per 0.1 s: faster than "flat" allows
    wait_settled(watchdog)
    clock.wait_for_samples(10)

    assert watchdog.rss_bytes > 300 * MiB
    assert recorder.trips == []


def test_vanished_process_never_trips(
    allocator: Allocator,
    recorder: TripRecorder,
    make_watchdog: Callable[..., RssWatchdog],
) -> None:
    allocator.command("alloc", 100)
    watchdog = make_watchdog(recorder, limit_bytes=1000 * MiB)
    watchdog.watch(allocator.pid)
    wait_until(lambda: watchdog.rss_bytes > 100 * MiB, SAMPLE_WAIT_S, "the tree's RSS")

    allocator.process.kill()
    allocator.process.wait()
    watchdog.set_limit(1)
    wait_until(lambda: watchdog.rss_bytes == 0, SAMPLE_WAIT_S, "the watchdog to see it gone")
    # A gone process is not sampled (no clock read to wait for): a wrong trip would
    # come within a few intervals, so this quiet period is the assertion's window.
    quiet_period()

    assert recorder.trips == []
    assert watchdog.peak_rss_bytes > 100 * MiB


def test_watching_a_pid_that_does_not_exist_is_quiet(
    recorder: TripRecorder, make_watchdog: Callable[..., RssWatchdog]
) -> None:
    gone = psutil.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    watchdog = make_watchdog(recorder, limit_bytes=1)
    watchdog.watch(gone.pid)
    quiet_period()  # as above: nothing is sampled, so there is no condition to wait for
    assert recorder.trips == []
    assert watchdog.rss_bytes == 0


# --- SpikeDetector alone: synthetic series, production policy, 2 Hz ---------------------

STEP_S = 0.5


def feed(detector: SpikeDetector, series: Sequence[float], start_s: float = 0.0) -> list[bool]:
    return [detector.add(start_s + index * STEP_S, int(mib * MiB)) for index, mib in enumerate(series)]


def load_then_plateau(plateau_mib: float = 400, load_s: float = 40, settle_s: float = 30) -> list[float]:
    """A workspace load ramping up from 30 MiB, then a noisy plateau."""
    ramp = [30 + (plateau_mib - 30) * i / (load_s / STEP_S) for i in range(int(load_s / STEP_S))]
    plateau = [plateau_mib + (5 if i % 3 else -5) for i in range(int(settle_s / STEP_S))]
    return ramp + plateau


def test_detector_stays_in_the_load_phase_while_the_load_grows() -> None:
    detector = SpikeDetector()
    ramp = [30 + 20 * i for i in range(200)]  # 100 s of steady growth to 4 GB
    assert not any(feed(detector, ramp))
    assert detector.loading


def test_detector_settles_after_the_load_and_confirms_a_sustained_jump() -> None:
    detector = SpikeDetector()
    series = load_then_plateau()
    assert not any(feed(detector, series))
    assert not detector.loading

    spike = [1500.0] * DEFAULT_SPIKE_POLICY.sustain_samples
    verdicts = feed(detector, spike, start_s=len(series) * STEP_S)
    assert verdicts == [False] * (DEFAULT_SPIKE_POLICY.sustain_samples - 1) + [True]


def test_detector_ignores_short_peaks_and_linear_growth() -> None:
    detector = SpikeDetector()
    series = load_then_plateau()
    short_peak = [1500.0] * (DEFAULT_SPIKE_POLICY.sustain_samples - 1) + [400.0]
    slow_growth = [400.0 + 2 * i for i in range(1200)]  # +4 MiB/s for 10 minutes: 2.8 GB
    assert not any(feed(detector, series + short_peak + slow_growth))


def test_detector_allows_a_reload_back_to_the_load_peak() -> None:
    detector = SpikeDetector()
    load = [30 + 1970 * i / 80 for i in range(80)] + [2000.0] * 60  # load to 2 GB, settle
    scavenged = [600.0] * 240  # the runtime returns memory: 2 minutes at 600 MiB
    reload = [2000.0] * 20  # a go.mod change reloads the workspace
    assert not any(feed(detector, load + scavenged + reload))


def test_detector_waits_for_child_processes_before_settling() -> None:
    detector = SpikeDetector()
    for index in range(200):  # 100 s flat, but `go list` keeps running
        detector.add(index * STEP_S, 100 * MiB, busy=True)
    assert detector.loading
    for index in range(200, 230):
        detector.add(index * STEP_S, 100 * MiB)
    assert not detector.loading
