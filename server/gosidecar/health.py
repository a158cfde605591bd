"""`gosidecar health`: start gopls through the sidecar on a workspace and report."""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Any

from .lsp_client import LspClient
from .uris import path_to_uri

_MIB = 1024 * 1024


def health_command(workspace: Path, timeout: float) -> dict[str, Any]:
    """The health report of a sidecar started on `workspace`, once gopls has loaded it."""
    client = LspClient([sys.executable, "-m", "gosidecar", "serve"], cwd=str(workspace))
    try:
        client.initialize(path_to_uri(workspace))
        deadline = time.monotonic() + timeout
        # gopls answers workspace/symbol only once the workspace is loaded.
        client.request("workspace/symbol", {"query": ""}, timeout=timeout)
        report: dict[str, Any] = client.request("goSidecar/health", None, timeout=timeout)
        while report["ai"].get("state") == "loading" and time.monotonic() < deadline:
            time.sleep(0.2)  # the model loads in the background from the start
            report = client.request("goSidecar/health", None, timeout=timeout)
    finally:
        client.shutdown()
    return report


def format_report(report: dict[str, Any]) -> str:
    gopls = report.get("gopls", {})
    events = report.get("fileEvents", {})
    ai = report.get("ai", {})
    limit = gopls.get("memoryLimitBytes", 0)
    rows = [
        ("status", "ok" if report.get("ok") else "PROBLEMS"),
        ("gopls", f"{gopls.get('version') or '?'} at {gopls.get('path') or '?'}"),
        ("gopls process", f"pid {gopls.get('pid')} ({'running' if gopls.get('running') else 'not running'})"),
        (
            "gopls memory",
            f"{_mib(gopls.get('rssBytes', 0))} RSS, peak {_mib(gopls.get('peakRssBytes', 0))}, "
            f"limit {_mib(limit) if limit else 'off'}",
        ),
        ("gopls restarts", str(gopls.get("restarts", 0))),
        ("file events", _file_events(events)),
        ("AI completions", _ai(ai)),
    ]
    width = max(len(name) for name, _ in rows)
    lines = [f"{name.ljust(width)}  {value}" for name, value in rows]
    for problem in report.get("problems", []):
        lines.append(f"{problem['severity'].upper()}: {problem['message']}")
        if problem.get("fix"):
            lines.append(f"  fix: {problem['fix']}")
    return "\n".join(lines)


def _mib(value: int) -> str:
    return f"{value / _MIB:.0f} MiB"


def _file_events(events: dict[str, Any]) -> str:
    if "received" not in events:
        return str(events.get("state", "disabled"))
    return (
        f"{events['received']} received, {events['forwarded']} forwarded, "
        f"{events['suppressed']} suppressed ({events.get('debounceMs')} ms window)"
    )


def _ai(ai: dict[str, Any]) -> str:
    if not ai.get("enabled"):
        return "disabled"
    text = f"{ai.get('state')}: {ai.get('modelPath') or 'default model'} ({ai.get('modelQuantization', '?')})"
    text += f", KV cache {ai.get('kvCacheTypeK')}/{ai.get('kvCacheTypeV')}"
    if ai.get("error"):
        text += f" — {ai['error']}"
    return text
