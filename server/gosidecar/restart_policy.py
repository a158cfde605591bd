"""When to restart gopls again, and when to stop trying."""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable

# vscode-go gives up after 5 crashes and never comes back; we give up after as many in a
# short window, but any later cause to try (a raised limit, a manual restart) resets it.
MAX_RESTARTS_IN_WINDOW = 5
WINDOW_S = 180.0
BACKOFF_S = (0.0, 0.5, 1.0, 2.0, 4.0)


class RestartPolicy:
    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._recent: deque[float] = deque()

    def next_delay(self) -> float | None:
        """Seconds to wait before the next restart, or None to give up."""
        now = self._clock()
        while self._recent and now - self._recent[0] > WINDOW_S:
            self._recent.popleft()
        if len(self._recent) >= MAX_RESTARTS_IN_WINDOW:
            return None
        delay = BACKOFF_S[min(len(self._recent), len(BACKOFF_S) - 1)]
        self._recent.append(now)
        return delay

    def reset(self) -> None:
        self._recent.clear()
