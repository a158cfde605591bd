"""Grounding with the real GGUF model (in-process `LocalEngine`) and the real gopls: the
ranking of gopls's candidates against the greedy first-token mask, and the call monitor
against the model alone.

At a member access (`x.` with the rest of the line removed) the local engine ranks gopls's
candidates by the model's log-probability of the whole name plus priors (gopls's order, a
member used before the cursor) before the mask spells the winner. Without the ranking
(`_MAX_RANKING_EVALS = 0`, the behaviour before it) the mask chooses greedily, a token at a
time. The sites are in `compress/bzip2`, a tuning package of `bench/grounding_bench.py`
(never its held-out ones); at each the ranking names the author's member and the greedy
mask another one, whichever thread count (1 or 2) and site order, with margins measured
when they were chosen (in each test's docstring).

The call monitor (`signatures.py`) gets what gopls says about the calls at the cursor: the
candidates' details and the signature of the call the cursor is in. At the call sites below
the model alone, its first name constrained as in the editor, writes a call gopls rejects;
steered, it does not.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from gosidecar.completion import local
from gosidecar.completion.cursor import CursorContext
from gosidecar.completion.engine import Limits
from gosidecar.completion.gguf import read_gguf
from gosidecar.completion.grounding import Candidates, names_of, site_at
from gosidecar.completion.model import default_model_path
from gosidecar.completion.model_lifecycle import CONTEXT_TOKENS
from gosidecar.completion.postprocess import should_stop
from gosidecar.completion.prompt import PromptBudget, build_prompt_text
from gosidecar.completion.signatures import CallMonitor, CallShapes, called_at_cursor, callees_of, enclosing_arity
from gosidecar.documents import position_at
from gosidecar.uris import path_to_uri
from tests.completion.conftest import GOROOT
from tests.lsp_client import LspClient

pytestmark = [pytest.mark.model, pytest.mark.timeout(900)]

PACKAGE = "compress/bzip2"
BUDGET = PromptBudget(window_tokens=512)
"""A shorter window than the editor's keeps the test quick; the margins were measured with it."""
MAX_TOKENS = 16
TIME_BUDGET_S = 600.0
"""A budget no loaded machine reaches: the ranking (a share of it) is never cut short by time."""


@pytest.fixture(scope="module")
def package(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A module holding a copy of the package (its code only), for gopls to type-check."""
    module = tmp_path_factory.mktemp("ranking")
    (module / "go.mod").write_text("module example.com/ranking\n\ngo 1.21\n")
    shutil.copytree(GOROOT / "src" / PACKAGE, module / "bzip2", ignore=shutil.ignore_patterns("*_test.go", "testdata"))
    return module / "bzip2"


@pytest.fixture(scope="module")
def gopls(package: Path, gopls_path: str) -> Iterator[LspClient]:
    client = LspClient([gopls_path, "serve"], cwd=str(package.parent))
    client.initialize(path_to_uri(package.parent), None)
    client.request("workspace/symbol", {"query": ""}, timeout=120)  # waits for the workspace load
    yield client
    client.shutdown()


@pytest.fixture(scope="module")
def engine() -> Iterator[local.LocalEngine]:
    path = default_model_path()
    model = local.LocalEngine(path, read_gguf(path), "q8_0", CONTEXT_TOKENS)
    yield model
    model.close()


def _cut_after_member_dot(text: str, line: str) -> tuple[str, int]:
    """`text` with the rest of the (first) `line` after its first `x.` removed, and the cursor there."""
    cursor = text.index(line) + line.index(".") + 1
    return text[:cursor] + text[text.index("\n", cursor) :], cursor


def _ask(gopls: LspClient, uri: str, text: str, cursor: int, method: str) -> object:
    """gopls's answer to `method` at the cursor, for `text` as an unsaved buffer."""
    item = {"uri": uri, "languageId": "go", "version": 1, "text": text}
    gopls.notify("textDocument/didOpen", {"textDocument": item})
    try:
        line, character = position_at(text, cursor)
        position = {"textDocument": {"uri": uri}, "position": {"line": line, "character": character}}
        answer: object = gopls.request(method, position, timeout=60)
        return answer
    finally:
        gopls.notify("textDocument/didClose", {"textDocument": {"uri": uri}})


def _candidates(gopls: LspClient, uri: str, text: str, cursor: int) -> Candidates:
    """gopls's candidates at the cursor, for `text` as an unsaved buffer."""
    names = names_of(_ask(gopls, uri, text, cursor, "textDocument/completion"))
    site = site_at(CursorContext.at_offset(text, cursor))
    assert names is not None and site is not None
    return Candidates(site, names)


def _name_written(text: str) -> bool:
    """Whether `text` has a name and then a character that ends it: only the first name is compared."""
    return re.match(r"\w*\W", text) is not None


def _first_name(engine: local.LocalEngine, uri: str, text: str, cursor: int, candidates: Candidates) -> str:
    """The first identifier the engine writes at the cursor, constrained to gopls's candidates."""
    prompt = build_prompt_text(text, cursor, uri, budget=BUDGET)
    limits = Limits(MAX_TOKENS, TIME_BUDGET_S, identifier_continuations=candidates.continuations)
    generation = engine.generate(prompt, limits, lambda: False, _name_written)
    found = re.match(r"\w*", generation.text)
    return found.group() if found else ""


def _ranked_and_greedy(
    engine: local.LocalEngine, gopls: LspClient, path: Path, line: str, monkeypatch: pytest.MonkeyPatch
) -> tuple[str, str, tuple[str, ...]]:
    """The first name with the ranking, then with the greedy mask alone, and gopls's candidates."""
    text, cursor = _cut_after_member_dot(path.read_text(), line)
    uri = path_to_uri(path)
    candidates = _candidates(gopls, uri, text, cursor)
    ranked = _first_name(engine, uri, text, cursor, candidates)
    monkeypatch.setattr(local, "_MAX_RANKING_EVALS", 0)
    greedy = _first_name(engine, uri, text, cursor, candidates)
    return ranked, greedy, candidates.names


def test_the_ranking_ends_the_name_where_the_greedy_mask_runs_on_into_a_longer_one(
    engine: local.LocalEngine, gopls: LspClient, package: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`if code.code&test != 0 {` in `buildHuffmanNode` (huffman.go); gopls offers `code`,
    `codeLen` and `value`.

    `code` and `codeLen` share their first token `code`. The greedy mask takes it (logit 12.24
    against `value` 12.11) and then, still inside a name that may go on, the model's likeliest
    next token: `Len` (16.30 against ` ==` 15.11), so it writes `codeLen`, a name the line
    never uses (and had it taken `value`, it would be wrong too). The ranking scores each whole
    name with the probability that it ends there, summed over every token that ends an
    identifier (` ==`, ` >`, ` !=`, ...), plus its prior: `code` (log-probability -3.36, prior
    +1.00, gopls's first and used before the cursor) -2.36, `value` (-2.88, -0.55) -3.43,
    `codeLen` (-3.57, -0.35) -3.91.
    """
    line = "if code.code&test != 0 {"
    ranked, greedy, offered = _ranked_and_greedy(engine, gopls, package / "huffman.go", line, monkeypatch)
    assert ranked in offered and greedy in offered, "grounded: the first identifier is one gopls offers"
    assert ranked == "code", f"the ranking chose {ranked!r} among {offered}"
    assert greedy != "code", "the greedy mask finds the author's name here: the site no longer tells them apart"


def test_the_ranking_weighs_gopls_order_and_the_members_used_against_the_first_token(
    engine: local.LocalEngine, gopls: LspClient, package: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`node.left, err = buildHuffmanNode(t, left, level+1)` (huffman.go), in the branch after
    `node.left = invalidNodeValue` / `node.leftValue = ...`; gopls offers `left` first, then
    `leftValue`, `right`, `rightValue`.

    The greedy mask follows the model's likeliest first token alone, `right` (logit 14.59
    against `left` 13.97), and never reconsiders. The ranking adds to the model's whole-name
    log-probability (`right` -0.66, `left` -1.34) the priors the model does not see: gopls
    puts `left` first and the code just above uses `.left` (+1.00 against -0.55), so `left`
    scores -0.34 and `right` -1.21.
    """
    line = "node.left, err = buildHuffmanNode"
    ranked, greedy, offered = _ranked_and_greedy(engine, gopls, package / "huffman.go", line, monkeypatch)
    assert ranked in offered and greedy in offered, "grounded: the first identifier is one gopls offers"
    assert ranked == "left", f"the ranking chose {ranked!r} among {offered}"
    assert greedy != "left", "the greedy mask finds the author's name here: the site no longer tells them apart"


# ----------------------------------------------------------------- calls


def _cut_after(text: str, before_cursor: str) -> tuple[str, int]:
    """`text` with the rest of the line after `before_cursor` removed, and the cursor there."""
    cursor = text.index(before_cursor) + len(before_cursor)
    return text[:cursor] + text[text.index("\n", cursor) :], cursor


def _alone_and_steered(
    engine: local.LocalEngine, gopls: LspClient, path: Path, before_cursor: str
) -> tuple[str, str, CallMonitor, int]:
    """What the engine writes at the cursor without and with the call monitor (the first name
    grounded in both), the monitor, and how many tokens it steered."""
    text, cursor = _cut_after(path.read_text(), before_cursor)
    uri, context = path_to_uri(path), CursorContext.at_offset(text, cursor)
    completion = _ask(gopls, uri, text, cursor, "textDocument/completion") if site_at(context) else None
    calls = called_at_cursor(context.line_prefix) is not None
    signature = _ask(gopls, uri, text, cursor, "textDocument/signatureHelp") if calls else None
    shapes = CallShapes(context.line_prefix, enclosing_arity(context.line_prefix, signature), callees_of(completion))
    site, names = site_at(context), names_of(completion)
    continuations = Candidates(site, names).continuations if site and names else ()
    prompt = build_prompt_text(text, cursor, uri, budget=BUDGET)

    def write(monitored: CallShapes | None) -> tuple[str, int]:
        limits = Limits(MAX_TOKENS, TIME_BUDGET_S, continuations, monitored)
        generation = engine.generate(prompt, limits, lambda: False, lambda done: should_stop(context, done))
        return generation.text.rstrip("\n"), generation.steered_tokens

    alone, _ = write(None)
    steered, count = write(shapes)
    return alone, steered, CallMonitor(shapes), count


@pytest.mark.parametrize(
    ("site", "expected"),
    [
        # `io.EOF` is a variable of type error: the model alone writes `EOF()`.
        (("bit_reader.go", "\t\terr = io."), "EOF"),
        # `ReadByte` takes no argument: the model alone writes `ReadByte(bits)`. Steered to `)`, it
        # would go on with `(bits)`, `.r`, `, bits` or `; err`, each a break of what ReadByte returns
        # (byte, error: two values stand alone), until the line ends.
        (("bit_reader.go", "\tb, err := br.r."), "ReadByte()"),
    ],
)
def test_the_call_monitor_keeps_the_models_calls_to_what_gopls_says(
    engine: local.LocalEngine, gopls: LspClient, package: Path, site: tuple[str, str], expected: str
) -> None:
    file, before_cursor = site
    alone, steered, monitor, count = _alone_and_steered(engine, gopls, package / file, before_cursor)
    print(f"{before_cursor.strip()!r}: alone {alone!r}, steered {steered!r} ({count} tokens)")
    assert monitor.first_break(alone, ended=True) is not None, f"the model alone keeps the calls here: {alone!r}"
    assert monitor.first_break(steered, ended=True) is None, steered
    assert steered.strip() == expected and count >= 1
