"""gopls's errors reach the editor unchanged, its "context canceled" ones included.

gopls answers a request whose Go context was cancelled with `{"code": 0, "message":
"context canceled"}`; VS Code's language client shows it as a toast ("Request
textDocument/codeAction failed", golang/vscode-go#820), but the contract keeps every
message between the editor and gopls as it is, so the sidecar does not rewrite it. The
fake gopls sends errors on cue; the real one sends this one to a code action the editor
cancels while gopls works on it.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from lsprotocol.types import ErrorCodes, LSPErrorCodes

from gosidecar.framing import frame_header
from gosidecar.message import Message, request
from gosidecar.uris import path_to_uri
from tests.lsp_client import LspClient, LspError
from tests.support import FAKE_GOPLS, sidecar_command, wait_until

pytestmark = pytest.mark.timeout(300)

NO_MODEL = {"ai": {"enabled": False}}
"""The sidecar's settings here: these tests need no completion model."""


class Editor:
    """A client that picks its own request ids, so that it can cancel them."""

    def __init__(self, client: LspClient) -> None:
        self.client = client

    def send(self, msg_id: str, method: str, params: Any) -> None:
        body = request(msg_id, method, params).body
        self.client.send_raw(frame_header(len(body)) + body)

    def answer_to(self, msg_id: str, timeout: float = 60.0) -> Message:
        def answered() -> Message | None:
            return next((m for m in self.client.unmatched_responses if m.id == msg_id), None)

        wait_until(answered, timeout, f"the answer to {msg_id}")
        answer = answered()
        assert answer is not None
        return answer

    def cancel(self, msg_id: str) -> None:
        self.client.notify("$/cancelRequest", {"id": msg_id})


@pytest.fixture
def fake_client(tmp_path: Path) -> Iterator[LspClient]:
    client = LspClient(sidecar_command(), cwd=str(tmp_path))
    client.initialize(path_to_uri(tmp_path), {**NO_MODEL, "gopls": {"path": str(FAKE_GOPLS)}})
    yield client
    client.shutdown()


def error_at_editor(client: LspClient, gopls_error: dict[str, Any]) -> LspError:
    with pytest.raises(LspError) as raised:
        client.request("textDocument/codeAction", {"answerError": gopls_error})
    return raised.value


@pytest.mark.parametrize(
    "gopls_error",
    [
        {"code": 0, "message": "context canceled"},
        {"code": 0, "message": "getting file for main.go: context canceled"},
        {"code": 0, "message": "no identifier found"},
        {"code": 0, "message": "context deadline exceeded"},
        {"code": ErrorCodes.InternalError.value, "message": "context canceled"},
        {"code": LSPErrorCodes.RequestCancelled.value, "message": "JSON RPC cancelled"},
    ],
)
def test_gopls_errors_pass_unchanged(fake_client: LspClient, gopls_error: dict[str, Any]) -> None:
    error = error_at_editor(fake_client, gopls_error)
    assert (error.code, str(error)) == (gopls_error["code"], f"{gopls_error['code']}: {gopls_error['message']}")


def test_a_request_the_editor_cancelled_gets_goplss_own_answer(fake_client: LspClient) -> None:
    editor = Editor(fake_client)
    editor.send("cancel-me", "fake/awaitCancel", {})
    editor.cancel("cancel-me")
    assert editor.answer_to("cancel-me").obj["error"] == {"code": 0, "message": "context canceled"}


def test_real_gopls_cancelled_code_action_passes_unchanged(stdlib_workspace: Path) -> None:
    """gopls v0.24 answers code 0 "context canceled" to a code action cancelled while it
    runs (an edit just before makes it work long enough); cancelled earlier, it answers
    RequestCancelled itself. Rounds repeat until one such answer went through."""
    client = LspClient(sidecar_command(), cwd=str(stdlib_workspace))
    try:
        client.initialize(path_to_uri(stdlib_workspace), NO_MODEL)
        client.request("workspace/symbol", {"query": ""}, timeout=120)  # waits for the load
        answers = _cancelled_code_actions(Editor(client), stdlib_workspace / "bufio" / "bufio.go")
    finally:
        client.shutdown()
    context_canceled = [answer for answer in answers if "context canceled" in answer["message"]]
    assert context_canceled, f"no round made gopls answer 'context canceled': {answers[:5]}"
    assert all(answer["code"] == 0 for answer in context_canceled), context_canceled


def _cancelled_code_actions(editor: Editor, path: Path, rounds: int = 200) -> list[dict[str, Any]]:
    """The errors of up to `rounds` code actions, each cancelled right after an edit, until
    one was gopls's "context canceled"."""
    uri = path_to_uri(path)
    editor.client.notify(
        "textDocument/didOpen",
        {"textDocument": {"uri": uri, "languageId": "go", "version": 1, "text": path.read_text()}},
    )
    start = {"line": 100, "character": 0}
    code_action = {
        "textDocument": {"uri": uri},
        "range": {"start": start, "end": start},
        "context": {"diagnostics": []},
    }
    insertion = {"range": {"start": {"line": 0, "character": 0}, "end": {"line": 0, "character": 0}}, "text": "// x\n"}
    errors: list[dict[str, Any]] = []
    for version in range(2, rounds + 2):
        msg_id = f"action-{version}"
        editor.send(msg_id, "textDocument/codeAction", code_action)
        editor.client.notify(
            "textDocument/didChange",
            {"textDocument": {"uri": uri, "version": version}, "contentChanges": [insertion]},
        )
        editor.cancel(msg_id)
        error = editor.answer_to(msg_id).obj.get("error")
        if error is not None:
            errors.append(error)
            if "context canceled" in error["message"]:
                break
    return errors
