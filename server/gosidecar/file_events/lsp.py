"""The LSP vocabulary of watched files: change types, watch kinds and file URIs."""

from __future__ import annotations

import enum
from urllib.parse import quote, unquote, urlsplit


class ChangeType(enum.IntEnum):
    """`FileChangeType` of an LSP `FileEvent`."""

    CREATED = 1
    CHANGED = 2
    DELETED = 3

    @property
    def watch_kind(self) -> int:
        """The `WatchKind` bit that asks for this change (Create=1, Change=2, Delete=4)."""
        return 1 << (self.value - 1)


ALL_WATCH_KINDS = 7


def path_to_uri(path: str) -> str:
    return "file://" + quote(path)


def uri_to_path(uri: str) -> str | None:
    """The local path of a `file:` URI, None for any other scheme."""
    parts = urlsplit(uri)
    if parts.scheme != "file":
        return None
    return unquote(parts.path)
