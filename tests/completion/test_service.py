"""The completion service with the real model: suggestions, cancellation, cache, health."""

from __future__ import annotations

import threading
from pathlib import Path

import psutil
import pytest

from gosidecar.completion import CompletionRequest, CompletionService
from gosidecar.completion.local import PROMPT_BATCH
from gosidecar.completion.model import default_model_path
from gosidecar.completion.model_lifecycle import CONTEXT_TOKENS
from gosidecar.documents import position_at
from gosidecar.problems import SettingAction
from gosidecar.settings import AiSettings
from tests.completion.conftest import GOROOT, complete_at
from tests.support import EXAMPLE_WORKSPACE, wait_until

pytestmark = pytest.mark.model

MUTEX = (GOROOT / "src" / "sync" / "mutex.go").read_text()


def half_typed(text: str, line_start: str, typed: str) -> tuple[str, int]:
    """The document with the line beginning `line_start` cut after `typed` characters."""
    start = text.index(line_start)
    end = text.index("\n", start)
    cut = start + len(typed)
    return text[:cut] + text[end:], cut


@pytest.mark.parametrize(
    ("line_start", "typed", "expected"),
    [
        ("\tm.mu.Unlock()", "\tm.mu.U", "nlock()"),
        ("func (m *Mutex) Unlock() {", "func (m *Mute", "x) Unlock() {"),
    ],
)
def test_completes_half_typed_stdlib_lines(
    service: CompletionService, line_start: str, typed: str, expected: str
) -> None:
    text, cursor = half_typed(MUTEX, line_start, typed)
    result = complete_at(service, text, cursor)
    assert result.source == "model" and result.error is None
    assert result.text == expected


def test_completes_in_the_example_workspace(service: CompletionService) -> None:
    source = (EXAMPLE_WORKSPACE / "main.go").read_text()
    text, cursor = half_typed(source, '\t\tfmt.Fprintln(os.Stderr, "report:", err)', "\t\tfmt.Fprintln(os.")
    others = [(path.as_uri(), path.read_text()) for path in EXAMPLE_WORKSPACE.glob("*/*.go")]
    line, character = position_at(text, cursor)
    request = CompletionRequest("file:///main.go", text, line, character, extra_context=others)
    result = service.complete(request, threading.Event())
    assert result.text.startswith("Std"), result
    assert "\n" not in result.text


def test_typed_through_request_is_served_from_the_cache(service: CompletionService) -> None:
    text, cursor = half_typed(MUTEX, "\treturn m.mu.TryLock()", "\treturn ")
    first = complete_at(service, text, cursor)
    assert first.source == "model" and len(first.text) >= 3
    typed = first.text[:2]
    second = complete_at(service, text[:cursor] + typed + text[cursor:], cursor + 2)
    assert (second.source, second.text) == ("cache", first.text[2:])


def test_keystrokes_reuse_the_prompt_prefix(service: CompletionService) -> None:
    text, cursor = half_typed(MUTEX, "\tm.mu.Unlock()", "\tm.mu")
    first = complete_at(service, text, cursor)
    second = complete_at(service, text[:cursor] + ".L" + text[cursor:], cursor + 2)
    assert second.source == "model"
    assert second.reused_tokens >= second.prompt_tokens - 4 > 0
    assert first.prompt_tokens > 0


EVALUATING_CPU_S = 0.25
"""CPU the model process has used on a request once it evaluates the prompt: reading the
request and tokenizing it take milliseconds, one prompt batch (PROMPT_BATCH tokens) one to
two seconds (this prompt, ~1200 tokens, took 23 s of CPU), so a cancel sent then lands
inside a batch, which is finished and kept. CPU, not wall time: a starved process uses none."""


def cpu_seconds(process: psutil.Process) -> float:
    times = process.cpu_times()
    return float(times.user + times.system)


def cancel_once_evaluating(model_process: psutil.Process, cancel: threading.Event) -> None:
    before = cpu_seconds(model_process)
    try:
        wait_until(lambda: cpu_seconds(model_process) - before >= EVALUATING_CPU_S, 300, "the prompt's evaluation")
    finally:
        cancel.set()  # the fault injected (also when the wait failed: the test must not hang)


def test_cancel_stops_a_running_completion_and_keeps_its_work(service: CompletionService) -> None:
    source = (GOROOT / "src" / "net" / "http" / "server.go").read_text()
    cursor = source.index("func (s *Server) Close() error {")
    line, character = position_at(source, cursor)
    request = CompletionRequest("file:///server.go", source, line, character)
    service.warm_up()  # loading uses the model process's CPU too: it must be done first
    wait_until(lambda: service.health_section()["loaded"], 300, "the model to load")
    pid = service.health_section()["modelProcessPid"]
    assert isinstance(pid, int)
    model_process = psutil.Process(pid)
    cancel = threading.Event()
    canceller = threading.Thread(target=cancel_once_evaluating, args=(model_process, cancel))
    canceller.start()
    cancelled = service.complete(request, cancel)
    canceller.join()
    assert cancelled.cancelled and cancelled.text == ""
    resumed = service.complete(request, threading.Event())
    assert not resumed.cancelled
    # At least a whole batch: the prompt before shares a token or so with this one (BOS).
    assert resumed.reused_tokens >= PROMPT_BATCH, "the prompt batches evaluated before the cancel are kept"


class WatchedCancel(threading.Event):
    """A request's cancel event that tells when the service first looked at it: by then
    the request is the document's running one."""

    def __init__(self) -> None:
        super().__init__()
        self.looked_at = threading.Event()

    def is_set(self) -> bool:
        self.looked_at.set()
        return super().is_set()


def test_a_newer_request_for_the_document_supersedes_the_running_one(service: CompletionService) -> None:
    source = (GOROOT / "src" / "net" / "http" / "transport.go").read_text()
    cursor = source.index("func (t *Transport) CloseIdleConnections() {")
    results = {}

    def run(name: str, at: int, cancel: threading.Event) -> None:
        line, character = position_at(source, at)
        results[name] = service.complete(CompletionRequest("file:///transport.go", source, line, character), cancel)

    older_cancel = WatchedCancel()
    older = threading.Thread(target=run, args=("older", cursor, older_cancel))
    older.start()
    assert older_cancel.looked_at.wait(60), "the older request never started"
    run("newer", cursor + 5, threading.Event())
    older.join()
    assert results["older"].cancelled
    assert not results["newer"].cancelled


def test_health_reports_the_model(service: CompletionService) -> None:
    complete_at(service, *half_typed(MUTEX, "\tm.mu.Unlock()", "\tm.mu.U"))
    health = service.health_section()
    assert health["state"] == "ready" and health["loaded"] is True
    assert health["modelQuantization"] == "Q4_K_M"
    assert (health["kvCacheTypeK"], health["kvCacheTypeV"], health["flashAttention"]) == ("q8_0", "q8_0", True)
    assert health["contextTokens"] == CONTEXT_TOKENS
    assert health["kvCacheBytes"] == 18 * CONTEXT_TOKENS * 2 * 256 * 34 // 32
    assert isinstance(health["requests"], int) and health["requests"] > 0
    assert health["error"] is None
    assert service.problems() == []


def test_kv_cache_type_change_reloads_and_idle_unloads() -> None:
    service = CompletionService(AiSettings(debounceMs=0, idleUnloadMinutes=0.01))
    try:
        text, cursor = half_typed(MUTEX, "\tm.mu.Unlock()", "\tm.mu.U")
        assert complete_at(service, text, cursor).text == "nlock()"
        service.apply_settings(AiSettings(debounceMs=0, idleUnloadMinutes=0.01, kvCacheType="f16"))
        assert service.health_section()["loaded"] is False
        assert complete_at(service, text, cursor).text == "nlock()"
        assert service.health_section()["kvCacheBytes"] == 18 * CONTEXT_TOKENS * 2 * 256 * 2
        wait_until(lambda: not service.health_section()["loaded"], 10, "the idle unload")
        assert service.health_section()["loaded"] is False, "unloaded after the idle time"
        assert complete_at(service, text, cursor).text == "nlock()", "and loaded again on use"
    finally:
        service.close()


def test_corrupt_model_is_an_error_state_not_an_exception(tmp_path: Path) -> None:
    truncated = tmp_path / "truncated.gguf"
    with default_model_path().open("rb") as model:
        truncated.write_bytes(model.read(50 * 1024 * 1024))
    service = CompletionService(AiSettings(modelPath=str(truncated), debounceMs=0))
    try:
        result = complete_at(service, *half_typed(MUTEX, "\tm.mu.Unlock()", "\tm.mu.U"))
        assert result.text == "" and result.error is not None
        assert "truncated" in result.error and "goSidecar.ai.modelPath" in result.error
        health = service.health_section()
        assert health["state"] == "error" and health["error"] == result.error
        [problem] = service.problems()
        assert problem.severity == "error" and "modelPath" in problem.fix
        assert problem.action == SettingAction("ai.modelPath")  # the fix button opens that setting
    finally:
        service.close()


def test_disabled_service_answers_nothing() -> None:
    service = CompletionService(AiSettings(enabled=False))
    try:
        assert complete_at(service, MUTEX, 100).text == ""
        assert service.health_section()["state"] == "disabled"
    finally:
        service.close()
