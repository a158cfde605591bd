"""The LSP vocabulary of watched files: change types, watch kinds, file URIs.

URIs are byte-exact (`gosidecar.uris`): a file whose name is not valid UTF-8 still
reaches gopls, under the percent-encoding of its raw bytes.
"""

from __future__ import annotations

from lsprotocol.types import FileChangeType, WatchKind

from gosidecar.uris import path_to_uri, uri_to_path

__all__ = ["ALL_WATCH_KINDS", "FileChangeType", "change_type", "file_path", "path_to_uri", "watch_kind"]

ALL_WATCH_KINDS = int(WatchKind.Create) | int(WatchKind.Change) | int(WatchKind.Delete)
"""The default `kind` of a `FileSystemWatcher`: every change."""

_WATCH_KINDS = {
    FileChangeType.Created: WatchKind.Create,
    FileChangeType.Changed: WatchKind.Change,
    FileChangeType.Deleted: WatchKind.Delete,
}


def watch_kind(change: FileChangeType) -> int:
    """The `WatchKind` bit that asks for this change."""
    return int(_WATCH_KINDS[change])


def change_type(raw: object) -> FileChangeType | None:
    """The `FileChangeType` a `FileEvent`'s `type` names; None for anything else."""
    if not isinstance(raw, int) or isinstance(raw, bool):
        return None
    try:
        return FileChangeType(raw)
    except ValueError:
        return None


def file_path(uri: str) -> str | None:
    """The local path of a `file:` URI, None for any other scheme."""
    return uri_to_path(uri) if uri.startswith("file:") else None
