"""When to restart gopls again, and when to stop trying."""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class RestartLimits:
    max_restarts: int = 5
    """Restarts allowed within `window_s`; one more and the policy gives up."""
    window_s: float = 180.0
    backoff_s: tuple[float, ...] = (0.0, 0.5, 1.0, 2.0, 4.0)
    """Wait before the n-th restart in the window (the last value repeats)."""


# vscode-go gives up after 5 crashes and never comes back; we give up after as many in a
# short window, but any later cause to try (a raised limit, a manual restart) resets it.
DEFAULT_LIMITS = RestartLimits()


class RestartPolicy:
    def __init__(self, limits: RestartLimits = DEFAULT_LIMITS, clock: Callable[[], float] = time.monotonic) -> None:
        self._limits = limits
        self._clock = clock
        self._recent: deque[float] = deque()

    def next_delay(self) -> float | None:
        """Seconds to wait before the next restart, or None to give up."""
        now = self._clock()
        limits = self._limits
        while self._recent and now - self._recent[0] > limits.window_s:
            self._recent.popleft()
        if len(self._recent) >= limits.max_restarts:
            return None
        delay = limits.backoff_s[min(len(self._recent), len(limits.backoff_s) - 1)]
        self._recent.append(now)
        return delay

    def reset(self) -> None:
        self._recent.clear()
