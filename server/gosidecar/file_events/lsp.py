"""The LSP vocabulary of watched files: change types, watch kinds, file URIs."""

from __future__ import annotations

import enum

from gosidecar.uris import path_to_uri, uri_to_path

__all__ = ["ALL_WATCH_KINDS", "ChangeType", "file_path", "path_to_uri"]

ALL_WATCH_KINDS = 7
"""`WatchKind` Create | Change | Delete, the default of a `FileSystemWatcher`."""


class ChangeType(enum.IntEnum):
    """`FileChangeType` of an LSP `FileEvent`."""

    CREATED = 1
    CHANGED = 2
    DELETED = 3

    @property
    def watch_kind(self) -> int:
        """The `WatchKind` bit that asks for this change (Create=1, Change=2, Delete=4)."""
        return 1 << (self.value - 1)


def file_path(uri: str) -> str | None:
    """The local path of a `file:` URI, None for any other scheme."""
    return uri_to_path(uri) if uri.startswith("file:") else None
