"""`gosidecar health`: start gopls through the sidecar on a workspace and report."""

from __future__ import annotations

import itertools
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from .lsp_client import LspClient
from .uris import path_to_uri

_MIB = 1024 * 1024
_BARS = "▁▂▃▄▅▆▇█"
_SPARK_WIDTH = 60  # columns: one a minute for the hour of history
_RESTARTS_SHOWN = 3


def serve_command() -> list[str]:
    """`serve` under this interpreter, with the current directory kept off its import path.

    `-P` (3.11+) rather than `-I`: whatever let this process import gosidecar (user
    site-packages, PYTHONPATH) must work for the child too. The child also starts in a
    private directory, which covers 3.10.
    """
    safe_path = ["-P"] if sys.version_info >= (3, 11) else []
    return [sys.executable, *safe_path, "-m", "gosidecar", "serve"]


def health_command(workspace: Path, timeout: float) -> dict[str, Any]:
    """The health report of a sidecar started on `workspace`, once gopls has loaded it.

    The sidecar runs in an empty directory of its own, never in the workspace: `-m`
    would import a `gosidecar/` or `json.py` committed there in place of ours. gopls gets
    the workspace from `initialize`.
    """
    with tempfile.TemporaryDirectory(prefix="gosidecar-health-") as private_cwd:
        return _report(LspClient(serve_command(), cwd=private_cwd), workspace, timeout)


def _report(client: LspClient, workspace: Path, timeout: float) -> dict[str, Any]:
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
    rows += _history_rows(report.get("history"), limit)
    width = max(len(name) for name, _ in rows)
    lines = [f"{name.ljust(width)}  {value}" for name, value in rows]
    for problem in report.get("problems", []):
        lines.append(f"{problem['severity'].upper()}: {problem['message']}")
        if problem.get("fix"):
            lines.append(f"  fix: {problem['fix']}")
    return "\n".join(lines)


def _mib(value: float) -> str:
    return f"{value / _MIB:.0f} MiB"


def sparkline(values: Sequence[float | None], top: float | None = None) -> str:
    """One character per value, scaled from 0 to `top` (default: the largest); a gap for None."""
    present = [v for v in values if v is not None]
    scale = top if top else max(present, default=0)
    if not scale:
        return "".join(" " if v is None else _BARS[0] for v in values)
    last = len(_BARS) - 1
    return "".join(" " if v is None else _BARS[min(last, round(last * v / scale))] for v in values)


def _columns(values: Sequence[float | None], combine: Callable[[list[float]], float]) -> list[float | None]:
    """At most _SPARK_WIDTH columns: each combines a run of buckets (None when all empty)."""
    per_column = max(1, -(-len(values) // _SPARK_WIDTH))
    runs = [values[start : start + per_column] for start in range(0, len(values), per_column)]
    return [combine(present) if (present := [v for v in run if v is not None]) else None for run in runs]


def _history_rows(history: dict[str, Any] | None, limit: int) -> list[tuple[str, str]]:
    if not history:
        return []
    rss = history["rssBytes"]
    events = history["fileEvents"]
    minutes = len(rss["max"]) * history["bucketSeconds"] / 60
    peaks = _columns(rss["max"], max)
    latest = next((v for v in reversed(rss["mean"]) if v is not None), None)
    memory = f"{sparkline(peaks, top=max(limit, *(v or 0 for v in peaks)))} now {_mib(latest or 0)}"
    received, forwarded = _columns(events["received"], sum), _columns(events["forwarded"], sum)
    top = max((v or 0 for v in received), default=0)
    return [
        ("history", f"last {minutes:.0f} min, since {history['start']}"),
        ("  gopls RSS", memory + (f", limit {_mib(limit)} = full height" if limit else "")),
        ("  restarts", _restarts(history["restarts"])),
        ("  events received", f"{sparkline(received, top)} {sum(events['received'])}"),
        ("  events forwarded", f"{sparkline(forwarded, top)} {sum(events['forwarded'])}"),
        ("  suggestion ms", _latency(history["latencyMs"])),
        ("  ghost text", _acceptance(history["suggestions"])),
    ]


def _restarts(restarts: list[dict[str, Any]]) -> str:
    if not restarts:
        return "none"
    shown = restarts[-_RESTARTS_SHOWN:]
    return ", ".join(f"{r['time']} {r['reason']} ({_mib(r['rssBytes'])})" for r in shown)


def _latency(histogram: dict[str, Any]) -> str:
    edges, counts = histogram["edges"], histogram["counts"]
    if not sum(counts):
        return "no suggestions yet"
    labels = [f"<{edges[1]}", *(f"{low}-{high}" for low, high in itertools.pairwise(edges[1:])), f">{edges[-1]}"]
    return f"{sparkline(counts)}  bins {' '.join(labels)} ms, counts {' '.join(map(str, counts))}"


def _acceptance(suggestions: dict[str, Any]) -> str:
    shown, accepted = suggestions["shownTotal"], suggestions["acceptedTotal"]
    rate = f" ({100 * accepted / shown:.0f} %)" if shown else ""
    return f"{shown} shown, {accepted} accepted{rate}"


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
