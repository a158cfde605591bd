"""What the completion service counts: requests, cache hits, latencies, grounding verdicts."""

from __future__ import annotations

import threading
from collections import Counter, deque
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np

from gosidecar.completion.engine import Generation
from gosidecar.history import History
from gosidecar.problems import Problem, SettingAction

_LATENCY_WINDOW = 200
_SLOW_P95_MS = 5000
_SLOW_MIN_SAMPLES = 10

Grounding = Literal["constrained", "steered", "kept", "cut", "dropped"]
"""Suggestions "constrained" to gopls's names, "steered" to keep their calls balanced, and
the check's verdict on them."""


@dataclass(frozen=True)
class MetricsSnapshot:
    requests: int
    cache_hits: int
    latency_ms_p50: int
    latency_ms_p95: int
    last_reused_prefix_tokens: int
    grounding_constrained: int
    grounding_steered: int
    grounding_cut: int
    grounding_dropped: int


class CompletionMetrics:
    """Thread-safe; feeds the health section and the latency history."""

    def __init__(self, history: History) -> None:
        self._history = history
        self._lock = threading.Lock()
        self._latencies: deque[float] = deque(maxlen=_LATENCY_WINDOW)
        self._grounded: Counter[str] = Counter()
        self._requests = 0
        self._cache_hits = 0
        self._last_reused = 0

    def cache_hit(self) -> None:
        with self._lock:
            self._requests += 1
            self._cache_hits += 1

    def generated(self, generation: Generation) -> None:
        """A finished (not cancelled) generation: its time and its reused prompt prefix."""
        latency_ms = generation.prompt_ms + generation.generation_ms
        with self._lock:
            self._requests += 1
            self._latencies.append(latency_ms)
            self._last_reused = generation.reused_tokens
        self._history.record_latency(latency_ms)

    def shown(self) -> None:
        self._history.record_shown()

    def grounded(self, verdict: Grounding) -> None:
        with self._lock:
            self._grounded[verdict] += 1

    def snapshot(self) -> MetricsSnapshot:
        with self._lock:
            p50, p95 = _percentiles(self._latencies)
            return MetricsSnapshot(
                requests=self._requests,
                cache_hits=self._cache_hits,
                latency_ms_p50=round(p50),
                latency_ms_p95=round(p95),
                last_reused_prefix_tokens=self._last_reused,
                grounding_constrained=self._grounded["constrained"],
                grounding_steered=self._grounded["steered"],
                grounding_cut=self._grounded["cut"],
                grounding_dropped=self._grounded["dropped"],
            )

    def problems(self) -> list[Problem]:
        with self._lock:
            enough = len(self._latencies) >= _SLOW_MIN_SAMPLES
            _, p95 = _percentiles(self._latencies)
        if not enough or p95 <= _SLOW_P95_MS:
            return []
        return [
            Problem(
                "warning",
                "AI completions are slow (p95 over 5 s)",
                "Use a smaller model, or a remote server in goSidecar.ai.backend.",
                SettingAction("ai.backend"),
            )
        ]


def _percentiles(latencies: Sequence[float]) -> tuple[float, float]:
    """p50 and p95 as sample values: "higher" is the value at index int(q·n), clamped to the
    last one (nearest rank from above), never an interpolation between two requests."""
    if not latencies:
        return 0.0, 0.0
    p50, p95 = np.percentile(latencies, [50, 95], method="higher")
    return float(p50), float(p95)
