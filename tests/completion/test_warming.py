"""Warming the KV cache ahead of a request, and saved KV states, with the real model.

The code is `go/scanner/scanner.go` from GOROOT (not this project's, and not the
benches'); two places in it far enough apart that their prompts share nothing but
the start of the file.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Iterator

import pytest

from gosidecar.completion import CompletionRequest, CompletionService
from gosidecar.completion.cursor import CursorContext
from gosidecar.completion.engine import Generation, Limits
from gosidecar.completion.gguf import read_gguf
from gosidecar.completion.local import WARM_BATCH
from gosidecar.completion.model import default_model_path
from gosidecar.completion.postprocess import should_stop
from gosidecar.completion.prompt import PromptBudget, PromptText, build_prompt_text
from gosidecar.completion.worker import WorkerEngine
from gosidecar.documents import position_at
from gosidecar.settings import AiSettings
from tests.completion.conftest import GOROOT
from tests.support import wait_until

# Each test evaluates several prompts of a few hundred tokens: minutes on a loaded 2-core machine.
pytestmark = [pytest.mark.model, pytest.mark.timeout(1200)]

SOURCE = (GOROOT / "src" / "go" / "scanner" / "scanner.go").read_text()
URI = "file:///scanner.go"
LIMITS = Limits(max_tokens=24, time_budget_s=60)
CONTEXT_TOKENS = 3072
BUDGET = PromptBudget(window_tokens=512)
"""A shorter window than the editor's keeps the test quick on a loaded machine."""


def half_typed(line_text: str) -> tuple[str, int]:
    """SOURCE with the first line equal to `line_text` cut in its middle, and the cursor there."""
    start = SOURCE.index("\n" + line_text + "\n") + 1
    cut = start + len(line_text) // 2
    return SOURCE[:cut] + SOURCE[start + len(line_text) :], cut


LATE = half_typed("\t\t\ttok = token.IDENT")
EARLY = half_typed("\ts.ch = ' '")
assert abs(LATE[1] - EARLY[1]) > 12_000, "the two places must fall in different prompt windows"


def prompt_at(place: tuple[str, int]) -> PromptText:
    return build_prompt_text(*place, URI, budget=BUDGET)


def generate(engine: WorkerEngine, place: tuple[str, int]) -> Generation:
    text, cursor = place
    is_done = functools.partial(should_stop, CursorContext.at_offset(text, cursor))
    return engine.generate(prompt_at(place), LIMITS, lambda: False, is_done)


def new_engine() -> WorkerEngine:
    path = default_model_path()
    return WorkerEngine(path, read_gguf(path), "q8_0", CONTEXT_TOKENS)


@pytest.fixture(scope="module")
def cold_texts() -> Iterator[dict[int, str]]:
    """What a model with an empty KV cache suggests at each place (a new engine for each)."""
    texts: dict[int, str] = {}
    for place in (LATE, EARLY):
        engine = new_engine()
        try:
            texts[place[1]] = generate(engine, place).text
        finally:
            engine.close()
    yield texts


@pytest.fixture
def engine() -> Iterator[WorkerEngine]:
    model = new_engine()
    yield model
    model.close()


def test_a_warmed_prompt_gives_the_cold_text_and_evaluates_only_its_last_token(
    engine: WorkerEngine, cold_texts: dict[int, str]
) -> None:
    warming = engine.warm(prompt_at(LATE), LIMITS, lambda: False)
    assert not warming.cancelled
    assert warming.evaluated_tokens == warming.prompt_tokens > 300
    generation = generate(engine, LATE)
    assert generation.reused_tokens == generation.prompt_tokens - 1
    assert generation.text == cold_texts[LATE[1]] != ""


def test_going_back_restores_the_saved_kv_state(engine: WorkerEngine, cold_texts: dict[int, str]) -> None:
    """Without saved states the jump back evaluates the whole window again (only the
    package clause and imports, which both prompts start with, are reused)."""
    first = generate(engine, LATE)
    elsewhere = generate(engine, EARLY)
    assert elsewhere.reused_tokens < elsewhere.prompt_tokens // 2, "the places share only the package clause"
    back = generate(engine, LATE)
    assert back.reused_tokens == first.prompt_tokens - 1
    assert back.text == first.text == cold_texts[LATE[1]]
    again = generate(engine, EARLY)
    assert again.reused_tokens == elsewhere.prompt_tokens - 1
    assert again.text == elsewhere.text == cold_texts[EARLY[1]]


def test_a_cancel_stops_warming_and_leaves_a_cache_the_request_continues(
    engine: WorkerEngine, cold_texts: dict[int, str]
) -> None:
    cancel = threading.Event()
    polls = 0

    def cancelled_after_a_few_polls() -> bool:
        # The sidecar polls every 10 ms; evaluating a 500-token prompt takes seconds.
        nonlocal polls
        polls += 1
        if polls == 3:
            cancel.set()
        return cancel.is_set()

    warming = engine.warm(prompt_at(LATE), LIMITS, cancelled_after_a_few_polls)
    assert warming.cancelled
    assert warming.evaluated_tokens < warming.prompt_tokens
    generation = generate(engine, LATE)
    assert generation.reused_tokens == warming.reused_tokens + warming.evaluated_tokens
    assert generation.text == cold_texts[LATE[1]]


def test_warming_cancelled_at_once_stops_within_one_batch(engine: WorkerEngine) -> None:
    """What a real request does to warming: it sets the warming's cancel, the worker stops
    at the end of the batch it is in, and the request then runs on the same model."""
    warming = engine.warm(prompt_at(LATE), LIMITS, lambda: True)
    assert warming.cancelled and warming.evaluated_tokens <= WARM_BATCH < warming.prompt_tokens
    assert generate(engine, EARLY).generated_tokens > 0


def test_the_service_warms_where_the_cursor_rests_and_the_request_reuses_it() -> None:
    """`prefetch` (what completion/prefetch.py calls when the cursor rests) evaluates the prompt
    the suggestion there needs: the request then evaluates only its last token."""
    service = CompletionService(AiSettings(debounceMs=0, timeBudgetMs=60_000))
    try:
        text, cursor = EARLY
        line, character = position_at(text, cursor)
        service.complete(CompletionRequest(URI, "package scanner\n", 1, 0), threading.Event())  # loads the model
        service.prefetch(CompletionRequest(URI, text, line, character))
        wait_until(lambda: service.last_warming is not None, 600, "the warming to run")
        warming = service.last_warming
        assert warming is not None and not warming.cancelled
        result = service.complete(CompletionRequest(URI, text, line, character), threading.Event())
        assert result.reused_tokens == result.prompt_tokens - 1 == warming.prompt_tokens - 1
    finally:
        service.close()
