"""Several KV caches for one model: going back to a place in the code is instant.

llama.cpp keeps one KV cache per sequence, and the engine uses one sequence: a prompt
that shares only a short prefix with the previous one (the cursor jumped to another
part of the file) throws the rest away, and jumping back evaluates it all again. Before
a long cache is cut, its KV entries are copied out (`llama_state_seq_get_data`: only
the sequence's cells, a few MB, a few ms), and a later prompt that shares more with a
saved copy than with the live cache gets that copy back (`llama_state_seq_set_data`).
Logits are not saved: the engine always evaluates the prompt's last token again.
"""

from __future__ import annotations

import ctypes
from dataclasses import dataclass
from typing import Any

import numpy as np

SAVED_STATES = 4
"""The places kept besides the live cache (a 2,500-token q8_0 copy is about 21 MB)."""
MIN_SAVED_TOKENS = 256
"""A shorter cache is evaluated again faster than it is worth keeping."""


@dataclass(frozen=True, eq=False)  # one copy is one place: compared by identity, not by array contents
class _Saved:
    tokens: np.ndarray[Any, np.dtype[np.intc]]
    data: ctypes.Array[ctypes.c_uint8]


class KvStates:
    """The live cache of sequence 0 of `llm` (a llama_cpp.Llama) and saved copies of others."""

    def __init__(self, llm: Any) -> None:
        self._llm = llm
        self._saved: list[_Saved] = []
        """Most recently used first."""
        self.restored = 0
        """How many prompts started from a saved copy (for tests and the bench)."""

    def reuse(self, tokens: list[int]) -> int:
        """Make the cache hold the longest available prefix of `tokens`; return its length.

        At least the last token is left out, so that it is evaluated again for its logits.
        """
        wanted = np.asarray(tokens[:-1], dtype=np.intc)
        live = self._live_tokens()
        common = _common_prefix(live, wanted)
        best = max(self._saved, key=lambda saved: _common_prefix(saved.tokens, wanted), default=None)
        from_saved = _common_prefix(best.tokens, wanted) if best is not None else 0
        if len(live) - common >= MIN_SAVED_TOKENS:
            self._save(live)
        if best is not None and from_saved > common:
            common = from_saved if self._restore(best) else 0
        return self._cut(common)

    def _live_tokens(self) -> np.ndarray[Any, np.dtype[np.intc]]:
        return np.array(self._llm.input_ids[: self._llm.n_tokens], dtype=np.intc)

    def _save(self, tokens: np.ndarray[Any, np.dtype[np.intc]]) -> None:
        import llama_cpp  # noqa: PLC0415

        ctx = self._llm.ctx
        size = llama_cpp.llama_state_seq_get_size(ctx, 0)
        data = (ctypes.c_uint8 * size)()
        if llama_cpp.llama_state_seq_get_data(ctx, data, size, 0) != size:
            return
        # A copy that the new one extends is superseded by it.
        kept = [saved for saved in self._saved if _common_prefix(saved.tokens, tokens) < len(saved.tokens)]
        self._saved = [_Saved(tokens, data), *kept][:SAVED_STATES]

    def _restore(self, saved: _Saved) -> bool:
        """Replace the live cache with `saved`; on failure the live cache is empty."""
        import llama_cpp  # noqa: PLC0415

        self._llm._ctx.kv_cache_seq_rm(-1, 0, -1)
        self._llm.n_tokens = 0
        if llama_cpp.llama_state_seq_set_data(self._llm.ctx, saved.data, len(saved.data), 0) != len(saved.data):
            self._llm._ctx.kv_cache_seq_rm(-1, 0, -1)
            return False
        self._llm.input_ids[: len(saved.tokens)] = saved.tokens
        self._llm.n_tokens = len(saved.tokens)
        # Saving the live cache just now may have pushed `saved` out of the list (it was the oldest).
        self._saved = [saved, *(other for other in self._saved if other is not saved)][:SAVED_STATES]
        self.restored += 1
        return True

    def _cut(self, kept: int) -> int:
        """Drop the live cache after `kept` tokens (all of it if llama.cpp cannot cut there)."""
        kept = min(kept, self._llm.n_tokens)
        if kept < self._llm.n_tokens and not self._llm._ctx.kv_cache_seq_rm(-1, kept, -1):
            self._llm.reset()
            return 0
        self._llm.n_tokens = kept
        return kept


def _common_prefix(a: np.ndarray[Any, np.dtype[np.intc]], b: np.ndarray[Any, np.dtype[np.intc]]) -> int:
    limit = min(len(a), len(b))
    mismatch = np.flatnonzero(a[:limit] != b[:limit])
    return int(mismatch[0]) if mismatch.size else limit
