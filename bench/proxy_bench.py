"""What the proxy costs: the same requests to gopls directly and through the sidecar.

Both editors run at once on the same workspace and their requests are interleaved, so
machine noise hits both alike. Reports per-method p50/p95 and the added latency, a
didChange storm, and a 5 MB answer against a plain memory copy of the same size.
"""

from __future__ import annotations

import json
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.support import percentile
from gosidecar.documents import position_at
from gosidecar.gopls_process import find_gopls
from gosidecar.uris import path_to_uri
from tests.lsp_client import LspClient
from tests.support import FAKE_GOPLS, copy_stdlib_workspace, sidecar_command

OUTPUT = ROOT / "test-output" / "bench" / "proxy.json"
LIST = "container_list/list.go"
ROUNDS = 300
STORM_EDITS = 2000
BIG_BYTES = 5_000_000


def timed(call: Callable[[], Any]) -> float:
    start = time.perf_counter()
    call()
    return (time.perf_counter() - start) * 1000


def timed_request(client: LspClient, method: str, params: Any) -> float:
    start = time.perf_counter()
    client.request(method, params)
    return (time.perf_counter() - start) * 1000


def start_pair(command_direct: list[str], root: Path, options: Any = None) -> tuple[LspClient, LspClient]:
    direct = LspClient(command_direct, cwd=str(root))
    sidecar = LspClient(sidecar_command(), cwd=str(root))
    for client in (direct, sidecar):
        client.initialize(path_to_uri(root), options)
    return direct, sidecar


def request_mix(root: Path) -> dict[str, dict[str, float]]:
    text = (root / LIST).read_text()
    uri = path_to_uri(root / LIST)

    def at(needle: str, shift: int) -> dict[str, int]:
        line, character = position_at(text, text.index(needle) + shift)
        return {"line": line, "character": character}

    doc = {"textDocument": {"uri": uri}}
    mix = {
        "hover": ("textDocument/hover", {**doc, "position": at("func (l *List) PushBack", 16)}),
        "definition": (
            "textDocument/definition",
            {**doc, "position": at("l.insertValue(v, l.root.prev)", 2)},
        ),
        "references": (
            "textDocument/references",
            {**doc, "position": at("func (l *List) lazyInit", 15), "context": {"includeDeclaration": True}},
        ),
        "completion": ("textDocument/completion", {**doc, "position": at("l.root.prev", 2)}),
        "documentSymbol": ("textDocument/documentSymbol", doc),
    }
    direct, sidecar = start_pair([find_gopls(), "serve"], root)
    try:
        for client in (direct, sidecar):
            client.notify(
                "textDocument/didOpen",
                {"textDocument": {"uri": uri, "languageId": "go", "version": 1, "text": text}},
            )
            client.request("workspace/symbol", {"query": ""}, timeout=120)
        samples: dict[str, dict[str, list[float]]] = {name: {"direct": [], "sidecar": []} for name in mix}
        for round_index in range(ROUNDS + 20):
            for name, (method, params) in mix.items():
                order = [("direct", direct), ("sidecar", sidecar)]
                if round_index % 2:
                    order.reverse()
                for label, client in order:
                    elapsed = timed_request(client, method, params)
                    if round_index >= 20:  # warm-up rounds are not counted
                        samples[name][label].append(elapsed)
        return {name: summarize(s["direct"], s["sidecar"]) for name, s in samples.items()}
    finally:
        for client in (direct, sidecar):
            client.shutdown()


def summarize(direct: list[float], sidecar: list[float]) -> dict[str, float]:
    d50, s50 = statistics.median(direct), statistics.median(sidecar)
    return {
        "directP50Ms": d50,
        "directP95Ms": percentile(direct, 0.95),
        "sidecarP50Ms": s50,
        "sidecarP95Ms": percentile(sidecar, 0.95),
        "addedP50Ms": s50 - d50,
        "ratioP50": s50 / d50,
    }


def echo_overhead(root: Path) -> dict[str, float]:
    """A trivial request to a fake gopls: the proxy's own cost with gopls's work removed."""
    direct, sidecar = start_pair([str(FAKE_GOPLS), "serve"], root, {"gopls": {"path": str(FAKE_GOPLS)}})
    try:
        samples: dict[str, list[float]] = {"direct": [], "sidecar": []}
        for round_index in range(2000):
            for label, client in (("direct", direct), ("sidecar", sidecar)):
                elapsed = timed_request(client, "fake/echo", {"i": round_index})
                if round_index >= 100:
                    samples[label].append(elapsed)
        result = summarize(samples["direct"], samples["sidecar"])
        big = {
            label: [timed_request(client, "fake/big", {"size": BIG_BYTES}) for _ in range(10)]
            for label, client in (("direct", direct), ("sidecar", sidecar))
        }
        payload = bytearray(BIG_BYTES)
        copy_ms = statistics.median(timed(lambda: bytes(payload)) for _ in range(20))
        added_big = statistics.median(big["sidecar"]) - statistics.median(big["direct"])
        result.update(
            {
                "big5MBDirectMs": statistics.median(big["direct"]),
                "big5MBSidecarMs": statistics.median(big["sidecar"]),
                "big5MBAddedMs": added_big,
                "memcpy5MBMs": copy_ms,
            }
        )
        return result
    finally:
        for client in (direct, sidecar):
            client.shutdown()


def did_change_storm(root: Path) -> dict[str, float]:
    path = root / "container_ring" / "ring.go"
    uri = path_to_uri(path)
    text = path.read_text()
    direct, sidecar = start_pair([find_gopls(), "serve"], root)
    results: dict[str, float] = {}
    try:
        for label, client in (("direct", direct), ("sidecar", sidecar)):
            client.notify(
                "textDocument/didOpen",
                {"textDocument": {"uri": uri, "languageId": "go", "version": 1, "text": text}},
            )
            client.request("workspace/symbol", {"query": ""}, timeout=120)
            start = time.perf_counter()
            for version in range(2, STORM_EDITS + 2):
                edit = {
                    "range": {"start": {"line": 0, "character": 0}, "end": {"line": 0, "character": 0}},
                    "text": "/",
                }
                client.notify(
                    "textDocument/didChange",
                    {"textDocument": {"uri": uri, "version": version}, "contentChanges": [edit]},
                )
            client.request("textDocument/documentSymbol", {"textDocument": {"uri": uri}}, timeout=120)
            elapsed = time.perf_counter() - start
            results[f"{label}EditsPerS"] = STORM_EDITS / elapsed
            results[f"{label}Ms"] = elapsed * 1000
    finally:
        for client in (direct, sidecar):
            client.shutdown()
    return results


def main() -> int:
    with tempfile.TemporaryDirectory() as tmp:
        root = copy_stdlib_workspace(Path(tmp))
        figures = {
            "requests": request_mix(root),
            "echo": echo_overhead(root),
            "storm": did_change_storm(root),
        }
    OUTPUT.parent.mkdir(parents=True, exist_ok=True)
    OUTPUT.write_text(json.dumps(figures, indent=2))
    print(render(figures))
    return 0


def render(figures: dict[str, Any]) -> str:
    lines = [
        f"### Proxy overhead (real gopls, interleaved, {ROUNDS} rounds)",
        "",
        "| method | direct p50 | direct p95 | sidecar p50 | sidecar p95 | added p50 | ratio p50 |",
        "|---|---|---|---|---|---|---|",
    ]
    for name, f in figures["requests"].items():
        lines.append(
            f"| {name} | {f['directP50Ms']:.3f} ms | {f['directP95Ms']:.3f} ms | {f['sidecarP50Ms']:.3f} ms | "
            f"{f['sidecarP95Ms']:.3f} ms | {f['addedP50Ms'] * 1000:+.0f} µs | {f['ratioP50']:.3f} |"
        )
    echo, storm = figures["echo"], figures["storm"]
    lines += [
        "",
        f"- trivial request to a fake gopls (the proxy alone): direct p50 {echo['directP50Ms']:.3f} ms, "
        f"through the sidecar {echo['sidecarP50Ms']:.3f} ms: **added {echo['addedP50Ms'] * 1000:.0f} µs** at p50",
        f"- 5 MB answer: direct {echo['big5MBDirectMs']:.1f} ms, through the sidecar {echo['big5MBSidecarMs']:.1f} ms "
        f"(added {echo['big5MBAddedMs']:.1f} ms; one 5 MB memory copy here takes {echo['memcpy5MBMs']:.2f} ms)",
        f"- didChange storm ({STORM_EDITS} incremental edits, then a request): "
        f"direct {storm['directEditsPerS']:.0f} edits/s, "
        f"through the sidecar {storm['sidecarEditsPerS']:.0f} edits/s",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    raise SystemExit(main())
