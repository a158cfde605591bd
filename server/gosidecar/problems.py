"""Problems that the health report shows, each with the fix a user can apply.

`fix` is the sentence a person reads; `action` is what the Health Check's fix button
does, typed so that the extension never has to parse the sentence: a setting to open
(or to set to a suggested value) or a command to run. Shapes in health_schema.json.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Protocol

Severity = Literal["error", "warning", "info"]
SettingValue = str | int | float | bool | None

SETTINGS_SECTION = "goSidecar"
"""The extension's settings section: a setting action names `goSidecar.<key>`."""


@dataclass(frozen=True)
class SettingAction:
    """Open the setting `goSidecar.<key>`, or set it to `value` when one is suggested."""

    key: str
    """Below the section, as in the settings dataclasses: `memory.limitMB`."""
    value: SettingValue = None
    """The suggested value; None: no suggestion, the button opens the setting."""

    def to_dict(self) -> dict[str, object]:
        return {"kind": "setting", "key": f"{SETTINGS_SECTION}.{self.key}", "value": self.value}


@dataclass(frozen=True)
class CommandAction:
    """Run one of the extension's commands, e.g. `goSidecar.restartGopls`."""

    name: str
    """Below the section: `restartGopls`."""
    title: str
    """The button's label."""

    def to_dict(self) -> dict[str, object]:
        return {"kind": "command", "command": f"{SETTINGS_SECTION}.{self.name}", "title": self.title}


Action = SettingAction | CommandAction

RESTART_GOPLS = CommandAction("restartGopls", "Restart gopls")


@dataclass(frozen=True)
class Problem:
    severity: Severity
    message: str
    fix: str
    action: Action | None = None
    """None: nothing to click; the extension offers to copy `fix`."""

    def to_dict(self) -> dict[str, object]:
        return {
            "severity": self.severity,
            "message": self.message,
            "fix": self.fix,
            "action": self.action.to_dict() if self.action is not None else None,
        }


class HealthSource(Protocol):
    """A part of the sidecar that reports one section of the health report."""

    def health_section(self) -> dict[str, object]: ...

    def problems(self) -> list[Problem]: ...
