"""One table of outstanding requests per direction: the table itself, and the router's
use of it for each direction (in process, a stand-in gopls)."""

from __future__ import annotations

import os
import queue
from collections.abc import Iterator
from concurrent.futures import Future
from typing import Any, cast

import pytest

from gosidecar.gopls_process import GoplsProcess
from gosidecar.message import Message, notification, request, response
from gosidecar.outstanding import OutstandingRequests
from tests.unit.test_routing import TIMEOUT_S, Router, _Gopls, hover


@pytest.fixture
def router() -> Iterator[Router]:
    started = Router()
    yield started
    started.close()


def test_a_request_is_taken_once() -> None:
    table: OutstandingRequests[int, str] = OutstandingRequests("editor->gopls")
    table.add(1, "hover")
    assert 1 in table and len(table) == 1
    assert table.take(1) == "hover"
    assert table.take(1) is None, "a second answer to one request was routed"
    assert table.take(None) is None and not table


def test_cancel_takes_only_the_requests_waiting_with_that_value() -> None:
    table: OutstandingRequests[str, Future[Any]] = OutstandingRequests("sidecar->gopls")
    mine, other = Future[Any](), Future[Any]()
    table.add("a", mine)
    table.add("b", other)
    assert table.cancel(mine) == ["a"]
    assert list(table) == ["b"]


def test_settle_all_empties_the_table_and_returns_what_waited() -> None:
    table: OutstandingRequests[int, str] = OutstandingRequests("editor->gopls")
    for msg_id, method in enumerate(("hover", "rename")):
        table.add(msg_id, method)
    assert table.settle_all() == ["hover", "rename"]
    assert not table and table.settle_all() == []


def test_an_unhashable_id_is_not_outstanding() -> None:
    table: OutstandingRequests[int, str] = OutstandingRequests("editor->sidecar")
    table.add(1, "x")
    assert [1] not in table


def test_the_editors_late_answer_to_a_replaced_gopls_never_reaches_the_new_one(router: Router) -> None:
    router.gopls.say(request(1, "workspace/configuration", {"items": []}).body)
    assert router.editor_gets().id == 1
    router.proxy.link.retire("restarting", retry=lambda message: True)
    new = _Gopls()
    try:
        router.proxy.link.replace(cast("GoplsProcess", new), lambda: None)
        assert router.proxy.link.open()
        new.say(request(1, "workspace/configuration", {"items": []}).body)  # numbered from 1 again
        assert router.editor_gets().id == "gopls2:1"
        router.editor_sends(response(1, ["for the old gopls"]))
        router.editor_sends(response("gopls2:1", ["for the new gopls"]))
        answer = new.writer.written.get(timeout=TIMEOUT_S)
        assert (answer.id, answer.obj["result"]) == (1, ["for the new gopls"])
        assert not router.proxy.link.gopls_requests
    finally:
        os.close(new.write_fd)  # its reader ends, and closes its side


def test_a_cancelled_own_request_tells_gopls_and_its_late_answer_is_dropped(router: Router) -> None:
    own = router.proxy.request_gopls("textDocument/completion", {})
    own_id = router.gopls_gets().id
    router.proxy.cancel_gopls_request(own)
    cancel = router.gopls_gets()
    assert (cancel.method, cancel.params) == ("$/cancelRequest", {"id": own_id})
    router.gopls.say(response(own_id, ["late"]).body)
    router.gopls.say(notification("window/logMessage", {"type": 3, "message": "next"}).body)
    assert router.editor_gets().method == "window/logMessage", "the sidecar's answer reached the editor"
    assert own.cancelled() and not router.proxy.link.own_requests


def test_a_restart_fails_the_sidecars_requests_to_gopls(router: Router) -> None:
    own = router.proxy.request_gopls("textDocument/completion", {})
    router.gopls_gets()
    router.proxy.link.retire("restarting", retry=lambda message: True)
    assert isinstance(own.exception(TIMEOUT_S), ConnectionError)


def test_cancels_go_to_the_sidecar_while_it_handles_the_request_then_to_gopls(router: Router) -> None:
    dispatched: queue.Queue[Message] = queue.Queue()
    router.proxy.serve_on_sidecar(["gosidecar/healthReport"], dispatched.put)
    router.editor_sends(request(5, "gosidecar/healthReport", {}))
    assert dispatched.get(timeout=TIMEOUT_S).id == 5
    router.editor_sends(notification("$/cancelRequest", {"id": 5}))
    assert dispatched.get(timeout=TIMEOUT_S).method == "$/cancelRequest"
    router.proxy.send_to_client_from_sidecar(response(5, {}))
    assert router.editor_gets().id == 5
    router.editor_sends(notification("$/cancelRequest", {"id": 5}))
    assert router.gopls_gets().method == "$/cancelRequest", "a cancel for an answered request stayed at the sidecar"


def test_the_editors_answer_to_the_sidecar_goes_to_the_sidecar_once(router: Router) -> None:
    dispatched: queue.Queue[Message] = queue.Queue()
    router.proxy.serve_on_sidecar([], dispatched.put)
    router.proxy.send_to_client_from_sidecar(request("sidecar-1", "window/workDoneProgress/create", {}))
    assert router.editor_gets().id == "sidecar-1"
    router.editor_sends(response("sidecar-1", None))
    assert dispatched.get(timeout=TIMEOUT_S).id == "sidecar-1"
    router.editor_sends(response("sidecar-1", None))  # a second answer: no one waits for it
    router.editor_sends(hover(6))
    assert router.gopls_gets().id == 6
    assert dispatched.empty()
