"""Optional trace of all LSP traffic through the sidecar, one line per message."""

from __future__ import annotations

import threading
import time
from pathlib import Path


class Tracer:
    def __init__(self, path: str) -> None:
        self._file = Path(path).open("ab", buffering=1024 * 1024)  # noqa: SIM115 (lives as long as the sidecar)
        self._lock = threading.Lock()

    def record(self, direction: str, body: bytes) -> None:
        stamp = f"{time.time():.6f} {direction} ".encode()
        with self._lock:
            self._file.write(stamp + body + b"\n")
            # Written through at once: a trace is wanted most when the sidecar dies or
            # is killed, and buffered lines would die with it.
            self._file.flush()

    def close(self) -> None:
        with self._lock:
            self._file.close()
