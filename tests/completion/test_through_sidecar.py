"""Inline completions through `gosidecar serve` with the real model and a real gopls."""

from __future__ import annotations

import os
import signal
import statistics
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psutil
import pytest

from gosidecar.documents import position_at
from gosidecar.uris import path_to_uri
from tests.lsp_client import LspClient
from tests.support import GENEROUS_BUDGET_MS, sidecar_command, wait_until

pytestmark = [pytest.mark.model, pytest.mark.timeout(300)]

PRICING = "pricing/pricing.go"


class Editor:
    def __init__(self, client: LspClient, path: Path) -> None:
        self.client = client
        self.path = path
        self.uri = path_to_uri(path)
        self.text = path.read_text()
        self.version = 1

    def position(self, needle: str, shift: int = 0) -> dict[str, int]:
        line, character = position_at(self.text, self.text.index(needle) + shift)
        return {"line": line, "character": character}

    def half_type(self, needle: str, keep: int) -> dict[str, int]:
        """Cut the line holding `needle` after `keep` of its characters, as if being typed; the cursor's position."""
        start = self.text.index(needle)
        line_end = self.text.index("\n", start)
        self.text = self.text[: start + keep] + self.text[line_end:]
        self.version += 1
        change = {"textDocument": {"uri": self.uri, "version": self.version}, "contentChanges": [{"text": self.text}]}
        self.client.notify("textDocument/didChange", change)
        return self.position(needle[:keep], keep)

    def inline(self, position: dict[str, int], timeout: float = 120) -> Any:
        params = {"textDocument": {"uri": self.uri}, "position": position, "context": {"triggerKind": 2}}
        return self.client.request("textDocument/inlineCompletion", params, timeout=timeout)

    def hover_ms(self) -> float:
        started = time.perf_counter()
        result = self.client.request(
            "textDocument/hover", {"textDocument": {"uri": self.uri}, "position": self.position("func Total", 5)}
        )
        assert "Total sums quantity" in result["contents"]["value"]
        return (time.perf_counter() - started) * 1000


def open_editor(workspace: Path, options: dict[str, Any] | None = None) -> Editor:
    client = LspClient(sidecar_command(), cwd=str(workspace))
    client.initialize(path_to_uri(workspace), options)
    client.request("workspace/symbol", {"query": ""}, timeout=120)
    editor = Editor(client, workspace / PRICING)
    item = {"uri": editor.uri, "languageId": "go", "version": 1, "text": editor.text}
    client.notify("textDocument/didOpen", {"textDocument": item})
    return editor


@pytest.fixture
def editor(example_workspace: Path) -> Iterator[Editor]:
    opened = open_editor(example_workspace, {"ai": {"debounceMs": 0, "timeBudgetMs": GENEROUS_BUDGET_MS}})
    yield opened
    opened.client.shutdown()


def test_ghost_text_at_a_half_typed_line(editor: Editor) -> None:
    cursor = editor.half_type("sum += item.Quantity * item.UnitCents", len("sum += item."))
    result = editor.inline(cursor)
    item = result["items"][0]
    assert item["insertText"].strip(), "no suggestion at a half-typed line"
    assert item["range"]["start"] == cursor
    report = editor.client.request("goSidecar/health")["ai"]
    assert report["state"] == "ready" and report["modelQuantization"] == "Q4_K_M"
    assert report["kvCacheTypeK"] == report["kvCacheTypeV"] == "q8_0" and report["kvCacheBytes"] > 0


def test_gopls_answers_while_the_model_works(editor: Editor) -> None:
    before = [editor.hover_ms() for _ in range(15)]
    stop = threading.Event()
    busy_windows: list[tuple[float, float]] = []

    def complete_back_to_back() -> None:
        lines = editor.text.split("\n")
        index = 0
        while not stop.is_set():
            started = time.perf_counter()  # the end of a different line each time: no cache hits
            line = index % len(lines)
            editor.inline({"line": line, "character": len(lines[line])})
            busy_windows.append((started, time.perf_counter()))
            index += 1

    worker = threading.Thread(target=complete_back_to_back)
    worker.start()
    wait_until(lambda: busy_windows, 120, "a first completion")  # the model is loaded and busy
    during: list[float] = []
    overlapped = 0
    for _ in range(15):
        started = time.perf_counter()
        during.append(editor.hover_ms())
        overlapped += any(s <= started <= e for s, e in busy_windows)
        time.sleep(0.05)  # spreads the hovers over the completions: the load's pace, not a wait
    stop.set()
    worker.join(120)
    print(
        f"hover p50 without completions {statistics.median(before):.1f} ms, during {statistics.median(during):.1f} ms"
    )
    assert busy_windows, "no completion ran"
    # Hovers are answered in gopls time, not model time (a suggestion takes ~0.1–5 s here).
    assert statistics.median(during) < 250


def test_corrupt_model_is_a_clear_error_and_gopls_still_answers(example_workspace: Path, tmp_path: Path) -> None:
    broken = tmp_path / "broken.gguf"
    broken.write_bytes(b"GGUF" + b"\x00" * 64)
    editor = open_editor(example_workspace, {"ai": {"modelPath": str(broken), "debounceMs": 0}})
    try:
        result = editor.inline(editor.position("sum += item.Quantity", len("sum += item.")))
        assert result["items"] == []
        report = editor.client.request("goSidecar/health")
        assert report["ai"]["state"] == "error"
        assert "broken.gguf" in report["ai"]["error"] or "GGUF" in report["ai"]["error"]
        assert any("modelPath" in p["fix"] or "model" in p["fix"] for p in report["problems"])
        assert editor.hover_ms() < 10_000
    finally:
        editor.client.shutdown()


def test_a_crash_of_the_model_process_leaves_gopls_alone(editor: Editor) -> None:
    """An abort in llama.cpp (here: SIGABRT to the model process) costs a suggestion, not the sidecar."""
    wait_until(lambda: editor.client.request("goSidecar/health")["ai"]["loaded"], 120, "the warm-up")
    pid = editor.client.request("goSidecar/health")["ai"]["modelProcessPid"]
    assert pid > 0 and pid in {child.pid for child in psutil.Process().children(recursive=True)}
    os.kill(pid, signal.SIGABRT)
    wait_until(lambda: not psutil.pid_exists(pid) or psutil.Process(pid).status() == psutil.STATUS_ZOMBIE, 30, "abort")
    assert editor.hover_ms() < 10_000
    crashed = editor.inline(editor.half_type("return discount.Apply(sum)", len("return discount.")))
    assert crashed["items"] == []
    report = editor.client.request("goSidecar/health")
    assert report["ai"]["state"] == "error" and "SIGABRT" in report["ai"]["error"]
    assert any("the next completion request tries again" in p["fix"] for p in report["problems"])
    assert report["gopls"]["running"] and report["gopls"]["restarts"] == 0
    again = editor.inline(editor.half_type("return cents * (100 - d.Percent) / 100", len("return cents * (")))
    report = editor.client.request("goSidecar/health")["ai"]
    assert report["state"] == "ready" and report["modelProcessPid"] not in (0, pid), again
