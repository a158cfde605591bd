"""Ghost text grounded in gopls: the site, the check, the token mask, and the whole path
through `gosidecar serve` with the real gopls and the real model on held-out Go code."""

from __future__ import annotations

import re
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from gosidecar.completion.cursor import CursorContext
from gosidecar.completion.grounding import (
    Candidates,
    Site,
    TokenMask,
    best_candidates,
    checked,
    name_priors,
    names_of,
    site_at,
)
from gosidecar.documents import position_at
from gosidecar.uris import path_to_uri
from tests.completion.conftest import GOROOT
from tests.lsp_client import LspClient
from tests.support import sidecar_command


def _site(line: str) -> Site | None:
    return site_at(CursorContext.at_offset(line + "\n}\n", len(line)))


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("\treturn l.Fo", Site("Fo", member=True, receiver="l")),
        ("\tx := fmt.", Site("", member=True, receiver="fmt")),
        ("\ty := f().Le", Site("Le", member=True, receiver=None)),
        ("\tif err", Site("err", member=False)),
        ('\ts := "a.b', None),
        ("\t// see l.Fo", None),
        ("\treturn", None),
        ("\tx = 1.5", None),
        ("\tx = ", None),
    ],
)
def test_sites_are_member_accesses_and_identifiers_in_code(line: str, expected: Site | None) -> None:
    assert _site(line) == expected


def test_completion_labels_give_the_names_in_gopls_order() -> None:
    items = [
        {"label": "PushBack", "sortText": "00002"},
        {"label": "Front().Value", "sortText": "00001"},
        {"label": "Front", "sortText": "00003"},
        {"label": 3},
        {"label": "ifnotnil!", "kind": 15},
    ]
    result = {"isIncomplete": True, "items": items}
    assert names_of(result) == ("Front", "PushBack")
    assert names_of({"items": []}) is None
    assert names_of(None) is None


def test_the_check_drops_an_unknown_first_name_and_cuts_an_unknown_member() -> None:
    candidates = Candidates(Site("", member=True, receiver="l"), ("Len", "Front", "PushBack"))
    assert checked("Len() > 0", candidates) == ("Len() > 0", "kept")
    assert checked("Size() > 0", candidates) == ("", "dropped")
    assert checked("Len() > 0 && l.Frnt() != nil", candidates) == ("Len() > 0 &&", "cut")
    field = Candidates(Site("", member=True, receiver="w"), ("w", "Comma"))
    assert checked("w.WriteRune(w.Comma)", field) == ("w.WriteRune(w.Comma)", "kept")
    typed = Candidates(Site("Pu", member=True, receiver="l"), ("PushBack",))
    assert checked("shBack(v)", typed) == ("shBack(v)", "kept")
    assert checked("sh(v)", typed) == ("", "dropped")


def _toy_model(table: dict[tuple[int, ...], dict[int, float]]) -> tuple[Any, list[tuple[int, ...]]]:
    """A model over tokens 0..9 given as probabilities after each path; token 9 ends a name."""
    evaluated: list[tuple[int, ...]] = []

    def log_probs_after(path: tuple[int, ...]) -> np.ndarray[Any, np.dtype[np.float64]]:
        evaluated.append(path)
        probabilities = np.full(10, 1e-9)
        for token, probability in table.get(path, {9: 1.0}).items():
            probabilities[token] = probability
        return np.log(probabilities)

    return log_probs_after, evaluated


_NAME_END = np.array([9], dtype=np.int32)


def test_the_ranking_takes_the_likeliest_whole_name_not_the_likeliest_first_token() -> None:
    # `Fi` + `eld` / `Fi` + `rst` share a likely first token; `Len` alone is likelier than either.
    table = {(): {1: 0.6, 2: 0.4}, (1,): {3: 0.5, 4: 0.5}}
    log_probs_after, evaluated = _toy_model(table)
    spellings = [[1, 3], [1, 4], [2]]
    assert best_candidates(spellings, [0.0, 0.0, 0.0], log_probs_after, _NAME_END, max_evaluations=12) == [2]
    assert len(evaluated) <= 3, "best-first: no evaluation after the best whole name is known"


def test_the_ranking_counts_the_end_of_the_name_and_the_prior() -> None:
    # `Len` is a prefix of `Length`: after `Len` the model wants more letters, so `Length` wins.
    table = {(): {1: 1.0}, (1,): {2: 0.9, 9: 0.1}}
    log_probs_after, _ = _toy_model(table)
    assert best_candidates([[1], [1, 2]], [0.0, 0.0], log_probs_after, _NAME_END, max_evaluations=12) == [1]
    # A strong enough prior (gopls's first) turns it around.
    assert best_candidates([[1], [1, 2]], [0.0, -3.0], log_probs_after, _NAME_END, max_evaluations=12) == [0]
    # Out of evaluations: every candidate below the most promising path, for the mask to choose among.
    assert best_candidates([[1], [1, 2], [3]], [0.0, 0.0, -1.0], log_probs_after, _NAME_END, max_evaluations=1) == [
        0,
        1,
    ]
    assert best_candidates([[1], [1, 2]], [0.0, 0.0], log_probs_after, _NAME_END, max_evaluations=0) == [0, 1]


def test_the_priors_favour_gopls_first_and_a_member_already_used() -> None:
    first, second, third = name_priors(("ee", "ont", "ontier"), "\tfor e := l.Fr")
    assert first == 0.0 > second > third
    last, len_used_before = name_priors(("ast", "en"), "\tn := l.Len()\n\tx := l.L")
    assert len_used_before > last == 0.0, "Len, used before the cursor, outweighs its lower rank"


def _toy_mask(pieces: list[bytes]) -> tuple[TokenMask, dict[bytes, int]]:
    ordered = sorted(pieces)
    ids = {piece: index for index, piece in enumerate(pieces)}
    sorted_ids = np.array([ids[piece] for piece in ordered], dtype=np.int32)
    return TokenMask(ordered, sorted_ids), ids


def test_the_mask_allows_any_spelling_of_a_name_then_releases() -> None:
    mask, ids = _toy_mask([b"P", b"Push", b"Back", b"PushBack", b"PushBack(", b"Pop", b"Len", b"(", b"x", b"Pushy"])
    targets = [b"PushBack", b"Len"]
    allowed, may_end = mask.allowed(b"", targets)
    assert {int(t) for t in allowed} == {ids[p] for p in (b"P", b"Push", b"PushBack", b"PushBack(", b"Len")}
    assert not may_end
    allowed, _ = mask.allowed(b"Push", targets)
    assert {int(t) for t in allowed} == {ids[b"Back"]}
    allowed, may_end = mask.allowed(b"PushBack", targets)
    assert {int(t) for t in allowed} == {ids[b"("]}
    assert may_end
    assert not mask.released(b"PushBack", targets)
    assert mask.released(b"PushBack(", targets)


def test_the_mask_allows_every_token_that_spells_a_piece() -> None:
    """Gemma has a byte token that is also `.`: the model's own `.` must stay allowed."""
    pieces = [b".", b".", b"Len"]
    mask = TokenMask(pieces, np.array([284, 236761, 7], dtype=np.int32))
    allowed, _ = mask.allowed(b"", [b".Len"])
    assert {int(t) for t in allowed} == {284, 236761}


# ----------------------------------------------------------------- through `serve`

# Held out: standard-library code copied at run time, never in this repository.
HELD_OUT = ("container/list/list.go", "container/ring/ring.go")
_MEMBER = re.compile(r"\b([a-z]\w*)\.([A-Za-z]\w*)")
_SITES = 10


def _member_sites(text: str) -> list[int]:
    """Offsets right after `x.` at member accesses in function bodies, a few per file, spread out."""
    offsets = []
    for line_match in re.finditer(r"(?m)^\t+(?![\t/]).*$", text):
        found = _MEMBER.search(line_match.group())
        if found is not None:
            offsets.append(line_match.start() + found.start(2))
    step = max(1, len(offsets) // (_SITES // len(HELD_OUT)))
    return offsets[::step][: _SITES // len(HELD_OUT)]


@pytest.fixture(scope="module")
def held_out(tmp_path_factory: pytest.TempPathFactory) -> Path:
    module = tmp_path_factory.mktemp("heldout")
    (module / "go.mod").write_text("module example.com/heldout\n\ngo 1.21\n")
    for relative in HELD_OUT:
        target = module / Path(relative).parent.name / Path(relative).name
        target.parent.mkdir()
        shutil.copy(GOROOT / "src" / relative, target)
    return module


class GroundedEditor:
    def __init__(self, workspace: Path, grounding: bool) -> None:
        self.client = LspClient(sidecar_command(), cwd=str(workspace))
        self.client.initialize(path_to_uri(workspace), {"ai": {"debounceMs": 0, "grounding": grounding}})
        self.client.request("workspace/symbol", {"query": ""}, timeout=120)
        self.version = 1

    def open(self, path: Path) -> str:
        uri = path_to_uri(path)
        item = {"uri": uri, "languageId": "go", "version": 1, "text": path.read_text()}
        self.client.notify("textDocument/didOpen", {"textDocument": item})
        return uri

    def set_text(self, uri: str, text: str) -> None:
        self.version += 1
        change = {"textDocument": {"uri": uri, "version": self.version}, "contentChanges": [{"text": text}]}
        self.client.notify("textDocument/didChange", change)

    def at(self, uri: str, text: str, offset: int) -> tuple[str, set[str]]:
        """The ghost text at `offset`, and the names gopls offers there."""
        line, character = position_at(text, offset)
        position = {"textDocument": {"uri": uri}, "position": {"line": line, "character": character}}
        offered = names_of(self.client.request("textDocument/completion", position, timeout=60)) or frozenset()
        result = self.client.request("textDocument/inlineCompletion", {**position, "context": {"triggerKind": 2}}, 300)
        items = result["items"] if result else []
        return (items[0]["insertText"] if items else ""), set(offered)

    def health(self) -> Any:
        return self.client.request("goSidecar/health", {}, timeout=60)


def _first_name(ghost: str) -> str:
    found = re.match(r"\w+", ghost)
    return found.group() if found else ""


def _ghost_texts(workspace: Path, grounding: bool) -> tuple[list[tuple[str, str, set[str]]], Any]:
    editor = GroundedEditor(workspace, grounding)
    seen = []
    try:
        for relative in HELD_OUT:
            path = workspace / Path(relative).parent.name / Path(relative).name
            original = path.read_text()
            uri = editor.open(path)
            for site in _member_sites(original):
                line_end = original.index("\n", site)
                cut = original[:site] + original[line_end:]
                editor.set_text(uri, cut)
                ghost, offered = editor.at(uri, cut, site)
                seen.append((original[original.rindex("\n", 0, site) + 1 : site].strip(), ghost, offered))
            editor.set_text(uri, original)
        return seen, editor.health()["ai"]
    finally:
        editor.client.shutdown()


@pytest.mark.model
@pytest.mark.timeout(900)
def test_first_identifier_after_a_dot_is_one_gopls_offers(held_out: Path) -> None:
    grounded, health = _ghost_texts(held_out, grounding=True)
    free, free_health = _ghost_texts(held_out, grounding=False)
    for (before, ghost, _), (_, free_ghost, _) in zip(grounded, free, strict=True):
        print(f"{before!r:40} on: {ghost!r:40} off: {free_ghost!r}")
    shown = [(ghost, offered) for _, ghost, offered in grounded if ghost]
    assert shown, "grounding left no ghost text at all"
    assert all(_first_name(ghost) in offered for ghost, offered in shown), shown
    assert health["groundingConstrained"] >= len(shown)
    assert free_health["groundingConstrained"] == 0
    unknown_free = sum(1 for _, ghost, offered in free if ghost and _first_name(ghost) not in offered)
    print(f"grounding on: {len(shown)}/{len(grounded)} shown, all known; off: {unknown_free} name unknown members")
