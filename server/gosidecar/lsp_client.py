"""The LSP client behind `gosidecar health`: a subprocess's stdio, talked to as an editor would.

Only what the health command needs: requests and their answers, notifications out, and
an editor's default answer to the server's own requests (configuration: null items,
everything else: null). The tests' client (tests/lsp_client.py) builds on this one.
"""

from __future__ import annotations

import itertools
import os
import subprocess
import threading
from collections.abc import Mapping, Sequence
from concurrent.futures import Future
from typing import Any

from .framing import FrameReader, FrameWriter, enlarge_pipe
from .message import Kind, Message, notification, request, response

# What `gosidecar health` needs: gopls asks for its configuration and learns the folders.
HEALTH_CAPABILITIES: dict[str, Any] = {
    "workspace": {"configuration": True, "workspaceFolders": True},
    "general": {"positionEncodings": ["utf-16"]},
}


class LspError(RuntimeError):
    def __init__(self, error: Mapping[str, Any]) -> None:
        super().__init__(f"{error.get('code')}: {error.get('message')}")
        self.code = error.get("code")


class LspClient:
    capabilities: dict[str, Any] = HEALTH_CAPABILITIES

    def __init__(
        self,
        command: Sequence[str],
        env: Mapping[str, str] | None = None,
        cwd: str | None = None,
        stderr: int | None = None,
    ) -> None:
        self.process = subprocess.Popen(
            list(command),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=stderr,
            env={**os.environ, **(env or {})},
            cwd=cwd,
            bufsize=0,
        )
        assert self.process.stdin is not None and self.process.stdout is not None
        enlarge_pipe(self.process.stdin.fileno())
        enlarge_pipe(self.process.stdout.fileno())
        self._writer = FrameWriter(os.dup(self.process.stdin.fileno()), "server")
        self.process.stdin.close()
        self._reader = FrameReader(self.process.stdout.fileno(), "server")
        self._ids = itertools.count(1)
        self._pending: dict[Any, Future[Any]] = {}
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._read_loop, daemon=True, name="lsp-client")
        self._thread.start()

    def request_async(self, method: str, params: Any = None) -> Future[Any]:
        msg_id = next(self._ids)
        future: Future[Any] = Future()
        with self._lock:
            self._pending[msg_id] = future
        self._writer.write(request(msg_id, method, params).body)
        return future

    def request(self, method: str, params: Any = None, timeout: float = 60.0) -> Any:
        return self.request_async(method, params).result(timeout)

    def notify(self, method: str, params: Any = None) -> None:
        self._writer.write(notification(method, params).body)

    def answer(self, server_request: Message, result: Any) -> None:
        self._writer.write(response(server_request.id, result).body)

    def initialize(self, root_uri: str, initialization_options: Any = None, **extra: Any) -> Any:
        params = {
            "processId": os.getpid(),
            "rootUri": root_uri,
            "workspaceFolders": [{"uri": root_uri, "name": "workspace"}],
            "capabilities": self.capabilities,
            "initializationOptions": initialization_options,
            **extra,
        }
        result = self.request("initialize", params)
        self.notify("initialized", {})
        return result

    def shutdown(self, timeout: float = 10.0) -> int | None:
        """The polite way out; a server that does not answer is still stopped by `close`."""
        try:
            self.request("shutdown", None, timeout=timeout)
            self.notify("exit")
        except Exception:
            pass
        return self.close(timeout)

    def close(self, timeout: float = 5.0) -> int | None:
        self._writer.close()
        try:
            return self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            return self.process.wait()

    def received(self, message: Message) -> None:
        """Every message that is not the answer to one of our requests."""
        if message.kind is Kind.REQUEST:
            self.answer(message, default_answer(message))

    def _read_loop(self) -> None:
        while (body := self._reader.read_frame()) is not None:
            message = Message(body)
            if message.kind is not Kind.RESPONSE or not self._resolve(message):
                self.received(message)
        with self._lock:
            for future in self._pending.values():
                future.set_exception(ConnectionError("server closed the connection"))
            self._pending.clear()

    def _resolve(self, message: Message) -> bool:
        with self._lock:
            future = self._pending.pop(message.id, None)
        if future is None:
            return False
        error = message.obj.get("error")
        if error is not None:
            future.set_exception(LspError(error))
        else:
            future.set_result(message.obj.get("result"))
        return True


def default_answer(message: Message) -> Any:
    """An editor's answer when it has nothing to say: no settings, no action."""
    if message.method == "workspace/configuration":
        items = (message.params or {}).get("items") or []
        return [None for _ in items]
    return None
