"""`window/workDoneProgress` from the sidecar: a notification bar while the model loads.

It goes through pygls's `Progress`, so the editor's answer to `workDoneProgress/create`
comes back the way every sidecar→editor request does: through pygls.
"""

from __future__ import annotations

import itertools

from lsprotocol import types
from pygls.progress import Progress

_tokens = itertools.count(1)


class ClientProgress:
    """One progress bar at a time in the editor; see completion.ProgressReporter."""

    def __init__(self, progress: Progress, supported: bool) -> None:
        self._progress = progress
        self.supported = supported
        """Whether the editor announced `window.workDoneProgress`."""
        self._token: str | None = None

    def begin(self, title: str, message: str) -> None:
        if not self.supported:
            return
        self._token = f"gosidecar-progress-{next(_tokens)}"
        # The editor must know the token before the first $/progress; its answer is not waited for.
        self._progress.create(self._token)
        self._progress.begin(self._token, types.WorkDoneProgressBegin(title=title, message=message, cancellable=False))

    def report(self, message: str, percentage: int) -> None:
        if self._token is not None:
            self._progress.report(self._token, types.WorkDoneProgressReport(message=message, percentage=percentage))

    def end(self, message: str) -> None:
        if self._token is not None:
            self._progress.end(self._token, types.WorkDoneProgressEnd(message=message))
            self._token = None
