"""Restart storms: gopls killed (kill -9) again and again while the editor types and asks.

Every request is answered exactly once (a result, or ContentModified / RequestFailed
when its gopls died under it) and gopls's final view of the document is the editor's:
no edit lost, none applied twice. The fake gopls takes the 200-kill storm (it can report
the text it holds); the real gopls a smaller one, checked through what it answers.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import Future
from pathlib import Path
from typing import Any

import pytest
from lsprotocol.types import LSPErrorCodes

from gosidecar.uris import path_to_uri
from tests.lsp_client import LspClient, LspError
from tests.support import FAKE_GOPLS, ROOT, wait_until

pytestmark = pytest.mark.timeout(900)

STORM_SIDECAR = [sys.executable, "-m", "tests.memory.storm_sidecar"]
ACCEPTED_ERRORS = {LSPErrorCodes.ContentModified, LSPErrorCodes.RequestFailed}
IN_FLIGHT = 8
"""Requests the storm keeps outstanding: it waits for the answer of the one this far back."""

RequestFor = Callable[[int, str], tuple[str, dict[str, Any]]]


class Storm:
    """Appends one line per edit and sends a request after each, until stopped."""

    def __init__(self, client: LspClient, uri: str, text: str, line: Callable[[int], str], request: RequestFor):
        self.client, self.uri, self.text = client, uri, text
        self._line, self._request = line, request
        self.requests: list[tuple[int, str, Future[Any]]] = []
        self.version = 1
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> Storm:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(120)

    def _run(self) -> None:
        while not self._stop.is_set():
            self._edit()
            method, params = self._request(self.version, self.uri)
            self.requests.append((self.version, method, self.client.request_async(method, params)))
            if len(self.requests) > IN_FLIGHT:
                self.requests[-IN_FLIGHT - 1][2].exception(120)  # paced by answers, never by time

    def _edit(self) -> None:
        end = {"line": self.text.count("\n"), "character": 0}
        added = self._line(self.version)
        self.version += 1
        self.text += added
        change = {"range": {"start": end, "end": end}, "text": added}
        self.client.notify(
            "textDocument/didChange",
            {"textDocument": {"uri": self.uri, "version": self.version}, "contentChanges": [change]},
        )

    def answered(self) -> int:
        return sum(1 for _, _, future in list(self.requests) if future.done())

    def outcomes(self) -> Iterator[tuple[int, str, Any]]:
        """(version, method, result or the accepted error's code) of each request."""
        for version, method, future in self.requests:
            try:
                yield version, method, future.result(120)
            except LspError as error:
                assert error.code in ACCEPTED_ERRORS, f"{method} answered with {error}"
                yield version, method, error.code


def start_storm_sidecar(workspace: Path, options: dict[str, Any]) -> LspClient:
    python_path = os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])
    client = LspClient(STORM_SIDECAR, env={"PYTHONPATH": python_path}, cwd=str(workspace))
    client.initialize(path_to_uri(workspace), options)
    return client


def gopls_pid(client: LspClient) -> int:
    pid: int = client.request("goSidecar/health", timeout=60)["gopls"]["pid"]
    return pid


def kill_gopls_repeatedly(client: LspClient, storm: Storm, kills: int) -> None:
    """Each time a new gopls is running, kill -9 it: three times in four once the storm got
    answers again (mostly from the new gopls), the fourth at once (mostly in its replay)."""
    pids = [0]

    def new_gopls() -> bool:
        pid = gopls_pid(client)
        if pid in pids:
            return False
        pids.append(pid)
        return True

    for kill in range(kills):
        wait_until(new_gopls, 120, "a new gopls")
        if kill % 4:
            answered = storm.answered()
            wait_until(lambda: storm.answered() >= answered + 3, 120, "answers from the new gopls")  # noqa: B023
        os.kill(pids[-1], signal.SIGKILL)


def open_document(client: LspClient, uri: str, text: str) -> None:
    item = {"uri": uri, "languageId": "go", "version": 1, "text": text}
    client.notify("textDocument/didOpen", {"textDocument": item})


def test_200_kills_of_the_fake_gopls_lose_no_edit_and_answer_every_request_once(tmp_path: Path) -> None:
    client = start_storm_sidecar(tmp_path, {"gopls": {"path": str(FAKE_GOPLS)}})
    try:
        uri = path_to_uri(tmp_path / "storm.go")
        open_document(client, uri, "package storm\n")

        def request(version: int, uri: str) -> tuple[str, dict[str, Any]]:
            method = "textDocument/hover" if version % 2 else "textDocument/rename"  # retried / failed
            return method, {"textDocument": {"uri": uri}, "n": version, "delayMs": 5}

        with Storm(client, uri, "package storm\n", lambda n: f"// edit {n}\n", request) as storm:
            kill_gopls_repeatedly(client, storm, 200)
        outcomes = list(storm.outcomes())
        for version, method, outcome in outcomes:
            if isinstance(outcome, dict):
                assert outcome == {
                    "method": method,
                    "params": {"textDocument": {"uri": uri}, "n": version, "delayMs": 5},
                }
        assert not client.unmatched_responses, "a request was answered twice"
        assert client.request("fake/documents", timeout=60) == {uri: storm.text}
        restarts = len(client.request("goSidecar/health")["gopls"]["restartLog"])
        failed = sum(1 for _, _, outcome in outcomes if not isinstance(outcome, dict))
        print(
            f"fake storm: 200 kills, {restarts} restarts, {storm.version - 1} edits,",
            f"{len(outcomes)} requests ({failed} errors)",
        )
    finally:
        client.shutdown()


def test_20_kills_of_the_real_gopls_keep_its_view_of_the_edits(example_workspace: Path) -> None:
    client = start_storm_sidecar(example_workspace, {})
    try:
        path = example_workspace / "pricing" / "pricing.go"
        uri = path_to_uri(path)
        text = path.read_text()
        open_document(client, uri, text)

        def request(version: int, uri: str) -> tuple[str, dict[str, Any]]:
            method = "textDocument/documentSymbol" if version % 2 else "textDocument/formatting"
            params: dict[str, Any] = {"textDocument": {"uri": uri}}
            if method == "textDocument/formatting":
                params["options"] = {"tabSize": 4, "insertSpaces": False}
            return method, params

        with Storm(client, uri, text, lambda n: f"func Storm{n}() int {{ return {n} }}\n", request) as storm:
            kill_gopls_repeatedly(client, storm, 20)
        outcomes = list(storm.outcomes())
        assert not client.unmatched_responses, "a request was answered twice"
        symbols = client.request("textDocument/documentSymbol", {"textDocument": {"uri": uri}}, timeout=180)
        storm_functions = sorted(s["name"] for s in symbols if s["name"].startswith("Storm"))
        assert storm_functions == sorted(f"Storm{n}" for n in range(1, storm.version)), "an edit was lost or doubled"
        failed = sum(1 for _, _, outcome in outcomes if isinstance(outcome, int))
        print(f"real storm: 20 kills, {storm.version - 1} edits, {len(outcomes)} requests ({failed} errors)")
    finally:
        client.shutdown()
