"""Remote backends against a real llama.cpp server on localhost (scripts/lib/llama_server.sh)."""

from __future__ import annotations

import json
import logging
import socket
import threading
import time
import tracemalloc
from collections.abc import Iterator

import pytest

from gosidecar.completion import CompletionRequest, CompletionService
from gosidecar.completion.remote import MAX_LINE_BYTES, RemoteEngine
from gosidecar.documents import position_at
from gosidecar.problems import SettingAction
from gosidecar.settings import AiSettings
from tests.completion.conftest import GOROOT, complete_at
from tests.completion.hostile_server import SSE_HEADERS, HostileServer, hostile_server
from tests.llama_server import LLAMA_SERVER, running_llama_server
from tests.support import free_port

MUTEX = (GOROOT / "src" / "sync" / "mutex.go").read_text()
HALF_TYPED = MUTEX.replace("\tm.mu.Unlock()", "\tm.mu.U", 1)
CURSOR = HALF_TYPED.index("\tm.mu.U") + len("\tm.mu.U")


@pytest.fixture(scope="module")
def llama_server() -> Iterator[str]:
    if not LLAMA_SERVER.is_file():
        pytest.skip("llama-server is not built: run scripts/lib/llama_server.sh")
    with running_llama_server() as url:
        yield url


def remote_service(backend: str) -> CompletionService:
    return CompletionService(AiSettings(backend=backend, debounceMs=0, timeBudgetMs=20000))


@pytest.mark.model
def test_openai_compatible_completions(llama_server: str) -> None:
    service = remote_service(f"{llama_server}/v1/completions")
    try:
        result = complete_at(service, HALF_TYPED, CURSOR)
        assert result.error is None, result.error
        assert result.text == "nlock()", "the half-typed word is completed, not repeated"
        health = service.health_section()
        assert health["state"] == "ready" and health["backend"] == f"{llama_server}/v1/completions"
        again = complete_at(service, HALF_TYPED[:CURSOR] + "n" + HALF_TYPED[CURSOR:], CURSOR + 1)
        assert again.source == "cache" and again.text == "lock()"
    finally:
        service.close()


@pytest.mark.model
def test_bare_server_url_means_v1_completions(llama_server: str) -> None:
    service = remote_service(llama_server)
    try:
        assert complete_at(service, HALF_TYPED, CURSOR).text == "nlock()"
    finally:
        service.close()


@pytest.mark.model
def test_cancel_closes_the_stream(llama_server: str) -> None:
    service = remote_service(llama_server)
    source = (GOROOT / "src" / "net" / "http" / "server.go").read_text()
    cursor = source.index("func (s *Server) Close() error {") + len("func (s *Server) Close() error {\n")
    line, character = position_at(source, cursor)
    cancel = threading.Event()
    threading.Timer(0.2, cancel.set).start()
    try:
        result = service.complete(CompletionRequest("file:///server.go", source, line, character), cancel)
        assert result.cancelled and result.text == ""
    finally:
        service.close()


@pytest.mark.model
def test_infill_on_a_model_without_fim_tokens_is_a_clear_error(llama_server: str) -> None:
    service = remote_service(f"{llama_server}/infill")
    try:
        result = complete_at(service, HALF_TYPED, CURSOR)
        assert result.text == "" and result.error is not None and "HTTP" in result.error
        assert service.health_section()["state"] == "error"
        [problem] = service.problems()
        assert "goSidecar.ai.backend" in problem.fix
    finally:
        service.close()


def test_unreachable_server_is_an_error_state() -> None:
    service = remote_service(f"http://127.0.0.1:{free_port()}/v1/completions")
    try:
        result = complete_at(service, HALF_TYPED, CURSOR)
        assert result.text == "" and result.error is not None
        assert "cannot reach" in result.error and "local" in result.error
        assert service.health_section()["state"] == "error"
    finally:
        service.close()


def test_backend_that_is_not_a_url_is_an_error_state() -> None:
    service = remote_service("llama-server")
    try:
        result = complete_at(service, HALF_TYPED, CURSOR)
        assert result.error is not None and "neither `local` nor an http(s) URL" in result.error
    finally:
        service.close()


# ----------------------------------------------------------------- hostile servers

TRICKLE_BYTES = 20
TRICKLE_INTERVAL_S = 0.5


def trickle(connection: socket.socket, server: HostileServer) -> None:
    """A valid start, then one byte every half second: 10 s in all unless the client hangs up."""
    connection.sendall(SSE_HEADERS)
    for byte in b'data: {"content": "x"'[:TRICKLE_BYTES].ljust(TRICKLE_BYTES):
        connection.sendall(bytes([byte]))
        time.sleep(TRICKLE_INTERVAL_S)  # the fault being injected, not a wait for a condition


def test_a_trickling_server_is_cut_at_the_request_deadline() -> None:
    """Budget 0.2 s: the exchange ends long before the server's 10 s trickle does."""
    with hostile_server(trickle) as server:
        service = CompletionService(AiSettings(backend=server.url, debounceMs=0, timeBudgetMs=200))
        try:
            result = complete_at(service, HALF_TYPED, CURSOR)
            assert not server.finished.is_set(), "the request waited for the whole trickle"
            assert result.text == "" and result.error is not None and "no token" in result.error
            assert service.health_section()["state"] == "error"
            [problem] = service.problems()
            assert "goSidecar.ai.backend" in problem.fix
        finally:
            service.close()


def test_a_huge_line_is_refused_without_buffering_it() -> None:
    block = b"x" * (1024 * 1024)

    def huge_line(connection: socket.socket, server: HostileServer) -> None:
        connection.sendall(SSE_HEADERS + b"data: ")
        for _ in range(64):  # a 64 MiB line, sent from one preallocated block
            connection.sendall(block)

    with hostile_server(huge_line) as server:
        service = CompletionService(AiSettings(backend=server.url, debounceMs=0, timeBudgetMs=20000))
        tracemalloc.start()
        try:
            result = complete_at(service, HALF_TYPED, CURSOR)
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
            service.close()
    assert result.error is not None and f"line over {MAX_LINE_BYTES >> 10} KiB" in result.error
    assert peak < 8 * 1024 * 1024, f"{peak >> 20} MiB allocated for a refused line"


@pytest.mark.parametrize(
    "payload",
    [
        b"[1, 2]",
        b'"text"',
        b"null",
        b'{"choices": "nlock()"}',
        b'{"choices": [{"text": 5}]}',
        b'{"choices": [{"text": "n", "finish_reason": 1}]}',
        b'{"choices": [{"text": "n"}], "timings": [1]}',
        b'{"choices": [{"text": "n"}], "timings": {"prompt_n": "many"}}',
        b'{"choices": ' + b"[" * 20000 + b"]" * 20000 + b"}",
        b"[" * 30000 + b"]" * 30000,
        b'{"error": {"code": 500, "message": "model crashed"}}',
    ],
)
def test_malformed_events_are_a_one_line_error_in_the_health_report(payload: bytes) -> None:
    def malformed(connection: socket.socket, server: HostileServer) -> None:
        connection.sendall(SSE_HEADERS + b"data: " + payload + b"\n\n")

    with hostile_server(malformed) as server:
        service = CompletionService(AiSettings(backend=server.url, debounceMs=0, timeBudgetMs=20000))
        try:
            result = complete_at(service, HALF_TYPED, CURSOR)
            assert result.text == "" and result.error is not None
            assert "\n" not in result.error and server.url in result.error
            assert service.health_section()["state"] == "error"
            [problem] = service.problems()
            assert problem.severity == "error" and "goSidecar.ai.backend" in problem.fix
        finally:
            service.close()


def test_a_well_formed_stub_stream_still_completes() -> None:
    """The shape checks accept what an OpenAI-compatible server sends."""

    def well_formed(connection: socket.socket, server: HostileServer) -> None:
        events = [{"choices": [{"text": piece, "finish_reason": None}]} for piece in ("U", "nlock", "()")]
        events.append({"choices": [{"text": "", "finish_reason": "stop"}]})
        body = b"".join(b"data: " + json.dumps(event).encode() + b"\n\n" for event in events)
        connection.sendall(SSE_HEADERS + body + b"data: [DONE]\n\n")

    with hostile_server(well_formed) as server:
        service = CompletionService(AiSettings(backend=server.url, debounceMs=0, timeBudgetMs=20000))
        try:
            assert complete_at(service, HALF_TYPED, CURSOR).text == "nlock()"
            assert service.health_section()["state"] == "ready" and service.problems() == []
        finally:
            service.close()


@pytest.mark.parametrize(
    ("backend", "warned"),
    [
        ("http://192.0.2.7:8080/v1/completions", True),
        ("http://completions.example.com/infill", True),
        ("https://completions.example.com/infill", False),
        ("http://127.0.0.1:8080/infill", False),
        ("http://[::1]:8080/infill", False),
        ("http://localhost:8080", False),
    ],
)
def test_plain_http_to_another_host_is_a_warning(backend: str, warned: bool, caplog: pytest.LogCaptureFixture) -> None:
    service = CompletionService(AiSettings(backend=backend))
    try:
        warnings = [p for p in service.problems() if "unencrypted" in p.message]
        assert len(warnings) == int(warned)
        if warned:
            assert warnings[0].severity == "warning" and "https://" in warnings[0].fix
            assert warnings[0].action == SettingAction("ai.backend")
        with caplog.at_level(logging.WARNING):
            RemoteEngine(backend)
        assert any("unencrypted" in record.getMessage() for record in caplog.records) == warned
    finally:
        service.close()
