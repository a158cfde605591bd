"""The editor's messages are read strictly: whatever gopls's decoder would choke on is
INVALID (never forwarded), and no body makes the reader raise."""

from __future__ import annotations

import pytest

from gosidecar.message import Kind, Message


def parsed(body: str | bytes) -> Message:
    return Message.parsed(body.encode() if isinstance(body, str) else body)


def test_deeply_nested_json_is_a_parse_error_not_a_crash() -> None:
    body = '{"jsonrpc":"2.0","id":1,"method":"x","params":' + "[" * 100_000 + "]" * 100_000 + "}"
    message = parsed(body)
    assert message.kind is Kind.INVALID
    assert message.unparsable


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        ('{"jsonrpc":"2.0","id":null,"method":"textDocument/didOpen","params":{}}', "id must be"),
        ('{"jsonrpc":"2.0","id":1.5,"method":"textDocument/hover","params":{}}', "id must be"),
        ('{"jsonrpc":"2.0","id":true,"method":"textDocument/hover","params":{}}', "id must be"),
        ('{"jsonrpc":"2.0","id":9223372036854775808,"method":"x"}', "id must be"),
        ('{"jsonrpc":"1.0","id":1,"method":"x"}', "jsonrpc"),
        ('{"id":1,"method":"x"}', "jsonrpc"),
        ('{"jsonrpc":"2.0","id":1,"method":""}', "method"),
        ('{"jsonrpc":"2.0","id":1,"method":7}', "method"),
        ('{"jsonrpc":"2.0","id":1,"method":"x","ID":2}', "case"),
        ('{"jsonrpc":"2.0","method":"x","Jsonrpc":"1.0"}', "case"),
        ('{"jsonrpc":"2.0","id":1,"error":"boom"}', "error must be"),
        ('{"jsonrpc":"2.0","id":1,"error":{"code":1.5,"message":"m"}}', "error must be"),
        ('{"jsonrpc":"2.0","id":1,"error":{"code":1,"message":"m","Code":"x"}}', "error must be"),
        ('{"jsonrpc":"2.0","result":1}', "needs an id"),
        ('{"jsonrpc":"2.0"}', "neither"),
    ],
)
def test_what_gopls_cannot_decode_is_invalid(body: str, problem: str) -> None:
    message = parsed(body)
    assert message.kind is Kind.INVALID
    assert message.problem is not None and problem in message.problem


@pytest.mark.parametrize(
    "body",
    [
        b'{"jsonrpc":"2.0","id":1,"method":"x","params":NaN}',
        b'{"jsonrpc":"2.0","id":1,"method":"x","params":-Infinity}',
        '{"jsonrpc":"2.0","id":1,"method":"x"}'.encode("utf-16"),
        b'\xef\xbb\xbf{"jsonrpc":"2.0","id":1,"method":"x"}',
        b'{"jsonrpc":"2.0","id":1,"method":"\xff"}',
        b'{"jsonrpc":"2.0","id":1,"method":"\\x"}',
    ],
)
def test_what_is_not_json_for_go_is_a_parse_error(body: bytes) -> None:
    message = parsed(body)
    assert message.kind is Kind.INVALID
    assert message.unparsable


def test_a_valid_id_is_kept_for_the_error_answer() -> None:
    message = parsed('{"jsonrpc":"1.0","id":"a-7","method":"x"}')
    assert message.kind is Kind.INVALID
    assert message.id == "a-7"


@pytest.mark.parametrize(
    ("body", "kind", "msg_id"),
    [
        ('{"jsonrpc":"2.0","id":1,"method":"textDocument/hover","params":{}}', Kind.REQUEST, 1),
        ('{"jsonrpc":"2.0","id":"s","method":"shutdown"}', Kind.REQUEST, "s"),
        ('{"jsonrpc":"2.0","method":"initialized","params":{}}', Kind.NOTIFICATION, None),
        ('{"jsonrpc":"2.0","id":3,"result":null}', Kind.RESPONSE, 3),
        ('{"jsonrpc":"2.0","id":3,"error":{"code":-32601,"message":"no","data":[1]}}', Kind.RESPONSE, 3),
    ],
)
def test_valid_messages_are_classified(body: str, kind: Kind, msg_id: object) -> None:
    message = parsed(body)
    assert (message.kind, message.id, message.problem) == (kind, msg_id, None)


def test_a_bad_escape_in_a_peeked_gopls_message_does_not_raise() -> None:
    # gopls's messages are routed from their head; a broken escape there was an exception
    # on the gopls reader thread, taken for a gopls crash.
    message = Message(b'{"jsonrpc":"2.0","method":"window/\\xlogMessage","params":{}}')
    assert message.kind is Kind.INVALID


def test_gopls_ids_are_never_booleans() -> None:
    assert Message(b'{"jsonrpc":"2.0","id":true,"result":1,"x":[1]}').id is None
