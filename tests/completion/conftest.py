"""Fixtures for the completion engine tests: one loaded model shared by a module."""

from __future__ import annotations

import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from gosidecar.completion import CompletionRequest, CompletionResult, CompletionService
from gosidecar.documents import position_at
from gosidecar.settings import AiSettings

GOROOT = Path(subprocess.run(["go", "env", "GOROOT"], capture_output=True, text=True, check=True).stdout.strip())


def complete_at(service: CompletionService, text: str, cursor: int, uri: str = "file:///t.go") -> CompletionResult:
    line, character = position_at(text, cursor)
    return service.complete(CompletionRequest(uri, text, line, character), threading.Event())


@pytest.fixture(scope="module")
def service() -> Iterator[CompletionService]:
    completions = CompletionService(AiSettings(debounceMs=0, timeBudgetMs=5000))
    yield completions
    completions.close()
