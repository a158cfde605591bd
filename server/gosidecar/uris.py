"""file:// URIs and paths, the way VS Code and gopls write them.

Byte-exact: a Linux file name is bytes and need not be UTF-8 (Python carries such a
name as a str with surrogate escapes), so a URI percent-encodes the name's raw bytes
(`os.fsencode`) and a path is decoded back to the same bytes.
"""

from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import quote, unquote_to_bytes, urlparse


def uri_to_path(uri: str) -> str:
    parsed = urlparse(uri)
    return os.fsdecode(unquote_to_bytes(parsed.path)) if parsed.scheme == "file" else uri


def path_to_uri(path: str | Path) -> str:
    return "file://" + quote(os.fsencode(Path(path).absolute()), safe="/:@+,;=")
