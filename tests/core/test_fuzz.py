"""Malformed frames from the editor are logged and survived, or end the session cleanly."""

from __future__ import annotations

import random
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gosidecar.framing import frame_header
from gosidecar.uris import path_to_uri
from tests.lsp_client import LspClient, LspError
from tests.support import FAKE_GOPLS, sidecar_command

pytestmark = pytest.mark.timeout(120)

_ALIVE_ID = "alive-check"


def _frame(body: bytes) -> bytes:
    return frame_header(len(body)) + body


junk_frames = st.one_of(
    st.binary(max_size=300).map(_frame),  # random body, valid header
    st.binary(max_size=300),  # no framing at all
    st.builds(lambda n, b: b"Content-Length: %d\r\n\r\n" % n + b, st.integers(0, 400), st.binary(max_size=200)),
    st.sampled_from(
        [
            b"Content-Length: abc\r\n\r\n{}",
            b"Content-Length: -5\r\n\r\n",
            b"Content-Type: text/plain\r\n\r\n{}",
            _frame(b"[]"),
            _frame(b'{"jsonrpc":"2.0","id":1,"method":"textDocument/hover" GARBAGE'),
            _frame(b'{"jsonrpc":"2.0","result":1}'),
            _frame(b'{"jsonrpc":"2.0","id":{"nested":1},"method":"x"}'),
            _frame('{"jsonrpc":"2.0","method":"\u00e9\ud83d\ude00"}'.encode("utf-8", "surrogatepass")),
        ]
    ),
)


@pytest.fixture(scope="module")
def session(tmp_path_factory: pytest.TempPathFactory) -> LspClient:
    root = tmp_path_factory.mktemp("fuzz")
    client = LspClient(sidecar_command(), cwd=str(root))
    client.initialize(path_to_uri(root), {"gopls": {"path": str(FAKE_GOPLS)}})
    yield client  # type: ignore[misc]
    assert client.shutdown() == 0


def _resync(client: LspClient) -> None:
    """A truncated junk frame may swallow what follows; enough padding and a few real
    requests later, one must be answered."""
    client.send_raw(b"\r\n\r\n" + b" " * 512)
    futures = [client.request_async("fake/echo", {"n": i}) for i in range(4)]
    for future in futures:
        try:
            assert future.result(10)["method"] == "fake/echo"
            return
        except LspError:
            continue
    raise AssertionError("the sidecar stopped answering after junk input")


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(junk=st.lists(junk_frames, min_size=1, max_size=4))
def test_junk_from_the_editor_is_survived(session: LspClient, junk: list[bytes]) -> None:
    for chunk in junk:
        session.send_raw(chunk)
    _resync(session)


def test_huge_frame_is_skipped_and_the_session_goes_on(tmp_path: Path) -> None:
    client = LspClient(sidecar_command(), cwd=str(tmp_path), stderr=-1)
    client.initialize(path_to_uri(tmp_path), {"gopls": {"path": str(FAKE_GOPLS)}})
    client.send_raw(b"Content-Length: 999999999999\r\n\r\n" + random.randbytes(1000).replace(b"\r", b" "))
    assert client.request("fake/echo", {"after": "junk"}, timeout=30)["params"] == {"after": "junk"}
    client.shutdown()
    assert client.process.stderr is not None
    errors = client.process.stderr.read().decode()
    assert "Traceback" not in errors
    assert "over the" in errors


def test_invalid_json_gets_a_parse_error(tmp_path: Path) -> None:
    client = LspClient(sidecar_command(), cwd=str(tmp_path))
    try:
        client.initialize(path_to_uri(tmp_path), {"gopls": {"path": str(FAKE_GOPLS)}})
        client.send_raw(_frame(b"{not json"))
        assert client.request("fake/echo", {"ok": 1})["params"] == {"ok": 1}
        errors = [m.obj["error"]["code"] for m in client.unmatched_responses]
        assert errors == [-32700]
    finally:
        client.shutdown()
