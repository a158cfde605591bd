"""Typed sidecar settings.

The extension sends `goSidecar.*` settings as `initializationOptions`, nested by the
dots (`goSidecar.memory.limitMB` arrives as `{"memory": {"limitMB": ...}}`), and later
changes as `workspace/didChangeConfiguration` with `{"settings": {"goSidecar": {...}}}`.
Unknown keys are ignored and wrong types fall back to the default, so a bad value in a
user's settings.json never stops the sidecar.
"""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, cast

import psutil

KvCacheType = Literal["q8_0", "q4_0", "f16"]
KV_CACHE_TYPES: tuple[KvCacheType, ...] = ("q8_0", "q4_0", "f16")

# gopls rarely needs more than a few GB; a quarter of the machine, capped, leaves room
# for the editor, the build and the local model.
_DEFAULT_LIMIT_SHARE = 0.25
_DEFAULT_LIMIT_CAP_MB = 8192


def default_memory_limit_mb() -> int:
    total_mb = psutil.virtual_memory().total // (1024 * 1024)
    return int(min(total_mb * _DEFAULT_LIMIT_SHARE, _DEFAULT_LIMIT_CAP_MB))


@dataclass
class GoplsSettings:
    path: str = ""
    """gopls binary; empty = discover (PATH, then $(go env GOPATH)/bin)."""
    args: list[str] = field(default_factory=list)
    """Extra gopls command-line flags, e.g. ["-rpc.trace", "-logfile=/tmp/gopls.log"]."""
    env: dict[str, str] = field(default_factory=dict)
    """Extra environment for gopls."""


@dataclass
class MemorySettings:
    limitMB: int = field(default_factory=default_memory_limit_mb)  # noqa: N815 (wire name)
    """gopls memory limit in MiB; 0 = no limit."""
    spikeMB: int = 512  # noqa: N815 (wire name)
    """Growth above this session's usual RSS, in MiB, that counts as a spike; 0 = no spike restarts."""


@dataclass
class FileEventSettings:
    debounceMs: int = 100  # noqa: N815 (wire name)
    """Window in which watched-file events of one real file collapse into one."""


@dataclass
class AiSettings:
    enabled: bool = True
    """Local AI inline completions on/off."""
    modelPath: str = ""  # noqa: N815 (wire name)
    """A GGUF file; empty = the embedded default model."""
    kvCacheType: KvCacheType = "q8_0"  # noqa: N815 (wire name)
    """KV cache type for K and V."""
    backend: str = "local"
    """`local`, or the URL of a llama.cpp server (/infill) or an OpenAI-compatible server."""
    idleUnloadMinutes: float = 15.0  # noqa: N815 (wire name)
    """Unload the model after this long without requests to give memory back; 0 = never."""
    maxTokens: int = 48  # noqa: N815 (wire name)
    """Most tokens generated for one suggestion."""
    timeBudgetMs: int = 1500  # noqa: N815 (wire name)
    """Give up on a suggestion after this long."""
    debounceMs: int = 120  # noqa: N815 (wire name)
    """Wait this long after a keystroke before asking the model."""
    grounding: bool = True
    """Ground suggestions in gopls: its names at the cursor constrain and check the first identifier."""


@dataclass
class Settings:
    gopls: GoplsSettings = field(default_factory=GoplsSettings)
    memory: MemorySettings = field(default_factory=MemorySettings)
    fileEvents: FileEventSettings = field(default_factory=FileEventSettings)  # noqa: N815
    ai: AiSettings = field(default_factory=AiSettings)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


SettingsListener = Callable[[Settings, Settings], None]
"""Called with (old, new) after the settings changed."""


class SettingsStore:
    """The current settings, in one place: services read `current` or subscribe.

    Updates come from the editor's reader thread (`initialize`, then each
    `workspace/didChangeConfiguration`); listeners run there, in the order they
    subscribed, and only when something changed.
    """

    def __init__(self, initial: Settings | None = None) -> None:
        self._current = initial if initial is not None else Settings()
        self._listeners: list[SettingsListener] = []
        self._lock = threading.Lock()

    @property
    def current(self) -> Settings:
        return self._current

    def subscribe(self, listener: SettingsListener) -> None:
        self._listeners.append(listener)

    def update(self, new: Settings) -> bool:
        """Make `new` current; True (after the listeners ran) when it differs from the old."""
        with self._lock:
            old, self._current = self._current, new
        if new == old:
            return False
        for listener in self._listeners:
            listener(old, new)
        return True


def parse_settings(raw: object, base: Settings | None = None) -> Settings:
    """Merge `raw` (the nested goSidecar object) over `base` (or the defaults)."""
    result = base if base is not None else Settings()
    if not isinstance(raw, Mapping):
        return result
    return cast(Settings, _merge(result, raw))


def settings_from_configuration_change(params: object, base: Settings) -> Settings:
    """Settings from `workspace/didChangeConfiguration` params; `base` when absent."""
    if not isinstance(params, Mapping):
        return base
    all_settings = params.get("settings")
    if not isinstance(all_settings, Mapping):
        return base
    return parse_settings(all_settings.get("goSidecar"), base)


def _merge(current: object, raw: Mapping[str, Any]) -> object:
    updates: dict[str, Any] = {}
    for f in dataclasses.fields(current):  # type: ignore[arg-type]
        if f.name not in raw:
            continue
        value = raw[f.name]
        old = getattr(current, f.name)
        if dataclasses.is_dataclass(old):
            if isinstance(value, Mapping):
                updates[f.name] = _merge(old, value)
        elif _same_kind(old, value) and _allowed(f.name, value):
            updates[f.name] = value
    return dataclasses.replace(current, **updates)  # type: ignore[type-var]


def _same_kind(old: object, value: object) -> bool:
    if isinstance(old, bool) or isinstance(value, bool):
        return isinstance(old, bool) and isinstance(value, bool)
    if isinstance(old, (int, float)):
        return isinstance(value, (int, float)) and value >= 0
    if isinstance(old, list):
        return isinstance(value, list) and all(isinstance(v, str) for v in value)
    if isinstance(old, dict):
        return isinstance(value, Mapping) and all(isinstance(v, str) for v in value.values())
    return isinstance(value, type(old))


def _allowed(name: str, value: object) -> bool:
    return name != "kvCacheType" or value in KV_CACHE_TYPES


# ----- gopls's own settings, as the editor answers gopls's `workspace/configuration` -----

GOPLS_SECTION = "gopls"


@dataclass(frozen=True)
class GoplsSettingsAnswer:
    scoped: bool
    """The item named a folder (`scopeUri`): gopls asked about that folder's settings."""
    settings: object
    """The editor's answer for section "gopls", as it came."""


def gopls_settings_answers(request_params: object, result: object) -> list[GoplsSettingsAnswer]:
    """The answers for section "gopls", paired with the items gopls asked about, in order."""
    items = request_params.get("items") if isinstance(request_params, Mapping) else None
    if not isinstance(items, list) or not isinstance(result, list):
        return []
    return [
        GoplsSettingsAnswer(bool(item.get("scopeUri")), answer)
        for item, answer in zip(items, result, strict=False)
        if isinstance(item, Mapping) and item.get("section") == GOPLS_SECTION
    ]
