"""The soft memory limits handed to gopls: `GOMEMLIMIT` and gopls's `memoryLimit` setting.

Both only make the Go garbage collector work harder near the limit; neither stops
growth, which is why the RSS watchdog is the hard guard. A value the user chose always
wins over ours.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping, Sequence
from typing import Any

# The soft limit sits a little under the hard one so the GC gets a chance to pull the
# heap back before the watchdog restarts gopls.
SOFT_LIMIT_SHARE = 0.9

GOPLS_SECTION = "gopls"
GOPLS_MEMORY_LIMIT_KEY = "memoryLimit"

# gopls v0.24.0 added the experimental `memoryLimit` setting (runtime/debug.SetMemoryLimit).
MEMORY_LIMIT_SINCE = (0, 24, 0)

_GOPLS_VERSION = re.compile(r"gopls[@\s]+v(\d+)\.(\d+)\.(\d+)")
_BARE_VERSION = re.compile(r"\s*v?(\d+)\.(\d+)\.(\d+)\S*\s*")


def gomemlimit_env(
    limit_mb: int,
    user_env: Mapping[str, str],
    inherited_env: Mapping[str, str] = os.environ,
) -> dict[str, str]:
    """The extra environment for gopls: `user_env` (gopls.env) plus our `GOMEMLIMIT`.

    `GOMEMLIMIT` is added as SOFT_LIMIT_SHARE of `limit_mb` in Go's format ("1843MiB"),
    unless the limit is off (0) or the user already set one in `user_env` (any value,
    even "off") or in the environment the sidecar inherited (a non-empty value).
    """
    env = dict(user_env)
    user_chose = "GOMEMLIMIT" in user_env or bool(inherited_env.get("GOMEMLIMIT"))
    if limit_mb > 0 and not user_chose:
        env["GOMEMLIMIT"] = f"{max(1, int(limit_mb * SOFT_LIMIT_SHARE))}MiB"
    return env


def gopls_supports_memory_limit(version: str) -> bool:
    """Whether a gopls with this `gopls version` output has the `memoryLimit` setting.

    Accepts the whole output ("golang.org/x/tools/gopls v0.23.0", with or without the
    build-info lines) or a bare version ("v0.24.0"). Pre-releases and pseudo-versions
    count by their base version: v0.24.0-pre.1 is on the v0.24 branch, and
    v0.23.1-0.2025…-abcdef is a commit after v0.23.0. Unknown versions, "(devel)" builds
    included, answer False: an unknown setting makes gopls show the user an error,
    while GOMEMLIMIT already gives the same soft limit.
    """
    found = _GOPLS_VERSION.search(version) or _BARE_VERSION.fullmatch(version)
    if found is None:
        return False
    major, minor, patch = (int(part) for part in found.groups())
    return (major, minor, patch) >= MEMORY_LIMIT_SINCE


def merge_memory_limit(config_items: Sequence[Any], sections: Sequence[str | None], limit_bytes: int) -> list[Any]:
    """A `workspace/configuration` answer with gopls's `memoryLimit` set to `limit_bytes`.

    `config_items` is the client's answer and `sections` the `section` of each requested
    item, in the same order. Only items for section "gopls" change: a null result
    becomes `{"memoryLimit": limit_bytes}`, an object gets the key unless the user set
    it. Call it only for a gopls that has the setting (gopls_supports_memory_limit).
    The input is not modified.
    """
    merged = list(config_items)
    if limit_bytes <= 0:
        return merged
    for index, (item, section) in enumerate(zip(config_items, sections, strict=False)):
        if section == GOPLS_SECTION:
            merged[index] = _with_memory_limit(item, limit_bytes)
    return merged


def _with_memory_limit(item: Any, limit_bytes: int) -> Any:
    if item is None:
        return {GOPLS_MEMORY_LIMIT_KEY: limit_bytes}
    if isinstance(item, Mapping) and GOPLS_MEMORY_LIMIT_KEY not in item:
        return {**item, GOPLS_MEMORY_LIMIT_KEY: limit_bytes}
    return item
