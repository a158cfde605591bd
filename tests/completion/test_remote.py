"""Remote backends against a real llama.cpp server on localhost (scripts/lib/llama_server.sh)."""

from __future__ import annotations

import socket
import subprocess
import threading
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from gosidecar.completion import CompletionRequest, CompletionService
from gosidecar.completion.model import default_model_path
from gosidecar.documents import position_at
from gosidecar.settings import AiSettings
from tests.completion.conftest import GOROOT, complete_at

SERVER = Path.home() / ".cache" / "gosidecar" / "llama-server-0.3.36" / "bin" / "llama-server"
MUTEX = (GOROOT / "src" / "sync" / "mutex.go").read_text()
HALF_TYPED = MUTEX.replace("\tm.mu.Unlock()", "\tm.mu.U", 1)
CURSOR = HALF_TYPED.index("\tm.mu.U") + len("\tm.mu.U")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@pytest.fixture(scope="module")
def llama_server() -> Iterator[str]:
    if not SERVER.is_file():
        pytest.skip("llama-server is not built: run scripts/lib/llama_server.sh")
    port = free_port()
    command = [str(SERVER), "-m", str(default_model_path()), "--host", "127.0.0.1", "--port", str(port)]
    command += ["-c", "4096", "-fa", "on", "-ctk", "q8_0", "-ctv", "q8_0", "-np", "1", "--no-webui"]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"{url}/health", timeout=1):
                    break
            except OSError:
                assert time.monotonic() < deadline, "llama-server did not start"
                time.sleep(0.2)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=10)


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
