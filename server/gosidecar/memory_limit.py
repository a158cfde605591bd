"""The soft memory limits handed to gopls: `GOMEMLIMIT` and gopls's `memoryLimit` setting.

Both only make the Go garbage collector work harder near the limit; neither stops
growth, which is why the RSS watchdog is the hard guard. A value the user chose always
wins over ours.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from typing import Any

# The soft limit sits a little under the hard one so the GC gets a chance to pull the
# heap back before the watchdog restarts gopls.
SOFT_LIMIT_SHARE = 0.9

GOPLS_MEMORY_LIMIT_KEY = "memoryLimit"

# gopls v0.24.0 added the experimental `memoryLimit` setting (runtime/debug.SetMemoryLimit).
MEMORY_LIMIT_SINCE = (0, 24, 0)

_MIB = 1024 * 1024

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
        env["GOMEMLIMIT"] = f"{soft_limit_bytes(limit_mb) // _MIB}MiB"
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


def soft_limit_bytes(limit_mb: int) -> int:
    """Our `memoryLimit` for gopls in bytes: the same soft limit as our GOMEMLIMIT (0 when off)."""
    return max(1, int(limit_mb * SOFT_LIMIT_SHARE)) * _MIB if limit_mb > 0 else 0


def with_memory_limit(initialization_options: Any, limit_bytes: int) -> Any:
    """gopls's `initializationOptions` with `memoryLimit` set to `limit_bytes`.

    gopls v0.24 calls SetMemoryLimit only for its `initialize` options and for the
    settings it re-reads after a `didChangeConfiguration`, never for the answers about
    its folders at start-up: `initialize` is where the limit must go. A value the editor
    already put there stays; a limit of 0 adds nothing. The input is not modified.
    """
    if limit_bytes <= 0:
        return initialization_options
    if initialization_options is None:
        return {GOPLS_MEMORY_LIMIT_KEY: limit_bytes}
    if isinstance(initialization_options, Mapping) and GOPLS_MEMORY_LIMIT_KEY not in initialization_options:
        return {**initialization_options, GOPLS_MEMORY_LIMIT_KEY: limit_bytes}
    return initialization_options


def user_memory_limit(gopls_settings: Any) -> int | None:
    """The user's own `memoryLimit` in one answer for section "gopls"; None when not set.

    gopls takes any JSON number with an integral value; anything else it rejects, so it
    counts as not set.
    """
    if not isinstance(gopls_settings, Mapping):
        return None
    value = gopls_settings.get(GOPLS_MEMORY_LIMIT_KEY)
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    if isinstance(value, float) and not value.is_integer():  # fractions, inf and nan
        return None
    return int(value)
