"""Remote backends: a llama.cpp server's `/infill`, or any OpenAI-compatible `/v1/completions`.

`ai.backend` is the URL. A URL whose path ends in `/infill` gets llama.cpp's FIM request
(the server builds the FIM prompt with the model's own tokens); anything else is treated
as an OpenAI-compatible server (`/v1/completions` is added to a bare host URL) and gets
the same anchored prefix prompt as the local model, so the server's prompt cache is
reused the same way. Servers do not heal tokens, so a half-typed word is left out of
the prompt and the suggestion must start with it. Responses are streamed and read token by token, so cancellation
closes the connection within a token and the server stops generating.
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from http.client import HTTPResponse
from typing import Any
from urllib.parse import urlsplit

from gosidecar.completion.engine import Engine, EngineError, Generation, Limits
from gosidecar.completion.prompt import PromptText, split_trailing_word

# Connecting, and the longest wait for the next streamed token (a cold prompt on a busy server).
_READ_TIMEOUT_S = 30.0


@dataclass(frozen=True)
class _Chunk:
    text: str
    stopped: bool
    timings: dict[str, Any]


class RemoteEngine(Engine):
    def __init__(self, url: str) -> None:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise EngineError(
                f"goSidecar.ai.backend {url!r} is neither `local` nor an http(s) URL "
                f"(e.g. http://127.0.0.1:8080/infill or http://127.0.0.1:8000/v1/completions)"
            )
        path = parts.path.rstrip("/")
        self.infill = path.endswith("/infill")
        if not self.infill and not path.endswith("/completions"):
            path += "/completions" if path.endswith("/v1") else "/v1/completions"
        self.url = f"{parts.scheme}://{parts.netloc}{path}"

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
        finished = cancelled = False
        timings: dict[str, Any] = {}
        first_token_at = 0.0
        count = 0
        with self._open(self._body(prompt, head, limits)) as response:
            for chunk in _read_stream(response, self.infill):
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
                cancelled = is_cancelled()
                out_of_time = first_token_at and time.perf_counter() > first_token_at + limits.time_budget_s
                if cancelled or out_of_time:
                    break
        ended = time.perf_counter()
        first_token_at = first_token_at or ended
        return Generation(
            text=text if raw.startswith(fragment) else "",
            finished=finished,
            cancelled=cancelled,
            prompt_tokens=int(timings.get("prompt_n", 0)) + int(timings.get("cache_n", 0)),
            reused_tokens=int(timings.get("cache_n", 0)),
            generated_tokens=int(timings.get("predicted_n", count)),
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

    def _open(self, body: dict[str, Any]) -> HTTPResponse:
        request = urllib.request.Request(
            self.url,
            data=json.dumps(body).encode("utf-8"),
            headers={"Content-Type": "application/json", "Accept": "text/event-stream"},
        )
        try:
            response: HTTPResponse = urllib.request.urlopen(request, timeout=_READ_TIMEOUT_S)
        except urllib.error.HTTPError as error:
            detail = error.read(300).decode("utf-8", errors="replace")
            raise EngineError(f"{self.url} answered HTTP {error.code}: {detail}") from error
        except (urllib.error.URLError, OSError) as error:
            raise EngineError(
                f"cannot reach the completion server {self.url} ({error}): start it, or set "
                f'goSidecar.ai.backend to "local"'
            ) from error
        return response


def _agrees(output: str, fragment: str) -> bool:
    """Whether the output so far can still start with the half-typed word."""
    return output.startswith(fragment) or fragment.startswith(output)


def _read_stream(response: HTTPResponse, infill: bool) -> Iterator[_Chunk]:
    """Server-sent events of a streamed completion, one chunk per token (or so)."""
    try:
        for raw_line in response:
            line = raw_line.decode("utf-8", errors="replace").strip()
            if not line.startswith("data:"):
                continue
            payload = line.removeprefix("data:").strip()
            if payload == "[DONE]":
                return
            event = json.loads(payload)
            yield _chunk(event, infill)
    except (OSError, json.JSONDecodeError) as error:
        raise EngineError(f"the completion server's stream broke off: {error}") from error


def _chunk(event: dict[str, Any], infill: bool) -> _Chunk:
    timings = event.get("timings") or {}
    if infill:
        return _Chunk(str(event.get("content", "")), bool(event.get("stop")), timings)
    choices = event.get("choices") or [{}]
    choice = choices[0]
    return _Chunk(str(choice.get("text", "")), choice.get("finish_reason") is not None, timings)
