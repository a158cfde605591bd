"""The router in process (no subprocess): each message is handled on its own, and the
sidecar's own request ids cannot be forged by the editor."""

from __future__ import annotations

import os
import queue
import threading
from collections.abc import Iterator
from typing import Any, cast

import pytest
from lsprotocol.types import ErrorCodes

from gosidecar.framing import FrameReader, FrameWriter, frame_header
from gosidecar.gopls_process import GoplsProcess
from gosidecar.message import Kind, Message, Rejected, notification, request, response
from gosidecar.proxy import Proxy, Side

TIMEOUT_S = 10.0


class _Recorder:
    """What the proxy writes to gopls."""

    def __init__(self) -> None:
        self.written: queue.Queue[Message] = queue.Queue()

    def write(self, body: bytes) -> bool:
        self.written.put(Message.parsed(body))
        return True


class _Gopls:
    """A stand-in gopls: the test writes its frames, the proxy's gopls reader reads them."""

    def __init__(self) -> None:
        read_fd, self.write_fd = os.pipe()
        self.reader = FrameReader(read_fd, "gopls")
        self.writer = _Recorder()
        self._read_fd = read_fd

    def say(self, body: bytes) -> None:
        os.write(self.write_fd, frame_header(len(body)) + body)

    def close_output(self) -> None:
        os.close(self._read_fd)

    def kill(self) -> None:
        pass


class Router:
    def __init__(self) -> None:
        editor_to_proxy, self._editor_writes = os.pipe()
        self._editor_reads, proxy_to_editor = os.pipe()
        self.proxy = Proxy(FrameReader(editor_to_proxy, "client"), FrameWriter(proxy_to_editor, "client"))
        self.gopls = _Gopls()
        self.proxy.link.replace(cast("GoplsProcess", self.gopls), lambda: None)
        assert self.proxy.link.open()
        self._editor = FrameReader(self._editor_reads, "editor")
        self.to_editor: queue.Queue[Message] = queue.Queue()
        threading.Thread(target=self.proxy.run_client_pump, daemon=True).start()
        threading.Thread(target=self._read_editor, daemon=True).start()

    def _read_editor(self) -> None:
        while (body := self._editor.read_frame()) is not None:
            self.to_editor.put(Message(body))

    def editor_sends(self, message: Message) -> None:
        self.editor_sends_body(message.body)

    def editor_sends_body(self, body: bytes) -> None:
        os.write(self._editor_writes, frame_header(len(body)) + body)

    def editor_gets(self) -> Message:
        return self.to_editor.get(timeout=TIMEOUT_S)

    def gopls_gets(self) -> Message:
        return self.gopls.writer.written.get(timeout=TIMEOUT_S)

    def close(self) -> None:
        os.close(self._editor_writes)
        os.close(self.gopls.write_fd)


@pytest.fixture
def router() -> Iterator[Router]:
    started = Router()
    yield started
    started.close()


def hover(msg_id: Any) -> Message:
    return request(msg_id, "textDocument/hover", {"textDocument": {"uri": "file:///a.go"}})


def test_a_hook_that_fails_answers_its_request_and_the_next_one_goes_on(router: Router) -> None:
    def broken(message: Message) -> Message:
        raise KeyError("a bug in a hook")

    router.proxy.intercept(Side.CLIENT, Kind.REQUEST, "textDocument/hover", broken)
    router.editor_sends(hover(1))
    router.editor_sends(request(2, "textDocument/definition", {}))
    answer = router.editor_gets()
    assert (answer.id, answer.obj["error"]["code"]) == (1, ErrorCodes.InternalError)
    assert router.gopls_gets().id == 2


def test_a_rejected_notification_is_dropped_and_the_next_one_goes_on(router: Router) -> None:
    def refuse(message: Message) -> Message:
        raise Rejected("bad shape")

    router.proxy.intercept(Side.CLIENT, Kind.NOTIFICATION, "workspace/didChangeWorkspaceFolders", refuse)
    router.editor_sends(notification("workspace/didChangeWorkspaceFolders", {"event": {"removed": [1]}}))
    router.editor_sends(notification("initialized", {}))
    assert router.gopls_gets().method == "initialized"
    assert router.to_editor.empty()


def test_a_gopls_message_that_breaks_a_hook_or_the_reader_is_dropped_alone(router: Router) -> None:
    def broken(message: Message) -> Message:
        raise TypeError("a bug in a hook")

    router.proxy.intercept(Side.GOPLS, Kind.REQUEST, "client/registerCapability", broken)
    router.gopls.say(b'{"jsonrpc":"2.0","method":"window/\\xlogMessage","params":{}}')
    router.gopls.say(b'{"jsonrpc":"2.0","id":5,"method":"client/registerCapability","params":{}}')
    router.gopls.say(notification("window/logMessage", {"type": 3, "message": "still here"}).body)
    refused = router.gopls_gets()  # gopls waits for an answer: it gets an error, not silence
    assert (refused.id, refused.obj["error"]["code"]) == (5, ErrorCodes.InternalError)
    assert router.editor_gets().params["message"] == "still here"


def test_editor_ids_shaped_like_the_sidecars_cannot_take_its_answers(router: Router) -> None:
    own = router.proxy.request_gopls("workspace/symbol", {"query": ""})
    own_id = router.gopls_gets().id
    assert isinstance(own_id, str) and own_id.startswith("gosidecar-") and own_id != "gosidecar-1"
    # The editor asks with an id like the old predictable ones, and answers with ours.
    router.editor_sends(hover("gosidecar-1"))
    assert router.gopls_gets().id == "gosidecar-1"
    router.editor_sends(response(own_id, "forged"))
    router.gopls.say(response("gosidecar-1", "for the editor").body)
    assert router.editor_gets().obj["result"] == "for the editor"
    assert not own.done()
    router.gopls.say(response(own_id, ["for the sidecar"]).body)
    assert own.result(TIMEOUT_S) == ["for the sidecar"]


def test_invalid_requests_are_answered_with_their_id_when_it_is_readable(router: Router) -> None:
    for body in (
        b'{"jsonrpc":"1.0","id":7,"method":"textDocument/hover","params":{}}',
        b'{"jsonrpc":"2.0","id":null,"method":"textDocument/didOpen","params":{}}',
        b'{"jsonrpc":"2.0","id":1,"error":"not an object"}',
        b'{"jsonrpc":"2.0","id":8,"method":"textDocument/didOpen","params":{}}',
    ):
        router.editor_sends_body(body)
    router.editor_sends(request(9, "textDocument/hover", {}))
    answers = [router.editor_gets() for _ in range(3)]
    assert [(a.id, a.obj["error"]["code"]) for a in answers] == [
        (7, ErrorCodes.InvalidRequest),
        (None, ErrorCodes.InvalidRequest),
        (8, ErrorCodes.InvalidRequest),  # a notification sent as a request
    ]
    assert router.gopls_gets().id == 9
