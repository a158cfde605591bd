"""The hard memory guard: an RSS watchdog over gopls and its child processes.

GOMEMLIMIT and gopls's `memoryLimit` are soft: the GC works harder, growth goes on. This
watchdog samples the resident memory of the whole process tree (gopls plus the `go list`
and friends it runs) about twice a second on its own daemon thread, so a busy asyncio
loop never delays it, and reports a `Trip` when gopls must be restarted:

- `rss-limit`: the tree is above the configured limit in several consecutive samples;
- `rss-spike`: the tree grew far beyond this session's own baseline (robust statistics
  over a window, see SpikeDetector), sustained, after the initial workspace load.

Each watched session trips at most once; `watch()` with the new gopls pid re-arms it. A
process that vanished never trips: the supervisor sees the crash itself.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

import numpy as np
import psutil

log = logging.getLogger(__name__)

MiB = 1024 * 1024

# One sample over the limit can be a `go list` child at its peak for a moment; three in a
# row (1 to 1.5 s at 2 Hz) is sustained growth, and still far ahead of the kernel's OOM killer.
LIMIT_CONSECUTIVE_SAMPLES = 3

# A load is not over while gopls runs the go command (`go list` and the compilers it
# starts). Other children, e.g. gopls's own telemetry process, live as long as gopls.
GO_COMMAND_NAMES = frozenset({"go", "go.exe"})

# Scales the median absolute deviation to a standard deviation for normally distributed
# samples, so `mad_sigmas` reads as "this many sigmas".
MAD_TO_SIGMA = 1.4826

TripReason = Literal["rss-limit", "rss-spike"]


@dataclass(frozen=True)
class Trip:
    reason: TripReason
    rss_bytes: int
    detail: str


@dataclass(frozen=True)
class SpikePolicy:
    """When growth counts as a spike. The defaults are tuned for gopls at 2 Hz sampling."""

    load_grace_min_s: float = 20.0
    """Never judge within this long after watch(): gopls loads the workspace first, and a
    load legitimately takes it from a few MB to its working size."""
    stable_window_s: float = 10.0
    """The load is over once the tree RSS stayed flat this long without the go command
    running: a load keeps growing or keeps running `go list`."""
    stable_tolerance: float = 0.05
    """"Flat" = the window's spread is within this share of its median…"""
    stable_tolerance_bytes: int = 32 * MiB
    """…or within this many bytes, so small processes with allocator noise settle too."""
    baseline_window_s: float = 120.0
    """The baseline is the last two minutes of normal samples: long enough that a spike
    of a few seconds cannot drag it up, short enough to follow slow, legitimate growth."""
    enabled: bool = True
    """False = never report a spike (the user set goSidecar.memory.spikeMB to 0)."""
    ratio: float = 2.0
    """A spike at least doubles the baseline: reloads after a go.mod change or opening a
    new package grow gopls by tens of percent, not by a factor."""
    mad_sigmas: float = 8.0
    """…and stands this many (MAD-estimated) sigmas above it, so a noisy session needs a
    proportionally larger jump."""
    floor_bytes: int = 512 * MiB
    """…and is at least this much above it: doubling 80 MB is no reason to restart."""
    sustain_samples: int = 4
    """…in this many consecutive samples (2 s at 2 Hz): a short peak that the GC returns
    is not worth a restart."""


DEFAULT_SPIKE_POLICY = SpikePolicy()


class SpikeDetector:
    """Decides from (time, RSS) samples whether the RSS spiked. Pure: no processes, no clock.

    While loading (from the first sample until the load settled, see SpikePolicy) it only
    watches for the RSS to flatten. Then the settled window seeds the baseline, and each
    sample is judged against

        threshold = max(ref * ratio, median + mad_sigmas * sigma, ref + floor_bytes)

    where median and sigma (MAD-based) come from the baseline window and ref is the larger
    of the median and the load's peak (a later reload may need what the first load did).
    Samples above the threshold are kept out of the baseline, so a sustained spike cannot
    raise its own bar; `sustain_samples` of them in a row confirm the spike. Steady or
    linear growth never confirms: the median follows it and the RSS stays under twice it.
    """

    def __init__(self, policy: SpikePolicy = DEFAULT_SPIKE_POLICY) -> None:
        self.policy = policy
        """The rule; replaced live when the user changes it (the samples seen so far stay)."""
        self._started_at: float | None = None
        self._load_peak = 0
        self._recent: deque[tuple[float, int, bool]] = deque()
        self._baseline: deque[tuple[float, int]] | None = None
        self._streak = 0
        self.threshold_bytes: int | None = None
        self.baseline_bytes: int | None = None

    @property
    def loading(self) -> bool:
        return self._baseline is None

    def add(self, t: float, rss: int, busy: bool = False) -> bool:
        """Record a sample; True when it confirms a spike.

        `busy` = gopls runs the go command (`go list`, …) right now; while loading it
        means the load is not over. After the load it does not matter.
        """
        if not self.policy.enabled:
            return False
        if self._baseline is None:
            self._track_load(t, rss, busy)
            return False
        return self._judge(self._baseline, t, rss)

    def _track_load(self, t: float, rss: int, busy: bool) -> None:
        if self._started_at is None:
            self._started_at = t
        self._load_peak = max(self._load_peak, rss)
        self._recent.append((t, rss, busy))
        window_start = t - self.policy.stable_window_s
        while len(self._recent) > 1 and self._recent[1][0] <= window_start:
            self._recent.popleft()
        if self._load_settled(t, elapsed=t - self._started_at):
            self._baseline = deque((when, value) for when, value, _ in self._recent)
            self._recent.clear()

    def _load_settled(self, t: float, elapsed: float) -> bool:
        policy = self.policy
        if elapsed < policy.load_grace_min_s:
            return False
        if t - self._recent[0][0] < policy.stable_window_s:
            return False
        if any(busy for _, _, busy in self._recent):
            return False
        values = np.array([value for _, value, _ in self._recent], dtype=np.float64)
        spread = float(values.max() - values.min())
        allowed = max(policy.stable_tolerance * float(np.median(values)), policy.stable_tolerance_bytes)
        return spread <= allowed

    def _judge(self, baseline: deque[tuple[float, int]], t: float, rss: int) -> bool:
        threshold = self._threshold(baseline)
        if rss > threshold:
            self._streak += 1
            return self._streak >= self.policy.sustain_samples
        self._streak = 0
        baseline.append((t, rss))
        window_start = t - self.policy.baseline_window_s
        while len(baseline) > 1 and baseline[0][0] < window_start:
            baseline.popleft()
        return False

    def _threshold(self, baseline: deque[tuple[float, int]]) -> int:
        policy = self.policy
        values = np.array([value for _, value in baseline], dtype=np.float64)
        median = float(np.median(values))
        sigma = float(np.median(np.abs(values - median))) * MAD_TO_SIGMA
        reference = max(median, float(self._load_peak))
        self.baseline_bytes = int(median)
        self.threshold_bytes = int(
            max(
                reference * policy.ratio,
                median + policy.mad_sigmas * sigma,
                reference + policy.floor_bytes,
            )
        )
        return self.threshold_bytes


@dataclass(frozen=True)
class _TreeSample:
    rss_bytes: int
    children: int
    running_go: bool


@dataclass
class _Session:
    """One watched gopls process; replaced wholesale by watch()."""

    process: psutil.Process | None
    detector: SpikeDetector
    rss_bytes: int = 0
    peak_rss_bytes: int = 0
    over_limit_streak: int = 0
    tripped: bool = False


class RssWatchdog:
    """Samples gopls's process tree every `interval_s` and calls `on_trip` at most once
    per watched process.

    `on_trip` runs on the watchdog's own thread: hand it to the event loop with
    `loop.call_soon_threadsafe`. The thread starts on the first watch().
    """

    def __init__(
        self,
        on_trip: Callable[[Trip], None],
        limit_bytes: int,
        interval_s: float = 0.5,
        clock: Callable[[], float] = time.monotonic,
        spike_policy: SpikePolicy = DEFAULT_SPIKE_POLICY,
        *,
        on_sample: Callable[[int], None] = lambda rss_bytes: None,
    ) -> None:
        self._on_trip = on_trip
        self._on_sample = on_sample  # each tree RSS, for the Health Check's history
        self._limit_bytes = limit_bytes
        self._interval_s = interval_s
        self._clock = clock
        self._spike_policy = spike_policy
        self._lock = threading.Lock()
        self._session: _Session | None = None
        self._thread: threading.Thread | None = None
        self._stopping = threading.Event()

    @property
    def limit_bytes(self) -> int:
        return self._limit_bytes

    @property
    def rss_bytes(self) -> int:
        """RSS of the watched tree at the last sample; 0 before the first or once it is gone."""
        session = self._session
        return session.rss_bytes if session is not None else 0

    @property
    def peak_rss_bytes(self) -> int:
        """Highest tree RSS since the last watch()."""
        session = self._session
        return session.peak_rss_bytes if session is not None else 0

    @property
    def judging_spikes(self) -> bool:
        """True once the watched gopls's workspace load settled: from then on, growth
        can be a spike (see SpikeDetector)."""
        session = self._session
        return session is not None and not session.detector.loading

    def sample_now(self) -> int:
        """Measure the tree right away (for a health report asked between samples)."""
        session = self._session
        tree = _tree_rss(session.process) if session is not None and session.process is not None else None
        if session is None or tree is None:
            return 0
        session.peak_rss_bytes = max(session.peak_rss_bytes, tree.rss_bytes)
        return tree.rss_bytes

    def watch(self, pid: int) -> None:
        """Watch a (new) gopls: fresh baseline, fresh load grace, re-armed trip."""
        session = _Session(process=_process_or_none(pid), detector=SpikeDetector(self._spike_policy))
        with self._lock:
            self._session = session
            if self._thread is None:
                self._stopping = threading.Event()
                self._thread = threading.Thread(
                    target=self._run,
                    args=(self._stopping,),
                    name="gosidecar-rss-watchdog",
                    daemon=True,
                )
                self._thread.start()

    def set_spike_policy(self, policy: SpikePolicy) -> None:
        """Judge spikes by `policy` from now on, in the running session too (spikeMB 0
        must stop spike restarts of the gopls the user is fighting with, not the next one)."""
        self._spike_policy = policy
        session = self._session
        if session is not None:
            session.detector.policy = policy

    def set_limit(self, limit_bytes: int) -> None:
        """Change the rss-limit threshold; 0 turns it off. Takes effect at the next sample."""
        self._limit_bytes = limit_bytes

    def stop(self) -> None:
        """Stop sampling and wait for the thread (unless called from on_trip)."""
        with self._lock:
            thread, self._thread = self._thread, None
            self._session = None
            self._stopping.set()
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout=self._interval_s + 5.0)

    def _run(self, stopping: threading.Event) -> None:
        while not stopping.is_set():
            try:
                self._sample()
            except Exception:  # a bug here must not silently end the guard
                log.exception("RSS watchdog sample failed")
            stopping.wait(self._interval_s)

    def _sample(self) -> None:
        session = self._session
        if session is None or session.process is None:
            return
        tree = _tree_rss(session.process)
        if tree is None:
            session.process = None
            session.rss_bytes = 0
            return
        trip = self._evaluate(session, tree)
        if trip is None:
            return
        with self._lock:
            if session is not self._session or session.tripped:
                return
            session.tripped = True
        log.warning("gopls memory trip (%s): %s", trip.reason, trip.detail)
        try:
            self._on_trip(trip)
        except Exception:
            log.exception("RSS watchdog on_trip callback failed")

    def _evaluate(self, session: _Session, tree: _TreeSample) -> Trip | None:
        rss = tree.rss_bytes
        session.rss_bytes = rss
        self._on_sample(rss)
        session.peak_rss_bytes = max(session.peak_rss_bytes, rss)
        spiked = self._add_to_detector(session.detector, tree)
        limit = self._limit_bytes
        session.over_limit_streak = session.over_limit_streak + 1 if 0 < limit < rss else 0
        if session.tripped:
            return None
        if session.over_limit_streak >= LIMIT_CONSECUTIVE_SAMPLES:
            detail = (
                f"gopls and {tree.children} child process(es) use {_mib(rss)}, above the "
                f"{_mib(limit)} limit in {session.over_limit_streak} consecutive samples"
            )
            return Trip("rss-limit", rss, detail)
        if spiked:
            detector = session.detector
            detail = (
                f"gopls and {tree.children} child process(es) use {_mib(rss)}, far above this "
                f"session's baseline of {_mib(detector.baseline_bytes or 0)} "
                f"(spike threshold {_mib(detector.threshold_bytes or 0)})"
            )
            return Trip("rss-spike", rss, detail)
        return None

    def _add_to_detector(self, detector: SpikeDetector, tree: _TreeSample) -> bool:
        """The detector's verdict on this sample; logs the end of the load, when judging starts."""
        was_loading = detector.loading
        spiked = detector.add(self._clock(), tree.rss_bytes, busy=tree.running_go)
        if was_loading and not detector.loading:
            log.info("gopls's workspace load settled at %s: judging RSS spikes from now on", _mib(tree.rss_bytes))
        return spiked


def _process_or_none(pid: int) -> psutil.Process | None:
    try:
        return psutil.Process(pid)
    except psutil.NoSuchProcess:
        return None


def tree_rss_bytes(pid: int) -> int:
    """RSS of a process and all its descendants; 0 when it is gone."""
    process = _process_or_none(pid)
    tree = _tree_rss(process) if process is not None else None
    return tree.rss_bytes if tree is not None else 0


def _tree_rss(process: psutil.Process) -> _TreeSample | None:
    """RSS of the process plus all its descendants; None when the process is gone."""
    try:
        if not process.is_running():  # also catches a pid reused by another process
            return None
        rss = process.memory_info().rss
        children = process.children(recursive=True)
    except (psutil.NoSuchProcess, psutil.AccessDenied):
        return None
    running_go = False
    for child in children:
        with contextlib.suppress(psutil.NoSuchProcess, psutil.AccessDenied):
            rss += child.memory_info().rss
            running_go = running_go or child.name() in GO_COMMAND_NAMES
    return _TreeSample(rss, len(children), running_go)


def _mib(value: int) -> str:
    return f"{value / MiB:.0f} MiB"
