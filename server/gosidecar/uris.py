"""file:// URIs and paths, the way VS Code and gopls write them."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import quote, unquote, urlparse


def uri_to_path(uri: str) -> str:
    parsed = urlparse(uri)
    return unquote(parsed.path) if parsed.scheme == "file" else uri


def path_to_uri(path: str | Path) -> str:
    return "file://" + quote(str(Path(path).absolute()), safe="/:@+,;=")
