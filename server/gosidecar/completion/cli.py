"""`gosidecar complete FILE:LINE:COL [--json]`: one suggestion, printed to stdout."""

from __future__ import annotations

import dataclasses
import json
import sys
import threading
from pathlib import Path

from gosidecar.completion.service import CompletionRequest, CompletionService
from gosidecar.documents import utf16_length
from gosidecar.settings import AiSettings


class _BadInputError(Exception):
    pass


def run_complete_cli(location: str, as_json: bool, settings: AiSettings) -> int:
    """Print the suggestion at a 1-based FILE:LINE:COL; one-line error and 1 on failure."""
    try:
        path, text, line, column = _read_location(location)
    except _BadInputError as error:
        print(f"gosidecar complete: {error}", file=sys.stderr)
        return 1
    if not settings.enabled:
        print("gosidecar complete: AI completions are disabled (ai.enabled)", file=sys.stderr)
        return 1
    # One explicit request: nothing to debounce, and no idle timer to outlive it.
    service = CompletionService(dataclasses.replace(settings, debounceMs=0, idleUnloadMinutes=0))
    try:
        line_text = text.split("\n")[line - 1]
        request = CompletionRequest(
            uri=path.resolve().as_uri(),
            text=text,
            line=line - 1,
            character=utf16_length(line_text[: column - 1]),
        )
        result = service.complete(request, threading.Event())
        health = service.health_section()
    finally:
        service.close()
    if result.error is not None:
        print(f"gosidecar complete: {result.error}", file=sys.stderr)
        return 1
    if as_json:
        report = {
            "file": str(path),
            "line": line,
            "column": column,
            "text": result.text,
            "latencyMs": round(result.latency_ms, 1),
            "promptTokens": result.prompt_tokens,
            "reusedTokens": result.reused_tokens,
            "generatedTokens": result.generated_tokens,
            "ai": health,
        }
        print(json.dumps(report, indent=2))
    else:
        print(result.text)
    return 0


def _read_location(location: str) -> tuple[Path, str, int, int]:
    parts = location.rsplit(":", 2)
    if len(parts) != 3 or not parts[1].isdigit() or not parts[2].isdigit():
        raise _BadInputError(f"expected FILE:LINE:COL with 1-based numbers, got {location!r}")
    path, line, column = Path(parts[0]), int(parts[1]), int(parts[2])
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise _BadInputError(f"no such file: {path}") from None
    except (OSError, UnicodeDecodeError) as error:
        raise _BadInputError(f"cannot read {path}: {error}") from None
    lines = text.split("\n")
    if not 1 <= line <= len(lines):
        raise _BadInputError(f"{path} has {len(lines)} lines; line {line} is out of range")
    if not 1 <= column <= len(lines[line - 1]) + 1:
        raise _BadInputError(
            f"line {line} of {path} has {len(lines[line - 1])} characters; column {column} is out of range"
        )
    return path, text, line, column
