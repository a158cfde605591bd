"""The model's lifecycle with a stand-in backend: loads that overlap a settings change."""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Iterator

import pytest

from gosidecar.completion import model_lifecycle
from gosidecar.completion.model_lifecycle import LoadedModel, ModelLifecycle, ProgressReporter
from gosidecar.settings import AiSettings
from tests.support import wait_until


class _NothingRunning:
    def any_running(self) -> bool:
        return False

    def cancel_all(self) -> None:
        pass


class _Engine:
    def __init__(self, number: int, closed: list[int]) -> None:
        self.number = number
        self._closed = closed

    def close(self) -> None:
        self._closed.append(self.number)


class _GatedBackend:
    """Each load opens a numbered engine and waits for the test to let it finish."""

    def __init__(self) -> None:
        self.opened: list[int] = []
        self.closed: list[int] = []
        self._gates = [threading.Event() for _ in range(4)]

    def open(self, settings: AiSettings, progress: ProgressReporter | None) -> LoadedModel:
        number = len(self.opened)
        self.opened.append(number)
        assert self._gates[number].wait(30), "the test never finished this load"
        return LoadedModel(_Engine(number, self.closed), settings.modelPath, None)  # type: ignore[arg-type]

    def finish(self, number: int) -> None:
        self._gates[number].set()


@pytest.fixture
def backend(monkeypatch: pytest.MonkeyPatch) -> Iterator[_GatedBackend]:
    gated = _GatedBackend()

    def open_backend(self: ModelLifecycle, settings: AiSettings, progress: ProgressReporter | None) -> LoadedModel:
        return gated.open(settings, progress)

    monkeypatch.setattr(model_lifecycle.ModelLifecycle, "_open_backend", open_backend)
    yield gated
    for number in range(4):
        gated.finish(number)


def test_a_load_made_stale_by_new_settings_leaves_the_newer_load_alone(backend: _GatedBackend) -> None:
    lifecycle = ModelLifecycle(AiSettings(), None, _NothingRunning())
    try:
        lifecycle.warm_up()
        wait_until(lambda: backend.opened == [0], 10, "the first load to start")
        lifecycle.apply_settings(dataclasses.replace(AiSettings(), modelPath="/other.gguf"))  # load 0 is stale
        first = threading.Thread(target=lifecycle.ready_model, args=(lambda: False,))
        first.start()
        wait_until(lambda: lifecycle._loading is not None, 10, "the request to queue load 1 behind load 0")
        backend.finish(0)
        wait_until(lambda: backend.opened == [0, 1], 10, "load 1 to start")
        # A request while load 1 runs waits for it; it must not start a load of its own.
        second = threading.Thread(target=lifecycle.ready_model, args=(lambda: False,))
        second.start()
        backend.finish(1)
        first.join(30)
        second.join(30)
        loaded = lifecycle.ready_model(lambda: False)
        assert loaded is not None and loaded.engine.number == 1  # type: ignore[attr-defined]
        assert backend.opened == [0, 1] and backend.closed == [0]
    finally:
        lifecycle.close()
