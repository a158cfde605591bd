"""What the memory guard costs when it acts, with real gopls.

- detection latency: gopls's RSS crosses the limit (seen by an independent 20 ms
  poller here) → gopls is killed by the sidecar;
- kill -9 → the first hover answered by the new gopls (sent right after the kill, so
  it waits in the backlog and is answered after the replay);
- restart with 50 open documents → hover answered; the baseline in the same run is a
  cold start of gopls directly on the same workspace (initialize → first hover).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import psutil

from bench.proxy_bench import ROOT
from gosidecar.gopls_process import find_gopls
from gosidecar.memory_watchdog import tree_rss_bytes
from gosidecar.uris import path_to_uri
from tests.lsp_client import LspClient
from tests.support import EXAMPLE_WORKSPACE, huge_generated_go_file, sidecar_command

OUTPUT = ROOT / "test-output" / "bench" / "memory.json"
OPEN_DOCUMENTS = 50
RUNS = 5


def workspace(tmp: Path) -> Path:
    root = tmp / "ws"
    shutil.copytree(EXAMPLE_WORKSPACE, root)
    many = root / "many"
    many.mkdir()
    for i in range(OPEN_DOCUMENTS):
        (many / f"file_{i:02}.go").write_text(
            f"package many\n\n// Value{i} is value number {i}.\nfunc Value{i}() int {{ return {i} }}\n"
        )
    return root


def start(root: Path, options: dict[str, Any] | None = None, command: list[str] | None = None) -> LspClient:
    client = LspClient(command or sidecar_command(), cwd=str(root))
    client.initialize(path_to_uri(root), options)
    return client


def hover(client: LspClient, root: Path, i: int) -> Any:
    uri = path_to_uri(root / "many" / f"file_{i:02}.go")
    return client.request("textDocument/hover", {"textDocument": {"uri": uri}, "position": {"line": 3, "character": 6}})


def open_all(client: LspClient, root: Path) -> None:
    for i in range(OPEN_DOCUMENTS):
        path = root / "many" / f"file_{i:02}.go"
        item = {"uri": path_to_uri(path), "languageId": "go", "version": 1, "text": path.read_text()}
        client.notify("textDocument/didOpen", {"textDocument": item})


def gopls_pid(client: LspClient) -> int:
    return int(client.request("goSidecar/health")["gopls"]["pid"])


def detection_latency(root: Path) -> float:
    client = start(root, {"memory": {"spikeMB": 0}})
    try:
        client.request("workspace/symbol", {"query": ""}, timeout=120)
        pid = gopls_pid(client)
        baseline = tree_rss_bytes(pid)
        limit_mb = baseline // 2**20 + 150
        client.notify(
            "workspace/didChangeConfiguration", {"settings": {"goSidecar": {"memory": {"limitMB": limit_mb}}}}
        )
        time.sleep(1.0)
        pid = gopls_pid(client)  # a new limit restarts gopls (GOMEMLIMIT changes)
        uri = path_to_uri(root / "inventory" / "generated.go")
        item = {"uri": uri, "languageId": "go", "version": 1, "text": huge_generated_go_file(20000)}
        client.notify("textDocument/didOpen", {"textDocument": item})
        crossed = None
        while psutil.pid_exists(pid) and psutil.Process(pid).status() != psutil.STATUS_ZOMBIE:
            if crossed is None and tree_rss_bytes(pid) > limit_mb * 2**20:
                crossed = time.perf_counter()
            time.sleep(0.02)
        killed = time.perf_counter()
        client.notify("textDocument/didClose", {"textDocument": {"uri": uri}})
        assert crossed is not None, "gopls died before crossing the limit"
        return (killed - crossed) * 1000
    finally:
        client.shutdown()


def kill_to_hover(root: Path) -> list[float]:
    client = start(root)
    try:
        client.request("workspace/symbol", {"query": ""}, timeout=120)
        open_all(client, root)
        hover(client, root, 0)
        samples = []
        for _ in range(RUNS):
            pid = gopls_pid(client)
            start_time = time.perf_counter()
            os.kill(pid, signal.SIGKILL)
            assert hover(client, root, OPEN_DOCUMENTS - 1)
            samples.append((time.perf_counter() - start_time) * 1000)
            time.sleep(1.0)
        return samples
    finally:
        client.shutdown()


def replay_restart(root: Path) -> tuple[list[float], list[float]]:
    client = start(root)
    restarts, cold = [], []
    try:
        client.request("workspace/symbol", {"query": ""}, timeout=120)
        open_all(client, root)
        hover(client, root, 0)
        for _ in range(RUNS):
            start_time = time.perf_counter()
            client.request("goSidecar/restartGopls", timeout=120)
            assert hover(client, root, OPEN_DOCUMENTS - 1)
            restarts.append((time.perf_counter() - start_time) * 1000)
            start_time = time.perf_counter()
            direct = start(root, command=[find_gopls(), "serve"])
            open_all(direct, root)
            assert hover(direct, root, OPEN_DOCUMENTS - 1)
            cold.append((time.perf_counter() - start_time) * 1000)
            direct.shutdown()
        return restarts, cold
    finally:
        client.shutdown()


def main() -> int:
    with tempfile.TemporaryDirectory() as tmp:
        root = workspace(Path(tmp))
        figures = {
            "detectionLatencyMs": detection_latency(root),
            "killToHoverMs": kill_to_hover(root),
        }
        figures["restart50DocsMs"], figures["coldStart50DocsMs"] = replay_restart(root)
    OUTPUT.parent.mkdir(parents=True, exist_ok=True)
    OUTPUT.write_text(json.dumps(figures, indent=2))
    median = statistics.median
    print("### Memory guard (real gopls)\n")
    print("| measure | median | runs |\n|---|---|---|")
    print(
        f"| limit crossed → gopls killed (2 Hz sampling, 3 samples over) | {figures['detectionLatencyMs']:.0f} ms | 1 |"
    )
    kills = figures["killToHoverMs"]
    print(f"| kill -9 → first hover answered by the new gopls (first crash, no backoff) | {kills[0]:.0f} ms | 1 |")
    print(
        "| the same for crashes 2–5 in a row (backoff 0.5, 1, 2, 4 s) | "
        + ", ".join(f"{k:.0f}" for k in kills[1:])
        + " ms | 4 |"
    )
    print(
        f"| restart with {OPEN_DOCUMENTS} open documents replayed → hover | "
        f"{median(figures['restart50DocsMs']):.0f} ms | {RUNS} |"
    )
    print(
        f"| baseline: cold start of gopls directly, {OPEN_DOCUMENTS} documents opened → hover | "
        f"{median(figures['coldStart50DocsMs']):.0f} ms | {RUNS} |"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
