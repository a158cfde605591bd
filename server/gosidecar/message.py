"""One JSON-RPC message: the original bytes plus what routing needs from them.

Pass-through messages are forwarded as the bytes that arrived. Routing needs only the
kind, the id and the method, and those are read from the head and tail of the body
without parsing the rest: VS Code writes `{"jsonrpc":"2.0","id":1,"method":...` and
gopls writes responses as `{"jsonrpc":"2.0","result":...,"id":1}`. A top-level member
is certain when it comes before the first nested value, or when it is the last member
(`,"id":1}` at the very end of a valid object cannot belong to a nested one). Only when
neither tells is the body parsed in full. `obj` parses on demand for the few messages
the sidecar really reads.
"""

from __future__ import annotations

import enum
import json
import re
from dataclasses import dataclass
from typing import Any

MessageId = int | str

_HEAD_MEMBER = re.compile(
    rb'\s*"([A-Za-z]+)"\s*:\s*("(?:[^"\\]|\\.)*"|-?\d+(?:\.\d+)?|null|true|false|[\[{])\s*([,}]?)'
)
_HEAD_KEY = re.compile(rb'\s*"([A-Za-z]+)"\s*:')
_TAIL_ID = re.compile(rb',\s*"id"\s*:\s*(-?\d+|"[^"\\]*")\s*\}\s*$')
_TAIL_WINDOW = 128
_TRUST_PEEK_BYTES = 64 * 1024


class Kind(enum.Enum):
    REQUEST = "request"
    NOTIFICATION = "notification"
    RESPONSE = "response"
    INVALID = "invalid"


class Message:
    __slots__ = ("_obj", "body", "id", "kind", "method")

    def __init__(self, body: bytes, obj: dict[str, Any] | None = None) -> None:
        self.body = body
        self._obj = obj
        self.id: MessageId | None = None
        self.method: str | None = None
        self.kind = Kind.INVALID
        if obj is None and not self._peek():
            self._parse()
        elif obj is not None:
            self._classify(obj)

    @classmethod
    def parsed(cls, body: bytes) -> Message:
        """Parse the whole body now (for messages that must be valid JSON before going on)."""
        message = cls.__new__(cls)
        message.body = body
        message.id = message.method = message._obj = None
        message.kind = Kind.INVALID
        message._parse()
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
        try:
            obj = json.loads(self.body)
        except (ValueError, UnicodeDecodeError):
            obj = None
        if not isinstance(obj, dict):
            self._obj = None
            self.kind = Kind.INVALID
            return
        self._obj = obj
        self._classify(obj)

    def _classify(self, obj: dict[str, Any]) -> None:
        msg_id = obj.get("id")
        method = obj.get("method")
        self.id = msg_id if isinstance(msg_id, (int, str)) else None
        self.method = method if isinstance(method, str) else None
        if self.method is not None:
            self.kind = Kind.REQUEST if "id" in obj else Kind.NOTIFICATION
        elif "result" in obj or "error" in obj:
            self.kind = Kind.RESPONSE
        else:
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
    decoded = json.loads(value)
    return decoded if isinstance(decoded, str) else None


def response(msg_id: MessageId | None, result: Any) -> Message:
    return Message.from_obj({"jsonrpc": "2.0", "id": msg_id, "result": result})


def error_response(msg_id: MessageId | None, code: int, text: str) -> Message:
    return Message.from_obj({"jsonrpc": "2.0", "id": msg_id, "error": {"code": code, "message": text}})


def notification(method: str, params: Any) -> Message:
    return Message.from_obj({"jsonrpc": "2.0", "method": method, "params": params})


def request(msg_id: MessageId, method: str, params: Any) -> Message:
    return Message.from_obj({"jsonrpc": "2.0", "id": msg_id, "method": method, "params": params})


class ErrorCode:
    PARSE_ERROR = -32700
    INVALID_REQUEST = -32600
    METHOD_NOT_FOUND = -32601
    INTERNAL_ERROR = -32603
    SERVER_NOT_INITIALIZED = -32002
    REQUEST_FAILED = -32803
    CONTENT_MODIFIED = -32801
    REQUEST_CANCELLED = -32800
