"""Helpers for the file-event tests: a gopls stand-in that records batches, and
workspaces shaped like the ones that flood gopls."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from gosidecar.uris import path_to_uri

DEBOUNCE_MS = 100


def passed_on_everything(counts: Mapping[str, Any], events_made: int, changes_gopls_logged: int) -> bool:
    """The file events' health counts say at least `events_made` events came in and none
    is left in the debounce window (received = forwarded + suppressed), and gopls logged
    every change forwarded: nothing already seen is still on its way."""
    received, forwarded, suppressed = (int(counts[key]) for key in ("received", "forwarded", "suppressed"))
    return received >= events_made and received == forwarded + suppressed and changes_gopls_logged == forwarded


def gopls_watchers(module_dir: Path) -> dict[str, Any]:
    """The registration options gopls v0.23 sends for one module (relative patterns on)."""
    return {
        "watchers": [
            {
                "globPattern": {
                    "baseUri": path_to_uri(module_dir),
                    "pattern": "**/*.{go,mod,sum,work}",
                },
                "kind": 7,
            },
            {"globPattern": "**/*.{mod,work}", "kind": 7},
        ]
    }


class Recorder:
    """Stands in for gopls: keeps every batch with the time it arrived."""

    def __init__(self) -> None:
        self.batches: list[tuple[float, list[dict[str, Any]]]] = []
        self._arrived = threading.Condition()

    def __call__(self, batch: list[dict[str, Any]]) -> None:
        with self._arrived:
            self.batches.append((time.monotonic(), batch))
            self._arrived.notify_all()

    @property
    def events(self) -> list[dict[str, Any]]:
        with self._arrived:
            return [event for _, batch in self.batches for event in batch]

    def wait_for(self, count: int, timeout: float = 5.0) -> list[dict[str, Any]]:
        """Events once at least `count` have arrived (or the timeout passed)."""
        with self._arrived:
            self._arrived.wait_for(lambda: len(self.events) >= count, timeout)
        return self.events

    def settle(self, quiet_s: float = 4 * DEBOUNCE_MS / 1000, timeout: float = 10.0) -> list[dict[str, Any]]:
        """Events once no batch has arrived for `quiet_s`."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._arrived:
                last = self.batches[-1][0] if self.batches else 0.0
            if time.monotonic() - last >= quiet_s:
                time.sleep(quiet_s)  # one more quiet period: nothing may be on its way
                with self._arrived:
                    if not self.batches or self.batches[-1][0] == last:
                        return self.events
            time.sleep(0.02)
        return self.events


def bazel_like_workspace(root: Path) -> Path:
    """A module whose package `pkg` is reachable under four names:
    `.cache/bazel/execroot/pkg` (real), `bazel-out/pkg` (absolute link to the execroot),
    `linked` (relative link through `bazel-out`), `abs` (absolute link)."""
    execroot = root / ".cache" / "bazel" / "execroot"
    (execroot / "pkg").mkdir(parents=True)
    (execroot / "pkg" / "a.go").write_text("package pkg\n")
    (root / "go.mod").write_text("module example.com/ws\n\ngo 1.22\n")
    (root / "bazel-out").symlink_to(execroot, target_is_directory=True)
    (root / "linked").symlink_to(Path("bazel-out") / "pkg", target_is_directory=True)
    (root / "abs").symlink_to(execroot / "pkg", target_is_directory=True)
    return execroot / "pkg" / "a.go"


def append(path: Path | str, text: str = "// edit\n") -> None:
    with Path(path).open("a") as handle:
        handle.write(text)


def uri_of(path: Path | str) -> str:
    return path_to_uri(os.fspath(path))
