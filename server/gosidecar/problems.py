"""Problems that the health report shows, each with the fix a user can apply."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Literal, Protocol

Severity = Literal["error", "warning", "info"]


@dataclass(frozen=True)
class Problem:
    severity: Severity
    message: str
    fix: str

    def to_dict(self) -> dict[str, str]:
        return asdict(self)


class HealthSource(Protocol):
    """A part of the sidecar that reports one section of the health report."""

    def health_section(self) -> dict[str, object]: ...

    def problems(self) -> list[Problem]: ...
