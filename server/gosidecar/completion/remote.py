"""Remote backends: a llama.cpp server's `/infill`, or any OpenAI-compatible `/v1/completions`.

`ai.backend` is the URL. A URL whose path ends in `/infill` gets llama.cpp's FIM request
(the server builds the FIM prompt with the model's own tokens); anything else is treated
as an OpenAI-compatible server (`/v1/completions` is added to a bare host URL) and gets
the same anchored prefix prompt as the local model, so the server's prompt cache is
reused the same way. Servers do not heal tokens, so a half-typed word is left out of
the prompt and the suggestion must start with it. Responses are streamed and read token
by token, so cancellation closes the connection within a token and the server stops
generating.

The server is not trusted to behave: the whole exchange has one deadline derived from the
request's time budget (a watchdog shuts the socket, so a server trickling bytes cannot
hold a request), lines and the whole stream are size-capped before they are buffered,
and every event's JSON shape is checked; any breach is an `EngineError`.
"""

from __future__ import annotations

import contextlib
import http.client
import ipaddress
import json
import logging
import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import SplitResult, urlsplit

from gosidecar.completion.engine import Engine, EngineError, Generation, Limits
from gosidecar.completion.prompt import PromptText, split_trailing_word

log = logging.getLogger(__name__)

EXCHANGE_BUDGETS = 2.0
"""The whole exchange (connect, the server's prompt work, the stream) gets this many time
budgets: one for the prompt, one for generating, as the local engine spends them."""
MAX_LINE_BYTES = 64 * 1024
"""One server-sent event: a token with its timings is well under 2 KiB."""
MAX_STREAM_BYTES = 1024 * 1024
"""A whole streamed answer: a few hundred tokens of events."""
_WATCH_INTERVAL_S = 0.02
_TIMING_KEYS = ("prompt_n", "cache_n", "predicted_n")


@dataclass(frozen=True)
class _Chunk:
    text: str
    stopped: bool
    timings: dict[str, int]


def plain_http_warning(url: str) -> str | None:
    """Why a backend URL exposes the user's source, or None when it does not."""
    parts = urlsplit(url)
    if parts.scheme != "http" or _is_loopback(parts.hostname or ""):
        return None
    return f"goSidecar.ai.backend sends your source code unencrypted (plain http) to {parts.hostname}"


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False  # a name may resolve anywhere


class RemoteEngine(Engine):
    def __init__(self, url: str) -> None:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise EngineError(
                f"goSidecar.ai.backend {url!r} is neither `local` nor an http(s) URL "
                f"(e.g. http://127.0.0.1:8080/infill or http://127.0.0.1:8000/v1/completions)"
            )
        path = parts.path.rstrip("/")
        self.infill = path.endswith("/infill")
        if not self.infill and not path.endswith("/completions"):
            path += "/completions" if path.endswith("/v1") else "/v1/completions"
        self._parts = parts
        self._path = path
        self.url = f"{parts.scheme}://{parts.netloc}{path}"
        warning = plain_http_warning(url)
        if warning is not None:
            log.warning("%s", warning)

    def generate(
        self,
        prompt: PromptText,
        limits: Limits,
        is_cancelled: Callable[[], bool],
        is_done: Callable[[str], bool],
    ) -> Generation:
        started = time.perf_counter()
        head, fragment = split_trailing_word(prompt.header + prompt.prefix)
        raw = text = ""
        finished = False
        timings: dict[str, int] = {}
        first_token_at = 0.0
        count = 0
        deadline = time.monotonic() + EXCHANGE_BUDGETS * limits.time_budget_s
        with _Exchange(self._connect(deadline), deadline, is_cancelled) as exchange:
            for chunk in exchange.stream(self._path, self._body(prompt, head, limits), self.infill, self.url):
                timings = chunk.timings or timings
                if chunk.text and not first_token_at:
                    first_token_at = time.perf_counter()  # the budget counts from here, as locally
                raw += chunk.text
                count += 1 if chunk.text else 0
                if not _agrees(raw, fragment):
                    finished, raw = True, ""
                    break
                text = raw[len(fragment) :]
                if chunk.stopped or is_done(text):
                    finished = True
                    break
                if first_token_at and time.perf_counter() > first_token_at + limits.time_budget_s:
                    break
            cancelled = exchange.cut == "cancelled" or is_cancelled()
            if exchange.cut == "deadline" and not first_token_at:
                raise EngineError(
                    f"the completion server {self.url} sent no token within "
                    f"{EXCHANGE_BUDGETS * limits.time_budget_s:.1f} s (twice goSidecar.ai.timeBudgetMs): "
                    f"use a faster server or raise the budget"
                )
        ended = time.perf_counter()
        first_token_at = first_token_at or ended
        return Generation(
            text=text if raw.startswith(fragment) and not cancelled else "",
            finished=finished,
            cancelled=cancelled,
            prompt_tokens=timings.get("prompt_n", 0) + timings.get("cache_n", 0),
            reused_tokens=timings.get("cache_n", 0),
            generated_tokens=timings.get("predicted_n", count),
            prompt_ms=(first_token_at - started) * 1000,
            generation_ms=(ended - first_token_at) * 1000,
        )

    def close(self) -> None:
        """Nothing held between requests."""

    def _body(self, prompt: PromptText, head: str, limits: Limits) -> dict[str, Any]:
        """The request; `head` is the header and prefix without the half-typed word."""
        common: dict[str, Any] = {"temperature": 0.0, "stream": True}
        if self.infill:
            extra = [{"filename": "open files", "text": prompt.extra}] if prompt.extra else []
            return {
                **common,
                "input_prefix": head,
                "input_suffix": prompt.suffix,
                "input_extra": extra,
                "n_predict": limits.max_tokens,
                "cache_prompt": True,
                "t_max_predict_ms": int(limits.time_budget_s * 1000),
            }
        return {**common, "prompt": prompt.extra + head, "max_tokens": limits.max_tokens}

    def _connect(self, deadline: float) -> http.client.HTTPConnection:
        """A connection whose connect and every single read are bounded by the deadline."""
        parts: SplitResult = self._parts
        timeout = max(deadline - time.monotonic(), 0.001)
        if parts.scheme == "https":
            return http.client.HTTPSConnection(parts.hostname or "", parts.port, timeout=timeout)
        return http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=timeout)


class _Exchange:
    """One HTTP exchange under a watchdog that shuts the socket at the deadline or on cancel.

    A per-read timeout does not bound a server that sends a byte now and then; shutting the
    socket ends whatever read is blocked, wherever http.client is in the response.
    """

    def __init__(self, connection: http.client.HTTPConnection, deadline: float, is_cancelled: Callable[[], bool]):
        self._connection = connection
        self._deadline = deadline
        self._is_cancelled = is_cancelled
        self._done = threading.Event()
        self._watchdog = threading.Thread(target=self._watch, name="gosidecar-remote-watchdog", daemon=True)
        self.cut: str | None = None
        """"deadline" or "cancelled" when the watchdog ended the exchange."""

    def __enter__(self) -> _Exchange:
        self._watchdog.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._done.set()
        self._watchdog.join()
        self._connection.close()

    def _watch(self) -> None:
        while not self._done.wait(_WATCH_INTERVAL_S):
            if self._is_cancelled():
                self.cut = "cancelled"
            elif time.monotonic() > self._deadline:
                self.cut = "deadline"
            else:
                continue
            sock = self._connection.sock
            if sock is not None:
                with contextlib.suppress(OSError):  # already closed by the server: the read ends anyway
                    sock.shutdown(socket.SHUT_RDWR)
            return

    def stream(self, path: str, body: dict[str, Any], infill: bool, url: str) -> Iterator[_Chunk]:
        """The response's events; nothing once the watchdog has cut the exchange."""
        try:
            response = self._send(path, body, url)
            yield from _read_events(response, infill, url)
        except (OSError, http.client.HTTPException) as error:
            if isinstance(error, TimeoutError):  # each read's timeout is what was left until the deadline
                self.cut = self.cut or "deadline"
            if self.cut is None:
                raise EngineError(f"the completion server {url} broke off the answer: {error}") from error

    def _send(self, path: str, body: dict[str, Any], url: str) -> http.client.HTTPResponse:
        headers = {"Content-Type": "application/json", "Accept": "text/event-stream"}
        try:
            self._connection.request("POST", path, body=json.dumps(body).encode("utf-8"), headers=headers)
        except OSError as error:
            if self.cut is not None:
                raise
            raise EngineError(
                f'cannot reach the completion server {url} ({error}): start it, or set goSidecar.ai.backend to "local"'
            ) from error
        response = self._connection.getresponse()
        if response.status >= 400:
            detail = " ".join(response.read(300).decode("utf-8", errors="replace").split())
            raise EngineError(f"{url} answered HTTP {response.status}: {detail}")
        return response


def _agrees(output: str, fragment: str) -> bool:
    """Whether the output so far can still start with the half-typed word."""
    return output.startswith(fragment) or fragment.startswith(output)


def _read_events(response: http.client.HTTPResponse, infill: bool, url: str) -> Iterator[_Chunk]:
    """Server-sent events of a streamed completion, one chunk per token (or so), size-capped."""
    total = 0
    while raw_line := response.readline(MAX_LINE_BYTES + 1):
        total += len(raw_line)
        if len(raw_line) > MAX_LINE_BYTES:
            raise EngineError(f"the completion server {url} sent a line over {MAX_LINE_BYTES >> 10} KiB")
        if total > MAX_STREAM_BYTES:
            raise EngineError(f"the completion server {url} sent over {MAX_STREAM_BYTES >> 20} MiB for one suggestion")
        line = raw_line.decode("utf-8", errors="replace").strip()
        if not line.startswith("data:"):
            continue
        payload = line.removeprefix("data:").strip()
        if payload == "[DONE]":
            return
        try:
            event = json.loads(payload)
        except (ValueError, RecursionError) as error:
            raise EngineError(f"the completion server {url} sent an event that is not JSON: {error}") from error
        yield _chunk(event, infill, url)


def _chunk(event: object, infill: bool, url: str) -> _Chunk:
    """One event, its shape checked: llama.cpp's `/infill` or OpenAI's `/v1/completions`."""
    if not isinstance(event, dict):
        raise _shape_error(url, f"an event that is a {type(event).__name__}, not an object")
    if "error" in event:
        raise EngineError(f"the completion server {url} reported an error: {_excerpt(event['error'])}")
    timings = _timings(event.get("timings", {}), url)
    if infill:
        content, stop = event.get("content", ""), event.get("stop", False)
        if not isinstance(content, str) or not isinstance(stop, bool):
            raise _shape_error(url, f"an /infill event without string `content` and boolean `stop`: {_excerpt(event)}")
        return _Chunk(content, stop, timings)
    choices = event.get("choices")
    choice = choices[0] if isinstance(choices, list) and choices else None
    if not isinstance(choice, dict):
        raise _shape_error(url, f"an event without `choices[0]` as an object: {_excerpt(event)}")
    text, reason = choice.get("text", ""), choice.get("finish_reason")
    if not isinstance(text, str) or not (reason is None or isinstance(reason, str)):
        raise _shape_error(url, f"a choice without string `text` and `finish_reason`: {_excerpt(choice)}")
    return _Chunk(text, reason is not None, timings)


def _timings(value: object, url: str) -> dict[str, int]:
    """The token counts llama.cpp reports; other servers send none."""
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise _shape_error(url, f"`timings` that is not an object: {_excerpt(value)}")
    counts: dict[str, int] = {}
    for key in _TIMING_KEYS:
        count = value.get(key)
        if count is None:
            continue
        if not isinstance(count, int) or isinstance(count, bool) or count < 0:
            raise _shape_error(url, f"`timings.{key}` that is not a count: {_excerpt(count)}")
        counts[key] = count
    return counts


def _shape_error(url: str, what: str) -> EngineError:
    return EngineError(
        f"the completion server {url} sent {what}: it is not a llama.cpp or OpenAI-compatible completion server"
    )


def _excerpt(value: object) -> str:
    """A short one-line rendering of a server's value, for an error message."""
    try:
        return " ".join(json.dumps(value)[:200].split())
    except (ValueError, RecursionError):
        return type(value).__name__
