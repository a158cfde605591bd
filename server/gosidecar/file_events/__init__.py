"""The sidecar owns gopls's watched-file events: one event per real file change.

`FileEventService` takes gopls's `workspace/didChangeWatchedFiles` registrations,
watches the real directories behind the workspace (symlink-aware, each once), collapses
each debounce window to the net change of every real file and sends gopls one batch per
window. `wiring.attach` connects it to the proxy.
"""

from gosidecar.file_events.lsp import ChangeType
from gosidecar.file_events.service import FileEventService

__all__ = ["ChangeType", "FileEventService"]
