"""The session's history for the Health Check, in fixed memory however long the session.

Every per-interval series (gopls's RSS as min/mean/max, file events received and
forwarded, ghost texts shown and accepted) lives in one ring of `BUCKETS` rows of
`BUCKET_S` seconds: the last hour. A row is cleared and reused when its time comes round
again, so a record is O(1) and nothing grows with the session. Restarts keep the last
`RESTARTS_KEPT`; suggestion latencies go into a fixed histogram over the whole session.

The record methods are called from the threads that see the events (the RSS watchdog,
the file-event service, the inference executor, the event loop): one lock guards it all.
"""

from __future__ import annotations

import bisect
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from enum import IntEnum
from typing import Any

import numpy as np
import numpy.typing as npt

BUCKET_S = 10
BUCKETS = 360  # one hour of 10-s buckets
RESTARTS_KEPT = 20
LATENCY_EDGES_MS = (0, 50, 100, 200, 400, 800, 1600, 3200)
"""Lower edges of the latency histogram's bins; the last bin is open-ended. Doubling
widths: a suggestion at 120 ms and one at 3 s differ in kind, not by 2.9 s of detail."""


class _Column(IntEnum):
    RSS_MIN = 0
    RSS_MAX = 1
    RSS_SUM = 2
    RSS_SAMPLES = 3
    RECEIVED = 4
    FORWARDED = 5
    SHOWN = 6
    ACCEPTED = 7


@dataclass(frozen=True)
class RestartMark:
    time: float
    reason: str
    rss_bytes: int

    def to_dict(self) -> dict[str, Any]:
        return {"time": _iso(self.time), "reason": self.reason, "rssBytes": self.rss_bytes}


class History:
    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        """`clock` gives wall-clock seconds; a test passes its own to simulate a long session."""
        self._clock = clock
        self._lock = threading.Lock()
        self._first_bucket = self._bucket_of(clock())
        # Which bucket each ring row holds; -1 = never written.
        self._row_bucket = np.full(BUCKETS, -1, dtype=np.int64)
        self._rows = np.zeros((BUCKETS, len(_Column)), dtype=np.float64)
        self._restarts: deque[RestartMark] = deque(maxlen=RESTARTS_KEPT)
        self._latency_counts = np.zeros(len(LATENCY_EDGES_MS), dtype=np.int64)
        self._shown = self._accepted = 0

    # ----- recording (any thread) -------------------------------------------------------

    def record_rss(self, rss_bytes: int) -> None:
        with self._lock:
            row = self._current_row()
            samples = row[_Column.RSS_SAMPLES]
            row[_Column.RSS_MIN] = rss_bytes if samples == 0 else min(row[_Column.RSS_MIN], rss_bytes)
            row[_Column.RSS_MAX] = max(row[_Column.RSS_MAX], rss_bytes)
            row[_Column.RSS_SUM] += rss_bytes
            row[_Column.RSS_SAMPLES] = samples + 1

    def record_restart(self, reason: str, rss_bytes: int) -> None:
        with self._lock:
            self._restarts.append(RestartMark(self._clock(), reason, rss_bytes))

    def record_file_events(self, received: int = 0, forwarded: int = 0) -> None:
        with self._lock:
            row = self._current_row()
            row[_Column.RECEIVED] += received
            row[_Column.FORWARDED] += forwarded

    def record_latency(self, latency_ms: float) -> None:
        index = max(0, bisect.bisect_right(LATENCY_EDGES_MS, latency_ms) - 1)
        with self._lock:
            self._latency_counts[index] += 1

    def record_shown(self) -> None:
        """A ghost text went to the editor."""
        with self._lock:
            self._current_row()[_Column.SHOWN] += 1
            self._shown += 1

    def record_accepted(self) -> None:
        """The editor reported a ghost text accepted (the item's command ran)."""
        with self._lock:
            self._current_row()[_Column.ACCEPTED] += 1
            self._accepted += 1

    def _current_row(self) -> npt.NDArray[np.float64]:
        bucket = self._bucket_of(self._clock())
        index = bucket % BUCKETS
        if self._row_bucket[index] != bucket:  # an hour-old row: start it afresh
            self._row_bucket[index] = bucket
            self._rows[index] = 0.0
        row: npt.NDArray[np.float64] = self._rows[index]  # a view: writes go to the ring
        return row

    @staticmethod
    def _bucket_of(seconds: float) -> int:
        return int(seconds // BUCKET_S)

    # ----- the report -------------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        """The report's `history` section: series oldest first, one value per bucket since
        the session started or for the last hour; empty buckets have no RSS (null)."""
        with self._lock:
            last = self._bucket_of(self._clock())
            buckets = np.arange(max(self._first_bucket, last - BUCKETS + 1), last + 1)
            indices = buckets % BUCKETS
            held = self._row_bucket[indices] == buckets
            rows = np.where(held[:, None], self._rows[indices], 0.0)
            restarts = [mark.to_dict() for mark in self._restarts]
            latency_counts = self._latency_counts.tolist()
            shown, accepted = self._shown, self._accepted
        samples = rows[:, _Column.RSS_SAMPLES]
        return {
            "bucketSeconds": BUCKET_S,
            "start": _iso(float(buckets[0]) * BUCKET_S),
            "rssBytes": {
                "min": _nullable(rows[:, _Column.RSS_MIN], samples),
                "mean": _nullable(rows[:, _Column.RSS_SUM] / np.maximum(samples, 1), samples),
                "max": _nullable(rows[:, _Column.RSS_MAX], samples),
            },
            "restarts": restarts,
            "fileEvents": {
                "received": _counts(rows[:, _Column.RECEIVED]),
                "forwarded": _counts(rows[:, _Column.FORWARDED]),
            },
            "suggestions": {
                "shown": _counts(rows[:, _Column.SHOWN]),
                "accepted": _counts(rows[:, _Column.ACCEPTED]),
                "shownTotal": shown,
                "acceptedTotal": accepted,
            },
            "latencyMs": {"edges": list(LATENCY_EDGES_MS), "counts": latency_counts},
        }


def _nullable(values: npt.NDArray[np.float64], samples: npt.NDArray[np.float64]) -> list[int | None]:
    return [int(value) if count else None for value, count in zip(values.tolist(), samples.tolist(), strict=True)]


def _counts(values: npt.NDArray[np.float64]) -> list[int]:
    return [int(value) for value in values.tolist()]


def _iso(seconds: float) -> str:
    return datetime.fromtimestamp(seconds, timezone.utc).isoformat(timespec="seconds")
