"""Saved KV states over a stand-in for llama.cpp's context (what moves is bookkeeping)."""

from __future__ import annotations

from typing import Any

import llama_cpp
import numpy as np
import pytest

from gosidecar.completion.kv_states import MIN_SAVED_TOKENS, SAVED_STATES, KvStates


class _Context:
    def kv_cache_seq_rm(self, seq: int, start: int, end: int) -> bool:
        return True


class _Llama:
    """What KvStates reads of a llama_cpp.Llama: its token record and its context."""

    def __init__(self) -> None:
        self.input_ids = np.zeros(8192, dtype=np.intc)
        self.n_tokens = 0
        self.ctx = object()
        self._ctx = _Context()

    def evaluate(self, tokens: list[int]) -> None:
        self.input_ids[: len(tokens)] = tokens
        self.n_tokens = len(tokens)

    def reset(self) -> None:
        self.n_tokens = 0


@pytest.fixture
def llm(monkeypatch: pytest.MonkeyPatch) -> _Llama:
    """llama.cpp's state copies stand in as 4-byte blobs that always fit."""
    monkeypatch.setattr(llama_cpp, "llama_state_seq_get_size", lambda ctx, seq: 4)
    monkeypatch.setattr(llama_cpp, "llama_state_seq_get_data", lambda ctx, data, size, seq: size)
    monkeypatch.setattr(llama_cpp, "llama_state_seq_set_data", lambda ctx, data, size, seq: size)
    return _Llama()


def place(number: int) -> list[int]:
    """A prompt that shares nothing with another place's."""
    return [number * 10_000 + offset for offset in range(MIN_SAVED_TOKENS + 50)]


def visit(states: KvStates, llm: Any, tokens: list[int]) -> int:
    kept = states.reuse(tokens)
    llm.evaluate(tokens)
    return kept


def test_going_back_to_the_oldest_saved_place_while_a_new_one_is_saved(llm: _Llama) -> None:
    states = KvStates(llm)
    places = [place(number) for number in range(SAVED_STATES + 1)]
    for tokens in places:
        assert visit(states, llm, tokens) == 0
    # Saving the live place pushes the oldest copy out of the list just as it is restored.
    oldest = places[0]
    assert visit(states, llm, oldest) == len(oldest) - 1
    assert states.restored == 1
    assert visit(states, llm, places[-1]) == len(places[-1]) - 1  # the place just left was saved
