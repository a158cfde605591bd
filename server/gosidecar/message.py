"""One JSON-RPC message: the original bytes plus what routing needs from them.

Pass-through messages are forwarded as the bytes that arrived. Routing needs only the
kind, the id and the method, and those are read from the head and tail of the body
without parsing the rest: VS Code writes `{"jsonrpc":"2.0","id":1,"method":...` and
gopls writes responses as `{"jsonrpc":"2.0","result":...,"id":1}`. A top-level member
is certain when it comes before the first nested value, or when it is the last member
(`,"id":1}` at the very end of a valid object cannot belong to a nested one). Only when
neither tells is the body parsed in full. `obj` parses on demand for the few messages
the sidecar really reads.

The editor's messages are parsed in full and strictly (`Message.parsed`): gopls's
JSON-RPC layer (Go's encoding/json) drops the whole connection on a message it cannot
decode, so anything it would choke on is INVALID here: non-UTF-8 bodies, NaN/Infinity,
a `jsonrpc` other than "2.0", ids that are not an int64 or a string (null, 1.5, true),
a malformed `error` object, or a member spelt in another case (Go matches names without
case, so `"ID"` or `"Jsonrpc"` would override what Python read).
"""

from __future__ import annotations

import enum
import json
import re
from dataclasses import dataclass
from typing import Any

from lsprotocol.types import ErrorCodes

MessageId = int | str

_MEMBERS = frozenset({"jsonrpc", "id", "method", "params", "result", "error"})
_ERROR_MEMBERS = frozenset({"code", "message", "data"})
_INT64 = range(-(2**63), 2**63)

_HEAD_MEMBER = re.compile(
    rb'\s*"([A-Za-z]+)"\s*:\s*("(?:[^"\\]|\\.)*"|-?\d+(?:\.\d+)?|null|true|false|[\[{])\s*([,}]?)'
)
_HEAD_KEY = re.compile(rb'\s*"([A-Za-z]+)"\s*:')
_TAIL_ID = re.compile(rb',\s*"id"\s*:\s*(-?\d+|"[^"\\]*")\s*\}\s*$')
_TAIL_WINDOW = 128
_TRUST_PEEK_BYTES = 64 * 1024


class Rejected(Exception):  # noqa: N818 (reads as "raise Rejected(...)")
    """Raised by a hook for a message it cannot take: nothing of it goes on; a request is
    answered with this error, a notification is logged and dropped."""

    def __init__(self, reason: str, code: int = ErrorCodes.InvalidParams) -> None:
        super().__init__(reason)
        self.code = code


class Kind(enum.Enum):
    REQUEST = "request"
    NOTIFICATION = "notification"
    RESPONSE = "response"
    INVALID = "invalid"


class Message:
    __slots__ = ("_obj", "body", "id", "kind", "method", "problem")

    def __init__(self, body: bytes, obj: dict[str, Any] | None = None) -> None:
        self.body = body
        self._obj = obj
        self.id: MessageId | None = None
        self.method: str | None = None
        self.kind = Kind.INVALID
        self.problem: str | None = None
        """Why the message is INVALID (None when it is not)."""
        if obj is None and not self._peek():
            self._parse()
        elif obj is not None:
            self._classify(obj)

    @classmethod
    def parsed(cls, body: bytes) -> Message:
        """Parse and check the whole body now, strictly (for what may go on to gopls)."""
        message = cls.__new__(cls)
        message.body = body
        message.id = message.method = message._obj = message.problem = None
        message.kind = Kind.INVALID
        obj = _load(body)
        if not isinstance(obj, dict):
            message.problem = "not a JSON object" if obj is not _UNPARSABLE else "not valid JSON"
            return message
        message._obj = obj
        message._classify_strictly(obj)
        return message

    @classmethod
    def from_obj(cls, obj: dict[str, Any]) -> Message:
        return cls(json.dumps(obj, separators=(",", ":")).encode(), obj)

    @property
    def obj(self) -> dict[str, Any]:
        """The parsed body (an empty dict for an invalid message)."""
        if self._obj is None:
            self._parse()
        return self._obj if self._obj is not None else {}

    @property
    def params(self) -> Any:
        return self.obj.get("params")

    @property
    def unparsable(self) -> bool:
        """Not even JSON (a parse error, as opposed to an invalid request)."""
        return self.kind is Kind.INVALID and self._obj is None

    def _peek(self) -> bool:
        """Route from the head and tail alone; False when only a full parse can tell."""
        head = _scan_head(self.body)
        if head is None:
            return False
        self.id, self.method = head.id, head.method
        if self.id is None and not head.complete:
            self.id = tail_id(self.body)
        if head.is_response:
            self.kind = Kind.RESPONSE
            return self.id is not None
        if self.method is None:
            return False
        self.kind = Kind.REQUEST if self.id is not None else Kind.NOTIFICATION
        # Without an id in the head or as the last member, one could still hide in the
        # middle: small bodies are parsed to be sure; for large ones the encoders seen
        # (vscode-jsonrpc, gopls) never put it there, and a parse would cost milliseconds.
        return self.id is not None or head.complete or len(self.body) > _TRUST_PEEK_BYTES

    def _parse(self) -> None:
        obj = _load(self.body)
        if not isinstance(obj, dict):
            self._obj = None
            self.kind = Kind.INVALID
            return
        self._obj = obj
        self._classify(obj)

    def _classify(self, obj: dict[str, Any]) -> None:
        msg_id = obj.get("id")
        method = obj.get("method")
        self.id = msg_id if is_message_id(msg_id) else None
        self.method = method if isinstance(method, str) else None
        if self.method is not None:
            self.kind = Kind.REQUEST if "id" in obj else Kind.NOTIFICATION
        elif "result" in obj or "error" in obj:
            self.kind = Kind.RESPONSE
        else:
            self.kind = Kind.INVALID

    def _classify_strictly(self, obj: dict[str, Any]) -> None:
        self._classify(obj)
        self.problem = _envelope_problem(obj)
        if self.problem is None and self.kind is Kind.INVALID:
            self.problem = "neither a request, a notification nor a response"
        if self.problem is not None:
            self.kind = Kind.INVALID

    def __repr__(self) -> str:
        return f"Message({self.kind.value}, id={self.id!r}, method={self.method!r})"


@dataclass(frozen=True)
class _Head:
    keys: frozenset[bytes]
    id: MessageId | None
    method: str | None
    complete: bool
    """The whole object was seen (no nested value stopped the scan)."""

    @property
    def is_response(self) -> bool:
        return b"result" in self.keys or b"error" in self.keys


def _scan_head(body: bytes) -> _Head | None:
    """The top-level members before the first nested value; None when not an object."""
    head = body[:1024]
    pos = head.find(b"{")
    if pos < 0 or head[:pos].strip():
        return None
    pos += 1
    keys: set[bytes] = set()
    msg_id: MessageId | None = None
    method: str | None = None
    complete = False
    while True:
        match = _HEAD_MEMBER.match(head, pos)
        if match is None:
            key_only = _HEAD_KEY.match(head, pos)  # a value longer than the head, e.g. a huge string
            if key_only is not None:
                keys.add(key_only.group(1))
            break
        key, value, sep = match.groups()
        keys.add(key)
        if value in (b"{", b"["):
            break
        if key == b"id":
            msg_id = _scalar_id(value)
        elif key == b"method":
            method = _json_string(value)
        if sep != b",":
            complete = sep == b"}"
            break
        pos = match.end()
    return _Head(frozenset(keys), msg_id, method, complete)


def is_response_head(head: bytes) -> bool:
    """Whether the start of a body is that of a response (a `result` or `error` member)."""
    scanned = _scan_head(head)
    return scanned is not None and scanned.is_response and scanned.method is None


def tail_id(body: bytes) -> MessageId | None:
    """The id when it is the object's last member, as gopls writes its answers."""
    found = _TAIL_ID.search(body[-_TAIL_WINDOW:])
    return _scalar_id(found.group(1)) if found is not None else None


def _scalar_id(value: bytes) -> MessageId | None:
    if value.startswith(b'"'):
        return _json_string(value)
    if value.lstrip(b"-").isdigit():
        return int(value)
    return None


def _json_string(value: bytes) -> str | None:
    if not value.startswith(b'"'):
        return None
    if b"\\" not in value:
        return value[1:-1].decode("utf-8", "replace")
    decoded = _load(value)  # a bad escape (`\\x`) is an unreadable member, not a crash
    return decoded if isinstance(decoded, str) else None


_UNPARSABLE = object()


def _reject_constant(name: str) -> None:
    raise ValueError(f"{name} is not JSON")


def _load(body: bytes) -> Any:
    """The parsed body, or _UNPARSABLE (bad UTF-8, bad JSON, NaN, nesting deeper than Python's stack)."""
    try:
        return json.loads(body.decode("utf-8"), parse_constant=_reject_constant)
    except (ValueError, RecursionError):
        return _UNPARSABLE


def is_message_id(value: object) -> bool:
    """An id gopls can decode: a string, or an integer within int64 (never a bool)."""
    return isinstance(value, str) or (type(value) is int and value in _INT64)


def _envelope_problem(obj: dict[str, Any]) -> str | None:
    """Why gopls's JSON-RPC decoder would refuse this object (None when it would not)."""
    if obj.get("jsonrpc") != "2.0":
        return 'jsonrpc must be "2.0"'
    odd = _case_variant(obj, _MEMBERS)
    if odd is not None:
        return f"member {odd!r} differs from a JSON-RPC member only in case"
    if "id" in obj and not is_message_id(obj["id"]):
        return "id must be an integer or a string"
    if "method" in obj and not (isinstance(obj["method"], str) and obj["method"]):
        return "method must be a non-empty string"
    if "method" not in obj and "id" not in obj and ("result" in obj or "error" in obj):
        return "a response needs an id"
    error = obj.get("error")
    if error is not None and not _is_error_object(error):
        return "error must be an object with an integer code and a string message"
    return None


def _case_variant(obj: dict[str, Any], members: frozenset[str]) -> str | None:
    return next((key for key in obj if key not in members and key.lower() in members), None)


def _is_error_object(error: object) -> bool:
    return (
        isinstance(error, dict)
        and type(error.get("code")) is int
        and error["code"] in _INT64
        and isinstance(error.get("message"), str)
        and _case_variant(error, _ERROR_MEMBERS) is None
    )


def response(msg_id: MessageId | None, result: Any) -> Message:
    return Message.from_obj({"jsonrpc": "2.0", "id": msg_id, "result": result})


def error_response(msg_id: MessageId | None, code: int, text: str) -> Message:
    return Message.from_obj({"jsonrpc": "2.0", "id": msg_id, "error": {"code": code, "message": text}})


def notification(method: str, params: Any) -> Message:
    return Message.from_obj({"jsonrpc": "2.0", "method": method, "params": params})


def request(msg_id: MessageId, method: str, params: Any) -> Message:
    return Message.from_obj({"jsonrpc": "2.0", "id": msg_id, "method": method, "params": params})
