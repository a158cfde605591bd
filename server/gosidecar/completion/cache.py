"""LRU cache of suggestions that also answers "typed-through" requests.

When the user types the first characters of a shown suggestion, the rest of it is still
the answer: a request whose line so far extends a cached line by a prefix of that
line's suggestion is served from the cache without asking the model.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass

from gosidecar.completion.cursor import CursorContext, Edit

DEFAULT_CAPACITY = 250


@dataclass(frozen=True)
class CacheKey:
    """Identity of everything around the cursor's line: the text before it and after the cursor."""

    uri: str
    before_line: int
    after_cursor: int

    @staticmethod
    def of(uri: str, context: CursorContext) -> CacheKey:
        text = context.text
        return CacheKey(uri, hash(text[: context.line_start]), hash(text[context.offset :]))


class SuggestionCache:
    def __init__(self, capacity: int = DEFAULT_CAPACITY) -> None:
        self._capacity = capacity
        self._entries: OrderedDict[tuple[CacheKey, str], Edit] = OrderedDict()
        self._lock = threading.Lock()

    def put(self, key: CacheKey, line_prefix: str, suggestion: Edit) -> None:
        with self._lock:
            self._entries[(key, line_prefix)] = suggestion
            self._entries.move_to_end((key, line_prefix))
            while len(self._entries) > self._capacity:
                self._entries.popitem(last=False)

    def get(self, key: CacheKey, line_prefix: str) -> Edit | None:
        """The cached suggestion for this spot, or the rest of one typed through."""
        with self._lock:
            exact = self._entries.get((key, line_prefix))
            if exact is not None:
                self._entries.move_to_end((key, line_prefix))
                return exact
            for (cached_key, cached_prefix), suggestion in reversed(self._entries.items()):
                if cached_key != key or not line_prefix.startswith(cached_prefix):
                    continue
                rest = suggestion.typed_through(line_prefix[len(cached_prefix) :])
                if rest is not None:
                    return rest
            return None

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
