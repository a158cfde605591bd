"""Reading the editor's messages against the LSP schema (lsprotocol's types), strictly.

lsprotocol's own converter is lenient where Python can coerce (a string "3" or 3.7
for an integer, a number for a string): gopls (Go's encoding/json) is not, so a value
the sidecar took would be one gopls ignored, and the two would disagree about the
editor's state. The converter here accepts JSON's types exactly as Go does.

`read` is for the hooks: the params they rely on, or `Rejected` (an InvalidParams
answer for a request; a notification is dropped). `kind_mismatch` catches a known
notification sent with an id (gopls would still act on it, past the hooks that only
watch notifications) and a known request sent without one.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from cattrs import Converter
from cattrs.cols import is_sequence
from lsprotocol import converters, types
from lsprotocol.types import METHOD_TO_TYPES, ErrorCodes

from .message import Kind, Message, Rejected

T = TypeVar("T")

_NOTIFICATIONS = frozenset(method for method, types in METHOD_TO_TYPES.items() if types[1] is None)
_REQUESTS = frozenset(METHOD_TO_TYPES) - _NOTIFICATIONS


def kind_mismatch(message: Message) -> str | None:
    """Why a request or notification contradicts the LSP's own kind for its method."""
    if message.kind is Kind.REQUEST and message.method in _NOTIFICATIONS:
        return f"{message.method} is a notification: it takes no id"
    if message.kind is Kind.NOTIFICATION and message.method in _REQUESTS:
        return f"{message.method} is a request: it needs an id"
    return None


def _exactly(kind: type[Any] | tuple[type[Any], ...], name: str) -> Any:
    def structure(value: object, _: object) -> object:
        if isinstance(value, bool) and kind is not bool:
            raise TypeError(f"expected {name}, got a boolean")
        if not isinstance(value, kind):
            raise TypeError(f"expected {name}, got {type(value).__name__}")
        return value

    return structure


def _strict_converter() -> Converter:
    converter = converters.get_converter()
    converter.register_structure_hook(int, _exactly(int, "an integer"))
    converter.register_structure_hook(float, _exactly((int, float), "a number"))
    converter.register_structure_hook(str, _exactly(str, "a string"))
    converter.register_structure_hook(bool, _exactly(bool, "a boolean"))

    def array_of(sequence_type: Any) -> Callable[[object, object], list[Any]]:
        (item_type,) = getattr(sequence_type, "__args__", None) or (Any,)

        def structure(value: object, _: object) -> list[Any]:
            if not isinstance(value, list):  # cattrs would iterate an object's keys
                raise TypeError(f"expected an array, got {type(value).__name__}")
            return [converter.structure(item, item_type) for item in value]

        return structure

    converter.register_structure_hook_factory(is_sequence, array_of)
    return converter


_CONVERTER = _strict_converter()


def read(cls: type[T], value: object, what: str = "params") -> T:
    """`value` as an lsprotocol `cls`, or `Rejected` saying what is wrong with it."""
    try:
        return _CONVERTER.structure(value, cls)
    except Exception as error:  # cattrs reports shape errors as several exception types
        raise Rejected(f"malformed {what}: {_first_cause(error)}", ErrorCodes.InvalidParams) from None


def check_initialize_params(params: object) -> None:
    """`initialize` params with the members the sidecar reads in their LSP shapes.

    Only those: the rest of `capabilities` is gopls's business, and a strict read of all
    of it would refuse an editor newer than lsprotocol (an enum value it does not know).
    """
    if not isinstance(params, dict):
        raise Rejected("initialize params must be an object")
    capabilities = params.get("capabilities")
    if not isinstance(capabilities, dict):
        raise Rejected("initialize params need a capabilities object")
    for section in ("window", "workspace"):
        if capabilities.get(section) is not None and not isinstance(capabilities[section], dict):
            raise Rejected(f"capabilities.{section} must be an object")
    read(types.WindowClientCapabilities, capabilities.get("window") or {}, "capabilities.window")
    read(list[types.WorkspaceFolder] | None, params.get("workspaceFolders"), "workspaceFolders")  # type: ignore[arg-type]
    read(str | None, params.get("rootUri"), "rootUri")  # type: ignore[arg-type]


def read_text(value: str, what: str) -> str:
    """A string that is valid Unicode (a lone surrogate from a `\\ud800` escape is not:
    Go turns it into U+FFFD, so gopls would hold another text than the sidecar)."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise Rejected(f"{what} is not valid Unicode (a lone surrogate)", ErrorCodes.InvalidParams) from None
    return value


def _first_cause(error: BaseException) -> str:
    nested = getattr(error, "exceptions", None)
    if nested:
        return _first_cause(nested[0])
    return str(error) or type(error).__name__
