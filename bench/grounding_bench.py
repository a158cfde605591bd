"""Ghost text grounded in gopls (issue 11): grounding off vs on, through `gosidecar serve`
with the real gopls and the embedded model.

Held-out cases are built at run time from standard-library code that is not in this
repository nor in its tests (`HELD_OUT`, copied into a temporary module): the cursor right
after `x.` at member accesses spread evenly through the files, the rest of the line gone,
visited in file order in one editor session per mode (the cursor jumps between them).
Per site: whether the ghost text's first identifier is the one the author wrote, whether
the package still builds (`go build`) with the ghost text accepted, and the latency of the
inline completion request.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("GOSIDECAR_AI_NICENESS", "0")

from bench.support import percentile
from gosidecar.documents import offset_at, position_at
from gosidecar.uris import path_to_uri
from tests.lsp_client import LspClient

GOROOT = Path(subprocess.run(["go", "env", "GOROOT"], capture_output=True, text=True, check=True).stdout.strip())
OUTPUT = ROOT / "test-output" / "bench" / "grounding.json"
HELD_OUT = ("encoding/csv/reader.go", "encoding/csv/writer.go", "text/tabwriter/tabwriter.go")
SITES = 40
_MEMBER = re.compile(r"\b([a-z]\w*)\.([A-Za-z_]\w*)")
_CODE_LINE = re.compile(r"(?m)^\t+(?![\t/]).*$")


@dataclass(frozen=True)
class Site:
    path: Path
    original: str
    cursor: int
    """Right after the `.`, in the file with the rest of the line removed."""
    expected: str
    """The identifier the author wrote there."""

    @property
    def cut(self) -> str:
        line_end = self.original.index("\n", self.cursor)
        return self.original[: self.cursor] + self.original[line_end:]


def held_out_module() -> Path:
    module = Path(tempfile.mkdtemp(prefix="gosidecar-grounding-"))
    (module / "go.mod").write_text("module example.com/heldout\n\ngo 1.21\n")
    for relative in HELD_OUT:
        target = module / Path(relative).parent.name / Path(relative).name
        target.parent.mkdir(exist_ok=True)
        shutil.copy(GOROOT / "src" / relative, target)
    return module


def member_sites(module: Path) -> list[Site]:
    found = []
    for relative in HELD_OUT:
        path = module / Path(relative).parent.name / Path(relative).name
        text = path.read_text()
        for line in _CODE_LINE.finditer(text):
            member = _MEMBER.search(line.group())
            if member is not None:
                found.append(Site(path, text, line.start() + member.start(2), member.group(2)))
    step = len(found) / SITES
    return [found[int(index * step)] for index in range(min(SITES, len(found)))]


def builds(module: Path, site: Site, ghost: dict[str, Any] | None) -> bool:
    """Whether the site's package builds with the ghost text accepted (restored afterwards)."""
    text = site.cut
    if ghost is not None:
        start = offset_at(text, ghost["range"]["start"])
        end = offset_at(text, ghost["range"]["end"])
        text = text[:start] + ghost["insertText"] + text[end:]
    site.path.write_text(text)
    try:
        package = "./" + site.path.parent.name
        done = subprocess.run(["go", "build", package], cwd=module, capture_output=True, check=False)
        return done.returncode == 0
    finally:
        site.path.write_text(site.original)


def first_identifier(text: str) -> str:
    found = re.match(r"\w+", text)
    return found.group() if found else ""


def set_text(client: LspClient, path: Path, text: str, versions: dict[Path, int]) -> str:
    """Open `path` in the editor with `text`, or change it to `text`; its URI."""
    uri = path_to_uri(path)
    version = versions[path] = versions.get(path, 0) + 1
    if version == 1:
        item = {"uri": uri, "languageId": "go", "version": 1, "text": text}
        client.notify("textDocument/didOpen", {"textDocument": item})
    else:
        change = {"textDocument": {"uri": uri, "version": version}, "contentChanges": [{"text": text}]}
        client.notify("textDocument/didChange", change)
    return uri


def session_run(module: Path, sites: list[Site], grounding: bool) -> dict[str, Any]:
    client = LspClient([sys.executable, "-m", "gosidecar", "serve"], cwd=str(module))
    client.initialize(path_to_uri(module), {"ai": {"debounceMs": 0, "grounding": grounding}})
    client.request("workspace/symbol", {"query": ""}, timeout=120)
    versions: dict[Path, int] = {}
    matched = compiled = 0
    latencies = []
    ghosts = []
    try:
        for previous, site in zip([None, *sites], sites, strict=False):
            if previous is not None and previous.path != site.path:  # the user left that file intact
                set_text(client, previous.path, previous.original, versions)
            uri = set_text(client, site.path, site.cut, versions)
            line, character = position_at(site.cut, site.cursor)
            params = {"textDocument": {"uri": uri}, "position": {"line": line, "character": character}}
            started = time.perf_counter()
            result = client.request("textDocument/inlineCompletion", {**params, "context": {"triggerKind": 2}}, 120)
            latencies.append((time.perf_counter() - started) * 1000)
            ghost = result["items"][0] if result and result["items"] else None
            ghosts.append(ghost["insertText"] if ghost else "")
            matched += ghost is not None and first_identifier(ghost["insertText"]) == site.expected
            compiled += builds(module, site, ghost)
        ai = client.request("goSidecar/health", {}, timeout=60)["ai"]
    finally:
        client.shutdown()
    later = latencies[1:]  # the first one loads the model
    return {
        "sites": len(sites),
        "nextIdentifierMatch": matched,
        "compilesAfterAccept": compiled,
        "p50Ms": round(percentile(later, 0.5)),
        "p95Ms": round(percentile(later, 0.95)),
        "meanMs": round(statistics.fmean(later)) if later else 0,
        "constrained": ai.get("groundingConstrained", 0),
        "cut": ai.get("groundingCut", 0),
        "dropped": ai.get("groundingDropped", 0),
        "ghostTexts": ghosts,
    }


def grounding_run() -> dict[str, Any]:
    module = held_out_module()
    try:
        sites = member_sites(module)
        return {
            "files": list(HELD_OUT),
            "expected": [site.expected for site in sites],
            "off": session_run(module, sites, grounding=False),
            "on": session_run(module, sites, grounding=True),
        }
    finally:
        shutil.rmtree(module)


def render(figures: dict[str, Any]) -> str:
    lines = [
        f"### Grounding in gopls (held out: {', '.join(f'`{f}`' for f in figures['files'])})",
        "",
        "| grounding | next identifier | compiles after accept | p50 after a jump | p95 "
        "| constrained | cut | dropped |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for mode in ("off", "on"):
        f = figures[mode]
        lines.append(
            f"| {mode} | {f['nextIdentifierMatch']}/{f['sites']} | {f['compilesAfterAccept']}/{f['sites']} "
            f"| {f['p50Ms']} ms | {f['p95Ms']} ms | {f['constrained']} | {f['cut']} | {f['dropped']} |"
        )
    lines.append("")
    lines.append("- targets: next identifier ≥ 85 %, compiles after accept ≥ 90 %, p50 after a jump ≤ 1 s")
    return "\n".join(lines)


def main() -> int:
    figures = grounding_run()
    OUTPUT.parent.mkdir(parents=True, exist_ok=True)
    OUTPUT.write_text(json.dumps(figures, indent=2))
    print(render(figures))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
