"""The sidecar owns gopls's watched-file events: one event per real file change.

`FileEventService` takes gopls's `workspace/didChangeWatchedFiles` registrations,
watches the real directories behind the workspace (symlink-aware, each once), collapses
each debounce window to the net change of every real file and sends gopls one batch per
window. `wiring.attach` connects it to the proxy.

Only the workspace folders are watched, up to a cap on directories: a registration
whose base lies outside every folder is logged, listed in the health section
(`skippedBases`) and not watched; past the cap the health report names the
`directoryFilters` to add (see `service`).
"""

from gosidecar.file_events.service import FileEventService

__all__ = ["FileEventService"]
