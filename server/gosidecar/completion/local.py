"""The local backend: a GGUF model through llama-cpp-python, run inside the model process
(`gosidecar.completion.worker`), never in the sidecar's own.

Only the inference thread touches the model. The prompt is evaluated in small batches
so that cancellation lands between batches, and tokens are generated one at a time so
that it lands within a token. The KV cache keeps the longest common token prefix of
the previous prompt, or of a saved one (`kv_states`: going back to a place is instant);
`reused_tokens` reports how much of it was kept. `warm` evaluates a prompt ahead of
its request (the cursor rests somewhere the user may type next).
"""

from __future__ import annotations

import bisect
import ctypes
import dataclasses
import functools
import logging
import os
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from gosidecar.completion.engine import Engine, Generation, Limits, Warming
from gosidecar.completion.gguf import GgufInfo
from gosidecar.completion.grounding import TokenMask, best_candidates, name_priors
from gosidecar.completion.kv_states import KvStates
from gosidecar.completion.model import KV_TYPE_IDS, ModelUnavailableError
from gosidecar.completion.prompt import FimTokens, PromptText, prompt_tokens, split_trailing_word
from gosidecar.completion.signatures import CallMonitor
from gosidecar.settings import KvCacheType

log = logging.getLogger(__name__)

# Small enough that a cancelled prompt stops within a fraction of a second on 2 cores,
# large enough to keep batched prompt evaluation efficient.
PROMPT_BATCH = 128
WARM_BATCH = 32
"""Warming yields to a real request between batches: a smaller batch, a shorter wait."""
_MAX_PIECE_BYTES = 256
_MAX_HEALED_TOKENS = 4
_MAX_RANKING_EVALS = 12
"""Model evaluations spent ranking gopls's candidates (each a few tokens) before the name is chosen."""
_RANKING_SHARE = 0.25
"""Share of the generation budget that ranking the candidates may take."""
_STEERING_CHOICES = 64
_CALL_PUNCTUATION = (b")", b",", b"\n")
"""The model's likeliest tokens tried, best first, when its first choice would break a call;
when none keeps the calls balanced, the suggestion ends there."""


def fim_tokens(info: GgufInfo) -> FimTokens | None:
    ids = [info.token_id(f"fim_{part}_token_id") for part in ("pre", "suf", "mid")]
    prefix, suffix, middle = ids
    if prefix is None or suffix is None or middle is None:
        return None
    return FimTokens(prefix, suffix, middle)


_llama_log_callback: list[object] = []
"""The ctypes callback routing llama.cpp's log to `logging`, kept alive here."""


def _route_llama_log() -> None:
    """llama.cpp writes to stderr even when not verbose; send its lines to `logging`."""
    if _llama_log_callback:
        return
    import llama_cpp  # noqa: PLC0415

    def forward(level: int, text: bytes, user_data: object) -> None:
        log.debug("llama.cpp: %s", text.decode("utf-8", errors="replace").rstrip())

    callback = llama_cpp.llama_log_callback(forward)
    _llama_log_callback.append(callback)
    llama_cpp.llama_log_set(callback, ctypes.c_void_p(0))


class LocalEngine(Engine):
    def __init__(self, path: Path, info: GgufInfo, kv_type: KvCacheType, n_ctx: int) -> None:
        from llama_cpp import Llama  # noqa: PLC0415 (heavy import, only when a model loads)

        _route_llama_log()
        threads = max(os.cpu_count() or 1, 1)
        kv_type_id = KV_TYPE_IDS[kv_type]
        try:
            # Any: llama-cpp-python's annotations are partial and its internals untyped.
            self._llm: Any = Llama(
                model_path=str(path),
                n_ctx=n_ctx,
                n_batch=PROMPT_BATCH,
                n_threads=threads,
                n_threads_batch=threads,
                type_k=kv_type_id,
                type_v=kv_type_id,
                flash_attn=True,
                swa_full=True,
                verbose=False,
            )
        except (ValueError, RuntimeError, OSError) as error:
            raise ModelUnavailableError(
                f"llama.cpp could not load {path}: {error}; check that it is a GGUF model "
                f"this llama-cpp-python supports, or clear goSidecar.ai.modelPath"
            ) from error
        self._fim = fim_tokens(info)
        self._n_ctx = n_ctx
        self._n_vocab = int(self._llm.n_vocab())
        self._vocab = self._llm._model.vocab
        self._pieces: dict[int, bytes] = {}
        self._token_of: dict[bytes, int] = {}
        self._sorted_pieces, self._sorted_ids = self._vocabulary_by_text()
        self._kv = KvStates(self._llm)
        self._mask: TokenMask | None = None
        """Built on the first grounded request."""

    def tokenize(self, text: str, add_bos: bool) -> list[int]:
        tokens: list[int] = self._llm.tokenize(text.encode("utf-8"), add_bos=add_bos)
        return tokens

    def generate(
        self,
        prompt: PromptText,
        limits: Limits,
        is_cancelled: Callable[[], bool],
        is_done: Callable[[str], bool],
    ) -> Generation:
        started = time.perf_counter()
        max_tokens = self._max_tokens(limits)
        tokens, healed = self._healed_prompt(prompt, self._n_ctx - max_tokens - 1)
        reused = self._kv.reuse(tokens)
        if not self._evaluate(tokens, is_cancelled, PROMPT_BATCH):
            return Generation("", False, cancelled=True, prompt_tokens=len(tokens))
        prompt_done = time.perf_counter()
        deadline = prompt_done + limits.time_budget_s
        output = b""
        text = ""
        count = 0
        finished = cancelled = False
        targets = [healed + rest.encode() for rest in limits.identifier_continuations]
        if len(targets) > 1:
            ranking_ends = prompt_done + limits.time_budget_s * _RANKING_SHARE
            priors = name_priors(limits.identifier_continuations, prompt.prefix)

            def cut_short() -> bool:
                return is_cancelled() or time.perf_counter() > ranking_ends

            targets = self._best_targets(tokens, targets, priors, cut_short)
        monitor = CallMonitor(limits.calls) if limits.calls is not None else None
        steered = 0
        while True:
            if targets and TokenMask.released(output, targets):
                targets = []  # the identifier is complete: the rest is the model's own
            token, was_steered = self._chosen_token(output, targets, healed, monitor)
            steered += was_steered
            if token is None or self._is_end_of_generation(token):
                finished = True
                break
            output += self._piece(token)
            count += 1
            text = output[len(healed) :].decode("utf-8", errors="ignore")
            if is_done(text):
                finished = True
                break
            cancelled = is_cancelled()
            if cancelled or count >= max_tokens or time.perf_counter() > deadline:
                break
            self._llm.eval([token])
        ended = time.perf_counter()
        return Generation(
            text=text if output.startswith(healed) else "",
            finished=finished,
            cancelled=cancelled,
            prompt_tokens=len(tokens),
            reused_tokens=reused,
            generated_tokens=count,
            steered_tokens=steered,
            prompt_ms=(prompt_done - started) * 1000,
            generation_ms=(ended - prompt_done) * 1000,
        )

    def warm(self, prompt: PromptText, limits: Limits, is_cancelled: Callable[[], bool]) -> Warming:
        """Evaluate the prompt `generate` would evaluate for the same arguments, and stop there.

        In small batches, so that a real request waiting behind it starts soon; what is
        evaluated before `is_cancelled()` stays in the cache for that request.
        """
        tokens, _ = self._healed_prompt(prompt, self._n_ctx - self._max_tokens(limits) - 1)
        reused = self._kv.reuse(tokens)
        finished = self._evaluate(tokens, is_cancelled, WARM_BATCH)
        return Warming(len(tokens), reused, self._llm.n_tokens - reused, cancelled=not finished)

    def close(self) -> None:
        self._llm.close()

    def _max_tokens(self, limits: Limits) -> int:
        return min(limits.max_tokens, self._n_ctx // 4)

    def _healed_prompt(self, prompt: PromptText, max_tokens: int) -> tuple[list[int], bytes]:
        """The prompt's tokens without its half-typed end, and the text of that end.

        In a FIM prompt the cursor is not at the end, so the half-typed word is taken off
        the text instead of the tokens.
        """
        if self._fim is not None:
            head, fragment = split_trailing_word(prompt.prefix)
            healed_prompt = dataclasses.replace(prompt, prefix=head)
            return prompt_tokens(healed_prompt, self, self._fim, max_tokens), fragment.encode()
        return self._heal(prompt_tokens(prompt, self, None, max_tokens))

    def _heal(self, tokens: list[int]) -> tuple[list[int], bytes]:
        """Token healing: drop the prompt's half-typed word and make the output start with it.

        A half-typed word ends the prompt with unusual tokens ("Mute" as "M" + "ute"),
        after which the model continues badly; letting it choose the word's tokens again
        gives "Mutex" as one token. The last token is always redone, and the tokens before
        it too while they are pieces of the same word.
        """
        keep = len(tokens) - 1
        while keep > 1 and len(tokens) - keep < _MAX_HEALED_TOKENS:
            piece, before = self._piece(tokens[keep]), self._piece(tokens[keep - 1])
            if not (_is_word_piece(piece) and before[-1:].isalnum()):
                break
            keep -= 1
        if keep < 1:
            return tokens, b""
        return tokens[:keep], b"".join(self._piece(t) for t in tokens[keep:])

    def _next_token(self, pending: bytes) -> int | None:
        """Greedy choice; while healing, the best token that agrees with `pending`.

        Tokens that cover all of `pending` come first; only when none exists, one that
        covers a part of it.
        """
        logits = self._last_logits()
        if not pending:
            return int(np.argmax(logits))
        first = bisect.bisect_left(self._sorted_pieces, pending)
        last = bisect.bisect_left(self._sorted_pieces, pending + b"\xff", lo=first)
        candidates = self._sorted_ids[first:last]
        if not candidates.size:
            candidates = np.fromiter(
                (self._token_of[pending[:size]] for size in range(1, len(pending)) if pending[:size] in self._token_of),
                dtype=np.int32,
            )
        if not candidates.size:
            return None
        return int(candidates[np.argmax(logits[candidates])])

    def _best_targets(
        self, tokens: list[int], targets: list[bytes], priors: Sequence[float], cut_short: Callable[[], bool]
    ) -> list[bytes]:
        """The candidate the model finds likeliest as a whole name, with its prior, or the few
        left when cut short (`best_candidates`); the prompt's logits are restored."""
        mask = self._token_mask()
        evaluated = self._llm.n_tokens
        at_prompt_end = _log_softmax(self._last_logits())

        def log_probs_after(path: tuple[int, ...]) -> np.ndarray[Any, np.dtype[np.float64]]:
            if not path:
                return at_prompt_end
            self._rewind(evaluated)
            self._llm.eval(list(path))
            return _log_softmax(self._last_logits())

        spellings = [self._llm.tokenize(target, add_bos=False) for target in targets]
        best = best_candidates(
            spellings, priors, log_probs_after, mask.name_ends, max_evaluations=_MAX_RANKING_EVALS, cut_short=cut_short
        )
        self._rewind(evaluated - 1)
        self._llm.eval(tokens[-1:])
        return [targets[index] for index in best]

    def _rewind(self, kept_tokens: int) -> None:
        self._llm._ctx.kv_cache_seq_rm(-1, kept_tokens, -1)
        self._llm.n_tokens = kept_tokens

    def _token_mask(self) -> TokenMask:
        if self._mask is None:
            self._mask = TokenMask(self._sorted_pieces, self._sorted_ids)
        return self._mask

    def _constrained_token(
        self, output: bytes, targets: list[bytes], healed: bytes
    ) -> tuple[np.ndarray[Any, np.dtype[np.int32]], int | None]:
        """The tokens that keep the output on one of `targets`, and the best of them; None to end there.

        While healing, tokens that cover the rest of `healed` come first (as in `_next_token`).
        """
        allowed, may_end = self._token_mask().allowed(output, targets)
        if len(output) < len(healed):
            covering = [t for t in allowed if len(output) + len(self._piece(int(t))) >= len(healed)]
            allowed = np.asarray(covering, dtype=np.int32) if covering else allowed
        logits = self._last_logits()
        if not allowed.size or (may_end and self._is_end_of_generation(int(np.argmax(logits)))):
            return allowed, None
        return allowed, int(allowed[np.argmax(logits[allowed])])

    def _chosen_token(
        self, output: bytes, targets: list[bytes], healed: bytes, monitor: CallMonitor | None
    ) -> tuple[int | None, bool]:
        """The next token (None: end here), and whether the call monitor steered it away from
        the model's first choice."""
        if targets:
            allowed, token = self._constrained_token(output, targets, healed)
        else:
            allowed, token = None, self._next_token(healed[len(output) :])
        if monitor is None or token is None or len(output) + len(self._piece(token)) <= len(healed):
            return token, False  # still the half-typed word the user wrote
        chosen = self._steered(token, allowed, functools.partial(self._keeps_calls, monitor, output, healed))
        return chosen, chosen != token

    def _keeps_calls(self, monitor: CallMonitor, output: bytes, healed: bytes, token: int) -> bool:
        """Whether the output with `token` after it keeps the calls at the cursor balanced."""
        text = (output + self._piece(token))[len(healed) :].decode("utf-8", errors="ignore")
        return monitor.accepts(text, ended=self._is_end_of_generation(token))

    def _steered(
        self, token: int, allowed: np.ndarray[Any, np.dtype[np.int32]] | None, keeps_calls: Callable[[int], bool]
    ) -> int | None:
        """`token`, or when it would break a call the likeliest of the model's next choices
        (among `allowed`, when given) that does not; failing those, the closing parenthesis,
        comma or line break the call needs (a model set on `ReadByte(bits` may rank `)`
        low); None to end the suggestion here."""
        if keeps_calls(token):
            return token
        logits = self._last_logits()
        pool = allowed if allowed is not None and allowed.size else np.arange(self._n_vocab, dtype=np.int32)
        best = pool[np.argpartition(-logits[pool], min(_STEERING_CHOICES, pool.size) - 1)[:_STEERING_CHOICES]]
        likeliest = [int(choice) for choice in best[np.argsort(-logits[best])]]
        structural = [self._token_of[text] for text in _CALL_PUNCTUATION if allowed is None and text in self._token_of]
        return next((choice for choice in likeliest + structural if choice != token and keeps_calls(choice)), None)

    def _last_logits(self) -> np.ndarray[Any, np.dtype[np.float32]]:
        from llama_cpp import llama_get_logits_ith  # noqa: PLC0415

        pointer = llama_get_logits_ith(self._llm.ctx, -1)
        logits: np.ndarray[Any, np.dtype[np.float32]] = np.ctypeslib.as_array(pointer, shape=(self._n_vocab,))
        return logits

    def _vocabulary_by_text(self) -> tuple[list[bytes], np.ndarray[Any, np.dtype[np.int32]]]:
        """All token texts sorted, with their ids: tokens extending a text form one range."""
        from llama_cpp import llama_token_to_piece  # noqa: PLC0415

        buffer = ctypes.create_string_buffer(_MAX_PIECE_BYTES)
        pieces: list[tuple[bytes, int]] = []
        for token in range(self._n_vocab):
            size = llama_token_to_piece(self._vocab, token, buffer, _MAX_PIECE_BYTES, 0, False)
            if size > 0:
                pieces.append((buffer.raw[:size], token))
        pieces.sort()
        self._token_of = {piece: token for piece, token in reversed(pieces)}
        ids = np.fromiter((token for _, token in pieces), dtype=np.int32, count=len(pieces))
        return [piece for piece, _ in pieces], ids

    def _piece(self, token: int) -> bytes:
        piece = self._pieces.get(token)
        if piece is None:
            from llama_cpp import llama_token_to_piece  # noqa: PLC0415

            buffer = ctypes.create_string_buffer(_MAX_PIECE_BYTES)
            size = llama_token_to_piece(self._vocab, token, buffer, _MAX_PIECE_BYTES, 0, False)
            piece = self._pieces[token] = buffer.raw[: max(size, 0)]
        return piece

    def _evaluate(self, tokens: list[int], is_cancelled: Callable[[], bool], batch: int) -> bool:
        """Evaluate the prompt after the kept prefix, a batch at a time."""
        while self._llm.n_tokens < len(tokens):
            if is_cancelled():
                return False
            start = self._llm.n_tokens
            self._llm.eval(tokens[start : start + batch])
        return True

    def _is_end_of_generation(self, token: int) -> bool:
        from llama_cpp import llama_vocab_is_eog  # noqa: PLC0415

        return bool(llama_vocab_is_eog(self._vocab, token))


def _log_softmax(logits: np.ndarray[Any, np.dtype[np.float32]]) -> np.ndarray[Any, np.dtype[np.float64]]:
    shifted = logits.astype(np.float64) - float(np.max(logits))
    result: np.ndarray[Any, np.dtype[np.float64]] = shifted - np.log(np.sum(np.exp(shifted)))
    return result


def _is_word_piece(piece: bytes) -> bool:
    """A token inside a word: letters or digits, not starting a new word with a space."""
    return piece.replace(b"_", b"a").isalnum()
