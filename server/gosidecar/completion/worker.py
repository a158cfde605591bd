"""The local model in a child process: a crash in llama.cpp cannot take the sidecar down.

llama.cpp aborts the whole process on some bad models and on internal asserts; in the
sidecar's own process that would also end the gopls proxy. So the sidecar keeps the
model in a child Python process (`worker.main`), one per loaded model, and
talks to it over a socket pair:

- sidecar -> worker, pickled (`Connection.send`): `("load", path, info, kv_type, n_ctx)`,
  `("generate", id, prompt, limits, is_done)`, `("warm", id, prompt, limits)`, `("cancel", id)`;
- worker -> sidecar, JSON (`send_bytes`, size-capped on receipt; the sidecar never
  unpickles what the child sends): `{"loaded": true}`, `{"generation": {...}}`,
  `{"warming": {...}}`, `{"error": text}`.

The worker keeps the KV cache between requests (prompt prefix reuse), checks for a
waiting message at every token (a cancel, or a newer request, stops the generation),
and enforces the time budget itself. Warming evaluates a prompt and generates nothing; any
message that arrives stops it between small batches, so a real request waits for one
batch at most and finds what was evaluated in the cache. `is_done` runs in the worker at every token, so
it must be picklable (a module-level function or a `functools.partial` of one).
A closed socket (the sidecar died or unloaded the model) ends the worker.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import logging
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any, TypeVar

import psutil

import gosidecar
from gosidecar.completion.engine import EngineCrashedError, EngineError, Generation, Limits, WarmableEngine, Warming
from gosidecar.completion.gguf import GgufInfo
from gosidecar.completion.model import ModelUnavailableError
from gosidecar.completion.prompt import PromptText
from gosidecar.settings import KvCacheType

log = logging.getLogger(__name__)

_Record = TypeVar("_Record", Generation, Warming)

_MAX_REPLY_BYTES = 1024 * 1024
_CANCEL_POLL_S = 0.01
"""How often the sidecar looks at its request's cancellation while the worker runs."""
_CANCEL_GRACE_S = 10.0
"""A worker that has not stopped this long after a cancel, and used no CPU meanwhile, is
hung: it is killed. One that used CPU is working through a prompt batch on a machine
busy with builds (it runs niced): it gets another grace period, up to `_HUNG_AFTER_S`."""
_BUSY_CPU_S = 0.05
"""CPU time in one grace period that counts as working, not hung."""
_HUNG_AFTER_S = 300.0
"""Nor may a load or a generation take this long (a 270M model loads and answers in seconds)."""
_EXIT_GRACE_S = 5.0
_HUNG = "stopped answering and was killed"
_WORKER_MAIN = "import sys; from gosidecar.completion.worker import main; raise SystemExit(main(sys.argv[1:]))"
NICENESS_VARIABLE = "GOSIDECAR_AI_NICENESS"
_DEFAULT_NICENESS = 10
"""gopls keeps the cores it needs; a benchmark on a shared machine may set the variable to 0."""


class WorkerEngine(WarmableEngine):
    """The sidecar's side: an Engine whose model lives in a worker process."""

    def __init__(
        self,
        path: Path,
        info: GgufInfo,
        kv_type: KvCacheType,
        n_ctx: int,
        abandoned: Callable[[], bool] = lambda: False,
    ) -> None:
        """Start a worker and load the model in it; `abandoned()` (the sidecar is closing)
        kills the worker at once, since llama.cpp's load cannot be interrupted."""
        started = time.perf_counter()
        self._process, self._connection = _spawn()
        self._next_id = 0
        try:
            self._connection.send(("load", str(path), info, kv_type, n_ctx))
            reply = self._reply("loading the model", abandoned, cancel_grace_s=0.0)
        except EngineCrashedError as error:
            raise ModelUnavailableError(
                f"{error}: llama.cpp cannot load {path}; set goSidecar.ai.modelPath to another GGUF model or clear it"
            ) from error
        if "error" in reply:
            self.close()
            raise ModelUnavailableError(str(reply["error"]))
        self.load_ms = (time.perf_counter() - started) * 1000
        self.pid = self._process.pid

    def generate(
        self,
        prompt: PromptText,
        limits: Limits,
        is_cancelled: Callable[[], bool],
        is_done: Callable[[str], bool],
    ) -> Generation:
        reply = self._request("generating", is_cancelled, "generate", prompt, limits, is_done)
        return _record(reply.get("generation"), Generation, "generation")

    def warm(self, prompt: PromptText, limits: Limits, is_cancelled: Callable[[], bool]) -> Warming:
        reply = self._request("warming the KV cache", is_cancelled, "warm", prompt, limits)
        return _record(reply.get("warming"), Warming, "warming")

    def _request(self, doing: str, is_cancelled: Callable[[], bool], kind: str, *arguments: object) -> dict[str, Any]:
        self._next_id += 1
        try:
            self._connection.send((kind, self._next_id, *arguments))
        except OSError as error:
            raise self._crashed(doing) from error
        reply = self._reply(doing, is_cancelled)
        if "error" in reply:
            raise EngineError(str(reply["error"]))
        return reply

    def close(self) -> None:
        """End the worker (closing the socket is its signal to exit) and reap it."""
        self._connection.close()
        try:
            self._process.wait(timeout=_EXIT_GRACE_S)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()

    def _reply(
        self, doing: str, is_cancelled: Callable[[], bool], cancel_grace_s: float | None = None
    ) -> dict[str, Any]:
        """The worker's next message; a cancel is passed on (the worker is killed if it has not
        answered a grace period later without working meanwhile), a dead or hung worker is a crash."""
        grace_s = _CANCEL_GRACE_S if cancel_grace_s is None else cancel_grace_s
        hung_at = time.monotonic() + _HUNG_AFTER_S
        grace_ends: float | None = None
        work = _CpuTime(self._process.pid)
        while True:
            try:
                if self._connection.poll(_CANCEL_POLL_S):
                    return _parse_reply(self._connection.recv_bytes(_MAX_REPLY_BYTES))
                if grace_ends is None and is_cancelled():
                    self._connection.send(("cancel", self._next_id))
                    grace_ends = time.monotonic() + grace_s
                    work.advanced()
            except (EOFError, OSError) as error:
                raise self._crashed(doing) from error
            now = time.monotonic()
            if grace_ends is not None and now > grace_ends:
                if grace_s == 0 or not work.advanced():
                    hung_at = now
                grace_ends = now + grace_s
            if now >= hung_at:
                self._process.kill()
                abandoned = grace_ends is not None and grace_s == 0
                raise self._crashed(doing, "was stopped, no longer wanted" if abandoned else _HUNG)

    def _crashed(self, doing: str, how: str | None = None) -> EngineCrashedError:
        self._connection.close()
        try:
            code = self._process.wait(timeout=_EXIT_GRACE_S)
        except subprocess.TimeoutExpired:
            self._process.kill()
            code = self._process.wait()
        how = how or _exit_description(code)
        return EngineCrashedError(f"the model process (pid {self._process.pid}) {how} while {doing}")


class _CpuTime:
    """Whether a process used CPU since the last look (a starved process is slow, not hung)."""

    def __init__(self, pid: int) -> None:
        self._pid = pid
        self._seen = 0.0
        self._seen = self._used()

    def advanced(self) -> bool:
        used = self._used()
        advanced = used - self._seen >= _BUSY_CPU_S
        self._seen = used
        return advanced

    def _used(self) -> float:
        try:
            times = psutil.Process(self._pid).cpu_times()
        except psutil.Error:  # gone: it uses nothing any more
            return self._seen
        return float(times.user + times.system)


def _spawn() -> tuple[subprocess.Popen[bytes], Connection]:
    """Start a worker with one end of a socket pair; its stdout cannot disturb anything."""
    ours, theirs = socket.socketpair()
    package_root = Path(gosidecar.__file__).resolve().parents[1]
    isolated = ["-I"] if sys.flags.isolated else []
    try:
        process = subprocess.Popen(
            [sys.executable, *isolated, "-c", _WORKER_MAIN, str(theirs.fileno())],
            pass_fds=(theirs.fileno(),),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            cwd=package_root,  # `-c` puts the working directory first on sys.path: ours, never the workspace's
        )
    except OSError as error:
        ours.close()
        raise ModelUnavailableError(f"cannot start the model process ({error})") from error
    finally:
        theirs.close()
    return process, Connection(ours.detach())


def _exit_description(code: int) -> str:
    if code < 0:
        with contextlib.suppress(ValueError):
            return f"crashed ({signal.Signals(-code).name})"
        return f"crashed (signal {-code})"
    return f"exited with status {code}"


def _parse_reply(raw: bytes) -> dict[str, Any]:
    try:
        reply = json.loads(raw)
    except ValueError as error:
        raise EngineError(f"the model process sent a reply that is not JSON: {error}") from error
    if not isinstance(reply, dict):
        raise EngineError(f"the model process sent a {type(reply).__name__} instead of an object")
    return reply


def _record(fields: object, record: type[_Record], what: str) -> _Record:
    """The reply's `what` as `record`; the model process's fields are checked, not trusted."""
    if not isinstance(fields, dict):
        raise EngineError(f"the model process sent no {what}")
    try:
        return record(**fields)
    except TypeError as error:
        raise EngineError(f"the model process sent a malformed {what}: {error}") from error


# ----------------------------------------------------------------- the worker process


class _Worker:
    """The child's side: one model, one request at a time."""

    def __init__(self, connection: Connection) -> None:
        self._connection = connection
        self._engine: Any = None  # LocalEngine; imported in the child only
        self._waiting: Any = None
        """A message that arrived during a generation (and stopped it)."""

    def serve(self) -> None:
        while True:
            message, self._waiting = self._waiting, None
            if message is None:
                message = self._connection.recv()
            kind = message[0]
            if kind == "load":
                self._load(*message[1:])
            elif kind == "generate":
                self._generate(*message[1:])
            elif kind == "warm":
                self._warm(*message[1:])
            # a "cancel" that arrives after its generation ended has nothing to stop

    def _load(self, path: str, info: GgufInfo, kv_type: KvCacheType, n_ctx: int) -> None:
        from gosidecar.completion.local import LocalEngine  # noqa: PLC0415 (llama.cpp in the child only)

        try:
            self._engine = LocalEngine(Path(path), info, kv_type, n_ctx)
        except ModelUnavailableError as error:
            self._send({"error": str(error)})
            return
        self._send({"loaded": True})

    def _generate(self, request_id: int, prompt: PromptText, limits: Limits, is_done: Callable[[str], bool]) -> None:
        if self._engine is None:
            self._send({"error": "no model is loaded in the model process"})
            return
        try:
            generation = self._engine.generate(prompt, limits, self._interrupted, is_done)
        except Exception as error:  # a failed request, not a dead worker: the model stays loaded
            log.exception("generation failed")
            self._send({"error": f"the local model failed ({type(error).__name__}: {error})"})
            return
        self._send({"generation": dataclasses.asdict(generation)})

    def _warm(self, request_id: int, prompt: PromptText, limits: Limits) -> None:
        if self._engine is None:
            self._send({"error": "no model is loaded in the model process"})
            return
        try:
            warming = self._engine.warm(prompt, limits, self._interrupted)
        except Exception as error:  # as in _generate: the model stays loaded
            log.exception("warming failed")
            self._send({"error": f"the local model failed ({type(error).__name__}: {error})"})
            return
        self._send({"warming": dataclasses.asdict(warming)})

    def _interrupted(self) -> bool:
        """Whether a message (a cancel, or a newer request) is waiting: checked at every token."""
        if self._waiting is None and self._connection.poll():
            self._waiting = self._connection.recv()
        return self._waiting is not None

    def _send(self, reply: dict[str, object]) -> None:
        self._connection.send_bytes(json.dumps(reply).encode("utf-8"))


def _lower_priority() -> None:
    """The whole worker, llama.cpp's threads included, yields the CPU to gopls."""
    with contextlib.suppress(OSError, ValueError):
        os.setpriority(os.PRIO_PROCESS, 0, int(os.environ.get(NICENESS_VARIABLE, _DEFAULT_NICENESS)))


def main(argv: list[str]) -> int:
    logging.basicConfig(level=logging.WARNING, format="gosidecar model process: %(message)s", stream=sys.stderr)
    _lower_priority()
    connection = Connection(int(argv[0]))
    with contextlib.suppress(EOFError, ConnectionResetError, BrokenPipeError):
        _Worker(connection).serve()
    return 0
