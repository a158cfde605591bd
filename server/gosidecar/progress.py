"""`window/workDoneProgress` from the sidecar: a notification bar while the model loads."""

from __future__ import annotations

import itertools
from typing import Any

from .proxy import Proxy

_tokens = itertools.count(1)


class ClientProgress:
    """One progress bar at a time in the editor; see completion.ProgressReporter."""

    def __init__(self, proxy: Proxy, supported: bool) -> None:
        self._proxy = proxy
        self.supported = supported
        """Whether the editor announced `window.workDoneProgress`."""
        self._token: str | None = None

    def begin(self, title: str, message: str) -> None:
        if not self.supported:
            return
        self._token = f"gosidecar-progress-{next(_tokens)}"
        # The editor must know the token before the first $/progress; its answer is not waited for.
        self._proxy.request_client("window/workDoneProgress/create", {"token": self._token})
        self._send({"kind": "begin", "title": title, "message": message, "cancellable": False})

    def report(self, message: str, percentage: int) -> None:
        self._send({"kind": "report", "message": message, "percentage": percentage})

    def end(self, message: str) -> None:
        self._send({"kind": "end", "message": message})
        self._token = None

    def _send(self, value: dict[str, Any]) -> None:
        if self._token is not None:
            self._proxy.notify_client("$/progress", {"token": self._token, "value": value})
