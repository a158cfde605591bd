"""Ghost text grounded in gopls: gopls is the monitor of the model's identifiers.

At a member access (`x.` or `x.Fo` being typed) and at an identifier being typed, the
sidecar asks gopls for its completion candidates there (`textDocument/completion` through
the proxy, as the sidecar's own request: the editor's requests do not wait for it, and it
is cancelled at gopls when the suggestion is); inside a call, for its signature
(`signatures`: the calls come out balanced). Their names are the identifiers that may
come next. The local model's first identifier is constrained to them (`TokenMask`, a
logits mask), the model ranking them; after it generation goes on freely. Whatever the
backend, a suggestion is checked before it is shown (`checked`): one whose first
identifier gopls does not offer is dropped, and one that later names a member of the same
receiver that gopls does not offer is cut before it.
"""

from __future__ import annotations

import bisect
import heapq
import itertools
import math
import re
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future, wait
from dataclasses import dataclass
from typing import Any, Literal, Protocol

import numpy as np
from lsprotocol.types import CompletionItemKind

from gosidecar.completion.cursor import CursorContext
from gosidecar.completion.go_scan import GO_KEYWORDS, scan_go

BUDGET_S = 1.0
"""Longest wait for each of gopls's answers; without them the suggestion is not grounded."""
_POLL_S = 0.02
_LEADING_NAME = re.compile(r"\w+")
_MAX_PIECE_BYTES = 32
"""Bytes of each token kept for the mask; longer identifiers are not constrained past this."""

Verdict = Literal["kept", "cut", "dropped"]


@dataclass(frozen=True)
class Site:
    """Where the cursor asks for an identifier."""

    fragment: str
    """The identifier typed so far ("" right after a `.`)."""
    member: bool
    """After a `.`: gopls offers the members of what is before it."""
    receiver: str | None = None
    """`x.y` in `x.y.Fo` when it is a plain name or selector (not `f().Fo`)."""


_SITE = re.compile(r"(?:(?P<receiver>[^\W\d]\w*(?:\.[^\W\d]\w*)*)?(?P<dot>\.))?(?P<fragment>\w*)$")
_NOT_CODE = ('"', "'", "`", "\n", "*/")
"""What `GoScan.open` ends with inside a string, a rune, a raw string or a comment."""


def site_at(context: CursorContext) -> Site | None:
    """A member access or an identifier being typed at the cursor, in code; else None."""
    prefix = context.line_prefix
    if context.line_suffix[:1].isidentifier():
        return None  # inside a word: the identifier is already there
    match = _SITE.search(prefix)
    if match is None:
        return None
    fragment, member = match.group("fragment"), match.group("dot") is not None
    if fragment[:1].isdigit() or (not member and (not fragment or fragment in GO_KEYWORDS)):
        return None
    if any(closer in _NOT_CODE for closer in scan_go(prefix).open[-1:]):
        return None
    return Site(fragment, member, match.group("receiver"))


@dataclass(frozen=True)
class Candidates:
    site: Site
    names: tuple[str, ...]
    """The identifiers gopls offers at the site, best first in gopls's own order."""

    @property
    def continuations(self) -> tuple[str, ...]:
        """What may follow the cursor: the rest of each name that starts with the fragment, in gopls's order."""
        fragment = self.site.fragment
        return tuple(name[len(fragment) :] for name in self.names if name.startswith(fragment))


class GoplsRequester(Protocol):
    def request_gopls(self, method: str, params: Any, *, bypass_backlog: bool = False) -> Future[Any]: ...

    def cancel_gopls_request(self, future: Future[Any]) -> None: ...


class GroundingSource(Protocol):
    """gopls's answers at the cursor: completion candidates, the signature of the call."""

    def ask(self, method: str, uri: str, position: tuple[int, int]) -> Future[Any]: ...

    def answers(self, asked: Sequence[Future[Any]], is_cancelled: Callable[[], bool]) -> list[object | None]: ...

    def cancel(self, asked: Sequence[Future[Any]]) -> None: ...


class GoplsGrounding:
    """Asks gopls through the proxy, as the sidecar's own requests."""

    def __init__(self, gopls: GoplsRequester, budget_s: float = BUDGET_S) -> None:
        self._gopls = gopls
        self._budget_s = budget_s

    def ask(self, method: str, uri: str, position: tuple[int, int]) -> Future[Any]:
        """`textDocument/completion` or `textDocument/signatureHelp` at `position`."""
        line, character = position
        params = {"textDocument": {"uri": uri}, "position": {"line": line, "character": character}}
        return self._gopls.request_gopls(method, params)

    def answers(self, asked: Sequence[Future[Any]], is_cancelled: Callable[[], bool]) -> list[object | None]:
        """gopls's answers, all within one budget; None for one that failed or was late (it
        is cancelled at gopls), and for all once the suggestion is cancelled."""
        deadline = time.monotonic() + self._budget_s
        while not is_cancelled() and time.monotonic() < deadline and not all(future.done() for future in asked):
            wait(asked, timeout=_POLL_S)
        self.cancel([future for future in asked if not future.done()])
        return [_answer(future) if not is_cancelled() else None for future in asked]

    def cancel(self, asked: Sequence[Future[Any]]) -> None:
        for future in asked:
            if not future.done():
                self._gopls.cancel_gopls_request(future)


def _answer(future: Future[Any]) -> object | None:
    if not future.done() or future.cancelled() or future.exception() is not None:
        return None
    answer: object = future.result()
    return answer


def names_of(result: object) -> tuple[str, ...] | None:
    """The identifiers of a `textDocument/completion` result (`Front().Value` names `Front`),
    best first: in `sortText` order, where gopls puts what fits the expected type first."""
    items = result.get("items") if isinstance(result, dict) else result
    if not isinstance(items, list):
        return None
    names: dict[str, None] = {}
    for item in sorted((i for i in items if isinstance(i, dict)), key=_sort_text):
        label = item.get("label")
        if not isinstance(label, str) or item.get("kind") == CompletionItemKind.Snippet or label.endswith("!"):
            continue  # a snippet (`ifnotnil!`, a postfix template) is not a name
        found = _LEADING_NAME.match(label)
        if found is not None:
            names.setdefault(found.group())
    return tuple(names) or None


def _sort_text(item: dict[str, Any]) -> str:
    sort_text = item.get("sortText", item.get("label"))
    return sort_text if isinstance(sort_text, str) else ""


def checked(text: str, candidates: Candidates) -> tuple[str, Verdict]:
    """`text` (what follows the cursor) with what gopls does not know cut off.

    The first identifier must be a candidate: otherwise nothing is left. A later member
    of the same receiver (`l.Len() > 0 && l.Frnt()`) must be one too: the text is cut
    before it.
    """
    fragment, receiver = candidates.site.fragment, candidates.site.receiver
    leading = _LEADING_NAME.match(text)
    first = fragment + (leading.group() if leading else "")
    if first not in candidates.names:
        return "", "dropped"
    if receiver is None:
        return text, "kept"
    # Scanned after the cursor's `.` and fragment: the first name (`w` in `w.w.Write`) is no receiver.
    before = "." + fragment
    for use in re.finditer(rf"(?<![\w.]){re.escape(receiver)}\.(\w+)", before + text):
        if use.group(1) not in candidates.names:
            return text[: use.start() - len(before)].rstrip(), "cut"
    return text, "kept"


# ----------------------------------------------------------------- the logits mask


def _non_word_bytes() -> np.ndarray[Any, np.dtype[np.bool_]]:
    """Bytes that end an identifier; 0 (past a token's end) and UTF-8 bytes of letters do not."""
    table = np.zeros(256, dtype=np.bool_)
    for byte in range(1, 0x80):
        table[byte] = not (chr(byte).isalnum() or chr(byte) == "_")
    return table


_ENDS_NAME = _non_word_bytes()


class TokenMask:
    """Which tokens keep the output on one of the allowed names, over a whole vocabulary.

    A name may be spelled by any tokens, not only the tokenizer's own split: at each step
    the allowed tokens are those that are a prefix of a name's rest, and those that
    complete it and go on with a character that ends an identifier (`Len(`). Once a name
    is complete and followed by such a character, the output is free.
    """

    def __init__(self, sorted_pieces: list[bytes], sorted_ids: np.ndarray[Any, np.dtype[np.int32]]) -> None:
        self._pieces = sorted_pieces
        self._ids = sorted_ids
        padded = np.array([piece[:_MAX_PIECE_BYTES] for piece in sorted_pieces], dtype=f"S{_MAX_PIECE_BYTES}")
        self._bytes = padded.view(np.uint8).reshape(len(sorted_pieces), _MAX_PIECE_BYTES)

    @staticmethod
    def released(output: bytes, targets: Sequence[bytes]) -> bool:
        """Whether the output has completed a name and gone past it."""
        return any(
            len(output) > len(target) and output.startswith(target) and _ENDS_NAME[output[len(target)]]
            for target in targets
        )

    def allowed(self, output: bytes, targets: Sequence[bytes]) -> tuple[np.ndarray[Any, np.dtype[np.int32]], bool]:
        """The tokens that may come next while not released, and whether the output may end here.

        The caller prefers, among them, those that cover the healed prompt end at once, as
        token healing does (otherwise `\t\tl.` could be redone as a lone `\t`)."""
        found: list[np.ndarray[Any, np.dtype[np.int32]]] = []
        may_end = False
        for target in targets:
            if not target.startswith(output):
                continue
            rest = target[len(output) :]
            may_end = may_end or not rest
            found.extend(self._spelled(rest[:size]) for size in range(1, len(rest) + 1))
            found.append(self._completing(rest))
        if not found:
            return np.zeros(0, dtype=np.int32), may_end
        return np.unique(np.concatenate(found)), may_end

    @property
    def name_ends(self) -> np.ndarray[Any, np.dtype[np.int32]]:
        """The tokens that start with a character ending an identifier."""
        return self._ids[_ENDS_NAME[self._bytes[:, 0]]]

    def _spelled(self, piece: bytes) -> np.ndarray[Any, np.dtype[np.int32]]:
        """All tokens whose text is `piece`: a byte token may spell `.` as well as the real `.` token."""
        first = bisect.bisect_left(self._pieces, piece)
        return self._ids[first : bisect.bisect_right(self._pieces, piece, lo=first)]

    def _completing(self, rest: bytes) -> np.ndarray[Any, np.dtype[np.int32]]:
        """Tokens that start with `rest` and then end the identifier."""
        if len(rest) >= _MAX_PIECE_BYTES:
            return np.zeros(0, dtype=np.int32)
        first = bisect.bisect_left(self._pieces, rest)
        last = bisect.bisect_left(self._pieces, rest + b"\xff", lo=first)
        ends = _ENDS_NAME[self._bytes[first:last, len(rest)]]
        return self._ids[first:last][ends]


# ----------------------------------------------------------------- ranking the candidates

LogProbs = np.ndarray[Any, np.dtype[np.float64]]
RANK_WEIGHT = 0.5
"""Weight of gopls's order: the candidate at rank r gets the log-prior `-RANK_WEIGHT * log(1 + r)`."""
USED_BONUS = 1.0
"""Log-prior of a member already used before the cursor (`.name`). Both measured on the tuning
packages of `bench/grounding_bench.py` (32 member accesses: the author's name first for 8 by gopls's
order alone, 13 by the old greedy mask, 15 by the model's whole-name log-probability, 16 with these)."""


def name_priors(continuations: Sequence[str], before_cursor: str) -> tuple[float, ...]:
    """The log-prior of each candidate name (`continuations` in gopls's order, after the typed fragment)."""
    fragment = re.search(r"\w*$", before_cursor)
    typed = fragment.group() if fragment else ""
    used = set(re.findall(r"\.(\w+)", before_cursor[: len(before_cursor) - len(typed)]))
    return tuple(
        -RANK_WEIGHT * math.log1p(rank) + USED_BONUS * (typed + rest in used) for rank, rest in enumerate(continuations)
    )


def best_candidates(
    spellings: Sequence[Sequence[int]],
    priors: Sequence[float],
    log_probs_after: Callable[[tuple[int, ...]], LogProbs],
    name_ends: np.ndarray[Any, np.dtype[np.int32]],
    *,
    max_evaluations: int,
    cut_short: Callable[[], bool] = lambda: False,
) -> list[int]:
    """The candidate with the highest model log-probability of its whole name plus its prior.

    A name's log-probability is that of its tokens and then of a token that ends an
    identifier (`name_ends`), so `Len` does not win for `Length`. Best-first over the
    candidates' token paths: a path's log-probability so far plus the best prior below it
    bounds every candidate under it (log-probabilities only fall), so the first whole
    candidate taken is the best; most sites need a few model evaluations, not one per
    candidate. `log_probs_after(path)` runs the model after the prompt and `path`. After
    `max_evaluations`, or once `cut_short()`, the search stops short: the candidates
    below the most promising path are returned, for the caller to choose among.
    """
    below: dict[tuple[int, ...], list[int]] = {}
    for index, spelling in enumerate(spellings):
        for size in range(len(spelling) + 1):
            below.setdefault(tuple(spelling[:size]), []).append(index)
    best_prior = {path: max(priors[i] for i in indexes) for path, indexes in below.items()}
    tiebreak = itertools.count()
    frontier: list[tuple[float, int, tuple[int, ...], float, int]] = [(-best_prior[()], 0, (), 0.0, -1)]
    evaluations = 0
    while frontier:
        _, _, path, log_prob, whole = heapq.heappop(frontier)
        if whole >= 0:
            return [whole]
        if evaluations >= max_evaluations or cut_short():
            return below[path]
        after = log_probs_after(path)
        evaluations += 1
        children: set[int] = set()
        for index in below[path]:
            spelling = spellings[index]
            if len(spelling) == len(path):
                score = log_prob + float(np.logaddexp.reduce(after[name_ends])) + priors[index]
                heapq.heappush(frontier, (-score, next(tiebreak), path, score, index))
            else:
                children.add(spelling[len(path)])
        for token in children:
            child, child_log_prob = (*path, token), log_prob + float(after[token])
            bound = child_log_prob + best_prior[child]
            heapq.heappush(frontier, (-bound, next(tiebreak), child, child_log_prob, -1))
    return list(range(len(spellings)))
