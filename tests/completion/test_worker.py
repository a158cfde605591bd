"""The local model in its own process: a crash there is an error state, never a dead sidecar."""

from __future__ import annotations

import functools
import os
import signal
import socket
import struct
import subprocess
import sys
from multiprocessing.connection import Connection
from pathlib import Path

import psutil
import pytest

from gosidecar.completion import CompletionService, worker
from gosidecar.completion.cursor import CursorContext
from gosidecar.completion.engine import EngineCrashedError, Generation, Limits
from gosidecar.completion.gguf import read_gguf
from gosidecar.completion.model import ModelUnavailableError, default_model_path
from gosidecar.completion.postprocess import should_stop
from gosidecar.completion.prompt import build_prompt_text
from gosidecar.settings import AiSettings
from tests.completion.conftest import GOROOT, complete_at
from tests.completion.test_gguf import gguf_string
from tests.support import wait_until

MUTEX = (GOROOT / "src" / "sync" / "mutex.go").read_text()
HALF_TYPED = MUTEX.replace("\tm.mu.Unlock()", "\tm.mu.U", 1)
CURSOR = HALF_TYPED.index("\tm.mu.U") + len("\tm.mu.U")


def aborting_model(path: Path) -> Path:
    """A GGUF header that passes the sidecar's checks but trips a GGML_ASSERT in llama.cpp's
    loader (more experts than LLAMA_MAX_EXPERTS), which aborts the process that loads it."""
    metadata = {
        "general.architecture": "llama",
        "llama.context_length": 2048,
        "llama.embedding_length": 64,
        "llama.block_count": 1,
        "llama.expert_count": 100_000,
        "llama.expert_used_count": 1,
    }
    body = b"GGUF" + struct.pack("<IQQ", 3, 0, len(metadata))
    for key, value in metadata.items():
        if isinstance(value, str):
            body += gguf_string(key) + struct.pack("<I", 8) + gguf_string(value)
        else:
            body += gguf_string(key) + struct.pack("<II", 4, value)
    path.write_bytes(body + b"\0" * (-len(body) % 32))
    return path


def kill_model_process(service: CompletionService, sig: signal.Signals) -> int:
    pid = service.health_section()["modelProcessPid"]
    assert isinstance(pid, int) and pid > 0 and pid != os.getpid()
    os.kill(pid, sig)
    wait_until(lambda: psutil.Process(pid).status() == psutil.STATUS_ZOMBIE, 30, "the model process to die")
    return pid


def test_a_model_that_aborts_llama_cpp_is_an_error_state(tmp_path: Path) -> None:
    """In the sidecar's own process this model would abort the sidecar (and the gopls proxy)."""
    model = aborting_model(tmp_path / "aborts.gguf")
    service = CompletionService(AiSettings(modelPath=str(model), debounceMs=0))
    try:
        result = complete_at(service, HALF_TYPED, CURSOR)
        assert result.text == "" and result.error is not None
        assert "crashed (SIGABRT)" in result.error and "goSidecar.ai.modelPath" in result.error
        health = service.health_section()
        assert health["state"] == "error" and health["loaded"] is False
        [problem] = [p for p in service.problems() if p.severity == "error"]
        assert "modelPath" in problem.fix
        assert complete_at(service, HALF_TYPED, CURSOR).error == result.error, "not retried until the file changes"
    finally:
        service.close()


@pytest.mark.model
def test_a_crashed_model_process_is_restarted_by_the_next_request() -> None:
    service = CompletionService(AiSettings(debounceMs=0, timeBudgetMs=5000))
    try:
        assert complete_at(service, HALF_TYPED, CURSOR).text == "nlock()"
        killed = kill_model_process(service, signal.SIGABRT)
        crashed = complete_at(service, HALF_TYPED, CURSOR, uri="file:///crash.go")  # not a cache hit
        assert crashed.text == "" and crashed.error is not None and "crashed (SIGABRT)" in crashed.error
        health = service.health_section()
        assert health["state"] == "error" and health["modelProcessCrashes"] == 1
        [problem] = service.problems()
        assert "the next completion request tries again" in problem.fix
        restarted = complete_at(service, HALF_TYPED, CURSOR, uri="file:///restart.go")
        assert restarted.text == "nlock()" and restarted.error is None
        health = service.health_section()
        assert health["state"] == "ready" and health["modelProcessPid"] not in (0, killed)
        assert isinstance(health["loadMs"], int) and health["loadMs"] > 0
    finally:
        service.close()


@pytest.mark.model
def test_restarts_stop_after_repeated_crashes_until_the_settings_change() -> None:
    settings = AiSettings(debounceMs=0, timeBudgetMs=5000)
    service = CompletionService(settings)
    try:
        for crash in range(3):
            service.warm_up()
            wait_until(lambda: service.health_section()["loaded"], 120, "the model to load")
            kill_model_process(service, signal.SIGKILL)
            assert complete_at(service, HALF_TYPED, CURSOR, uri=f"file:///{crash}.go").error is not None
        given_up = complete_at(service, HALF_TYPED, CURSOR, uri="file:///given-up.go")
        assert given_up.error is not None and "not restarted" in given_up.error
        assert service.health_section()["loaded"] is False
        service.apply_settings(AiSettings(debounceMs=0, timeBudgetMs=5000, kvCacheType="f16"))
        assert complete_at(service, HALF_TYPED, CURSOR).text == "nlock()"
    finally:
        service.close()


@pytest.mark.model
def test_idle_unload_ends_the_model_process() -> None:
    service = CompletionService(AiSettings(debounceMs=0, idleUnloadMinutes=0.01))
    try:
        complete_at(service, HALF_TYPED, CURSOR)
        pid = service.health_section()["modelProcessPid"]
        assert isinstance(pid, int) and psutil.pid_exists(pid)
        wait_until(lambda: not service.health_section()["loaded"], 30, "the idle unload")
        assert service.health_section()["state"] == "unloaded"
        wait_until(lambda: not psutil.pid_exists(pid), 30, "the model process to exit")
    finally:
        service.close()


def test_a_service_that_has_loaded_nothing_is_not_ready() -> None:
    service = CompletionService(AiSettings())
    try:
        health = service.health_section()
        assert health["state"] == "unloaded" and health["loaded"] is False
    finally:
        service.close()


# A stand-in model process (fault injection): it loads at once, then works `busy_s` on the
# CPU, or sleeps that long, before it answers the first request; it never reads the cancel.
_STAND_IN = """
import json, sys, time
from multiprocessing.connection import Connection
connection = Connection(int(sys.argv[1]))
connection.recv()
connection.send_bytes(json.dumps({"loaded": True}).encode())
connection.recv()
until = time.monotonic() + float(sys.argv[3])
while time.monotonic() < until:
    if sys.argv[2] == "sleeps":
        time.sleep(0.05)
answer = {"generation": {"text": "", "finished": False, "cancelled": True}}
connection.send_bytes(json.dumps(answer).encode())
connection.recv()
"""


def stand_in_engine(monkeypatch: pytest.MonkeyPatch, how: str, busy_s: float) -> worker.WorkerEngine:
    def spawn() -> tuple[subprocess.Popen[bytes], Connection]:
        ours, theirs = socket.socketpair()
        command = [sys.executable, "-c", _STAND_IN, str(theirs.fileno()), how, str(busy_s)]
        process = subprocess.Popen(command, pass_fds=(theirs.fileno(),))
        theirs.close()
        return process, Connection(ours.detach())

    monkeypatch.setattr(worker, "_spawn", spawn)
    path = default_model_path()
    return worker.WorkerEngine(path, read_gguf(path), "q8_0", 3072)


def ask_and_cancel(engine: worker.WorkerEngine) -> Generation:
    prompt = build_prompt_text(HALF_TYPED, CURSOR, "file:///mutex.go")
    is_done = functools.partial(should_stop, CursorContext.at_offset(HALF_TYPED, CURSOR))
    return engine.generate(prompt, Limits(max_tokens=8, time_budget_s=30), lambda: True, is_done)


def test_a_model_process_still_working_after_the_cancel_grace_is_not_killed(monkeypatch: pytest.MonkeyPatch) -> None:
    """On a machine busy with builds the niced worker may need longer than the grace to reach
    the end of its prompt batch, where it sees the cancel: it uses CPU, so it is not hung."""
    monkeypatch.setattr(worker, "_CANCEL_GRACE_S", 0.3)
    engine = stand_in_engine(monkeypatch, "works", busy_s=2.0)
    try:
        assert ask_and_cancel(engine).cancelled
    finally:
        engine.close()


def test_a_model_process_that_stopped_is_killed_once_the_cancel_grace_ends(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(worker, "_CANCEL_GRACE_S", 0.5)
    path = default_model_path()
    engine = worker.WorkerEngine(path, read_gguf(path), "q8_0", 3072)  # the real model's process
    try:
        os.kill(engine.pid, signal.SIGSTOP)  # hung: it answers nothing and uses no CPU
        with pytest.raises(EngineCrashedError, match="stopped answering"):
            ask_and_cancel(engine)
    finally:
        engine.close()


def test_a_model_process_idle_after_the_cancel_grace_is_killed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(worker, "_CANCEL_GRACE_S", 0.3)
    engine = stand_in_engine(monkeypatch, "sleeps", busy_s=30.0)
    try:
        with pytest.raises(EngineCrashedError, match="stopped answering"):
            ask_and_cancel(engine)
    finally:
        engine.close()


def test_a_load_no_longer_wanted_is_stopped_and_says_so() -> None:
    """Closing the sidecar during a load kills the model process at once (llama.cpp's load
    cannot be interrupted); the message must not blame a hung process."""
    path = default_model_path()
    with pytest.raises(ModelUnavailableError, match="was stopped, no longer wanted while loading") as raised:
        worker.WorkerEngine(path, read_gguf(path), "q8_0", 3072, abandoned=lambda: True)
    assert "stopped answering" not in str(raised.value)


def test_a_load_that_takes_too_long_is_called_hung(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(worker, "_HUNG_AFTER_S", 0.2)
    path = default_model_path()
    with pytest.raises(ModelUnavailableError, match="stopped answering and was killed while loading"):
        worker.WorkerEngine(path, read_gguf(path), "q8_0", 3072)
