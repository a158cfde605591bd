"""The service on a real filesystem with real inotify: what gopls would receive."""

from __future__ import annotations

import errno
import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import ClassVar

import pytest
from lsprotocol.types import FileChangeType

from gosidecar.file_events import FileEventService
from gosidecar.file_events.inotify_bits import InotifyConstants
from gosidecar.file_events.service import POLL_INTERVAL_S
from gosidecar.file_events.watcher import InotifyWatcher, RawEvent
from gosidecar.settings import FileEventSettings
from tests.file_events.support import (
    DEBOUNCE_MS,
    Recorder,
    append,
    bazel_like_workspace,
    gopls_watchers,
    uri_of,
)
from tests.support import wait_until

StartService = Callable[..., tuple[FileEventService, Recorder]]


@pytest.fixture
def start(tmp_path: Path) -> Iterator[StartService]:
    services: list[FileEventService] = []

    def start_service(
        root: Path = tmp_path, base: Path | None = None, **options: object
    ) -> tuple[FileEventService, Recorder]:
        """A service for the workspace folder `root`, registered as gopls would for the
        module at `base` (by default `root`)."""
        recorder = Recorder()
        service = FileEventService(recorder, FileEventSettings(DEBOUNCE_MS), [str(root)], **options)  # type: ignore[arg-type]
        services.append(service)
        service.on_register("workspace/didChangeWatchedFiles-0", gopls_watchers(base or root))
        assert service.wait_idle()
        return service, recorder

    yield start_service
    for service in services:
        service.close()


def test_a_package_under_four_names_changes_once(tmp_path: Path, start: StartService) -> None:
    real_file = bazel_like_workspace(tmp_path)
    service, gopls = start()
    for alias in ("linked", "abs", "bazel-out/pkg"):
        append(tmp_path / alias / "a.go")
    assert gopls.settle() == [{"uri": uri_of(real_file), "type": FileChangeType.Changed}]
    assert service.health_section()["forwarded"] == 1


def test_fifty_writes_in_200_ms_give_at_most_two_events(tmp_path: Path, start: StartService) -> None:
    target = tmp_path / "hot.go"
    target.write_text("package w\n")
    service, gopls = start()
    for _ in range(50):
        append(target)
        time.sleep(0.004)  # the burst's pace: the fault being injected, not a wait
    events = gopls.settle()
    assert 1 <= len(events) <= 2
    assert {e["uri"] for e in events} == {uri_of(target)}
    health = service.health_section()
    assert health["received"] >= 50
    assert health["received"] == health["forwarded"] + health["suppressed"]


def test_a_generator_writing_500_files_reaches_gopls_once_per_file(tmp_path: Path, start: StartService) -> None:
    _, gopls = start()
    generated = tmp_path / "gen"
    generated.mkdir()
    for i in range(500):
        (generated / f"f{i:03}.go").write_text(f"package gen\n\nconst C{i} = {i}\n")
        append(generated / f"f{i:03}.go", "// regenerated\n")
    events = gopls.settle()
    uris = [e["uri"] for e in events]
    assert sorted(uris) == sorted(uri_of(generated / f"f{i:03}.go") for i in range(500))
    assert {e["type"] for e in events} == {FileChangeType.Created}
    assert len(gopls.batches) <= 10


def test_create_then_delete_inside_the_window_sends_nothing(tmp_path: Path, start: StartService) -> None:
    service, gopls = start()
    scratch = tmp_path / "scratch.go"
    scratch.write_text("package w\n")
    scratch.unlink()
    assert gopls.settle() == []
    assert service.health_section()["suppressed"] >= 2


def test_a_symlink_cycle_does_not_hang(tmp_path: Path, start: StartService) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "up").symlink_to("..", target_is_directory=True)
    (tmp_path / "loop").symlink_to(tmp_path, target_is_directory=True)
    (tmp_path / "a" / "x.go").write_text("package a\n")
    service, gopls = start()
    append(tmp_path / "loop" / "a" / "up" / "a" / "x.go")
    assert gopls.settle() == [{"uri": uri_of(tmp_path / "a" / "x.go"), "type": FileChangeType.Changed}]
    assert service.health_section()["watchedDirectories"] == 2


def test_links_out_of_the_workspace_are_not_followed(tmp_path: Path, start: StartService) -> None:
    workspace, elsewhere = tmp_path / "ws", tmp_path / "elsewhere"
    workspace.mkdir()
    elsewhere.mkdir()
    (elsewhere / "x.go").write_text("package x\n")
    (workspace / "ext").symlink_to(elsewhere, target_is_directory=True)
    service, gopls = start(workspace)
    append(elsewhere / "x.go")
    assert gopls.settle() == []
    assert any("outside the workspace" in p.message for p in service.problems())


def test_a_base_outside_the_workspace_is_not_watched(tmp_path: Path, start: StartService) -> None:
    workspace, elsewhere = tmp_path / "ws", tmp_path / "elsewhere"
    workspace.mkdir()
    for i in range(30):
        (elsewhere / f"d{i}").mkdir(parents=True)
    (elsewhere / "x.go").write_text("package x\n")
    service, gopls = start(workspace)
    service.on_register("outside", gopls_watchers(elsewhere))
    service.set_gopls_settings({"directoryFilters": ["-**/node_modules", "-gen"]})  # re-walks, as in a session
    assert service.wait_idle()
    append(elsewhere / "x.go")
    (workspace / "a.go").write_text("package w\n")
    assert gopls.settle() == [{"uri": uri_of(workspace / "a.go"), "type": FileChangeType.Created}]
    health = service.health_section()
    assert health["watchedDirectories"] == 1
    assert health["skippedBases"] == [str(elsewhere)]
    [problem] = service.problems()
    assert "outside the workspace folders" in problem.message and str(elsewhere) in problem.message
    assert "Add Folder to Workspace" in problem.fix


def test_a_registration_for_the_root_directory_walks_nothing_outside(tmp_path: Path, start: StartService) -> None:
    service, _ = start(tmp_path, base=Path("/"))
    health = service.health_section()
    assert health["watchedDirectories"] == 1
    assert health["skippedBases"] == ["/"]


def test_a_new_base_inside_the_workspace_is_walked(tmp_path: Path, start: StartService) -> None:
    """The user opened the module through a symlink and gopls names its real directory:
    the base is a new root, and its names are the ones gopls's pattern matches."""
    real = tmp_path / "real"
    real.mkdir()
    (real / "a.go").write_text("package w\n")
    (tmp_path / "opened").symlink_to(real, target_is_directory=True)
    _, gopls = start(tmp_path / "opened", base=real)
    append(real / "a.go")
    assert gopls.settle() == [{"uri": uri_of(real / "a.go"), "type": FileChangeType.Changed}]


def test_watched_directories_stop_at_the_cap(tmp_path: Path, start: StartService) -> None:
    for i in range(12):
        (tmp_path / f"d{i:02}").mkdir()
        (tmp_path / f"d{i:02}" / "a.go").write_text("package d\n")
    service, gopls = start(max_watched_dirs=5)
    append(tmp_path / "d00" / "a.go")
    (tmp_path / "d11" / "a.go").unlink()  # over the cap: nobody sees it
    (tmp_path / "d12").mkdir()  # appears in a watched directory, but the cap is reached
    (tmp_path / "d12" / "b.go").write_text("package d\n")
    assert gopls.settle() == [{"uri": uri_of(tmp_path / "d00" / "a.go"), "type": FileChangeType.Changed}]
    health = service.health_section()
    assert (health["watchedDirectories"], health["maxWatchedDirectories"]) == (5, 5)
    assert health["directoriesOverCap"] == 13 + 1 - 5
    [problem] = service.problems()
    assert "the cap" in problem.message and str(tmp_path / "d04") in problem.message
    assert "directoryFilters" in problem.fix


def test_a_directory_over_the_cap_is_watched_once_another_goes_away(tmp_path: Path, start: StartService) -> None:
    for name in ("a", "b"):
        (tmp_path / name).mkdir()
    service, gopls = start(max_watched_dirs=2)
    assert service.health_section()["directoriesOverCap"] == 1
    (tmp_path / "a").rmdir()
    wait_until(lambda: service.health_section()["directoriesOverCap"] == 0, 10, "b to be watched")
    (tmp_path / "b" / "x.go").write_text("package b\n")
    assert gopls.settle() == [{"uri": uri_of(tmp_path / "b" / "x.go"), "type": FileChangeType.Created}]
    assert service.problems() == []


def test_filters_that_bring_the_workspace_under_the_cap_clear_the_problem(tmp_path: Path, start: StartService) -> None:
    for name in ("src", "gen1", "gen2"):
        (tmp_path / name).mkdir()
    service, gopls = start(max_watched_dirs=2)
    service.set_gopls_settings({"directoryFilters": ["-gen1", "-gen2"]})
    assert service.wait_idle()
    assert service.health_section()["directoriesOverCap"] == 0
    assert service.problems() == []
    (tmp_path / "src" / "a.go").write_text("package src\n")
    assert gopls.settle() == [{"uri": uri_of(tmp_path / "src" / "a.go"), "type": FileChangeType.Created}]


def test_a_name_that_is_not_utf8_reaches_gopls_with_its_window(tmp_path: Path, start: StartService) -> None:
    _, gopls = start()
    odd = Path(os.fsdecode(os.fsencode(tmp_path) + b"/caf\xe9.go"))  # Latin-1, not UTF-8
    odd.write_text("package w\n")
    (tmp_path / "plain.go").write_text("package w\n")
    assert sorted(e["uri"] for e in gopls.settle()) == [
        uri_of(tmp_path) + "/caf%E9.go",
        uri_of(tmp_path / "plain.go"),
    ]


def test_the_editors_name_for_a_non_utf8_file_is_the_same_file(tmp_path: Path, start: StartService) -> None:
    odd = Path(os.fsdecode(os.fsencode(tmp_path) + b"/caf\xe9.go"))
    odd.write_text("package w\n")
    service, gopls = start()
    append(odd)
    service.on_client_changes([{"uri": uri_of(tmp_path) + "/caf%E9.go", "type": FileChangeType.Changed}])
    assert gopls.settle() == [{"uri": uri_of(tmp_path) + "/caf%E9.go", "type": FileChangeType.Changed}]


def test_malformed_editor_events_are_dropped_one_by_one(tmp_path: Path, start: StartService) -> None:
    service, gopls = start()
    good = {"uri": uri_of(tmp_path / "a.go"), "type": FileChangeType.Changed}
    service.on_client_changes(
        [
            {"uri": 5, "type": FileChangeType.Changed},
            {"uri": uri_of(tmp_path / "b.go"), "type": True},
            {"uri": uri_of(tmp_path / "c.go"), "type": 4},
            good,
        ]
    )
    assert gopls.settle() == [good]


def test_a_rename_is_a_delete_and_a_create(tmp_path: Path, start: StartService) -> None:
    (tmp_path / "old.go").write_text("package w\n")
    _, gopls = start()
    (tmp_path / "old.go").rename(tmp_path / "new.go")
    assert sorted(gopls.settle(), key=lambda e: e["type"]) == [
        {"uri": uri_of(tmp_path / "new.go"), "type": FileChangeType.Created},
        {"uri": uri_of(tmp_path / "old.go"), "type": FileChangeType.Deleted},
    ]


def test_a_directory_moved_out_reports_its_files_deleted(tmp_path: Path, start: StartService) -> None:
    workspace = tmp_path / "ws"
    (workspace / "pkg" / "sub").mkdir(parents=True)
    (workspace / "pkg" / "sub" / "a.go").write_text("package sub\n")
    _, gopls = start(workspace)
    (workspace / "pkg").rename(tmp_path / "moved-away")
    assert gopls.settle() == [{"uri": uri_of(workspace / "pkg" / "sub" / "a.go"), "type": FileChangeType.Deleted}]


def test_editor_events_share_the_de_duplication(tmp_path: Path, start: StartService) -> None:
    real_file = bazel_like_workspace(tmp_path)
    service, gopls = start()
    append(real_file)
    service.on_client_changes([{"uri": uri_of(tmp_path / "linked" / "a.go"), "type": FileChangeType.Changed}])
    assert gopls.settle() == [{"uri": uri_of(real_file), "type": FileChangeType.Changed}]


def test_nothing_is_sent_without_a_registration(tmp_path: Path, start: StartService) -> None:
    service, gopls = start()
    service.on_unregister("workspace/didChangeWatchedFiles-0")
    (tmp_path / "a.go").write_text("package w\n")
    assert gopls.settle() == []
    service.reset()
    assert service.wait_idle()


def test_directory_filters_from_gopls_settings(tmp_path: Path, start: StartService) -> None:
    (tmp_path / "gen").mkdir()
    (tmp_path / "src").mkdir()
    service, gopls = start()
    service.set_gopls_settings({"directoryFilters": ["-gen"]})
    assert service.wait_idle()
    (tmp_path / "gen" / "a.go").write_text("package gen\n")
    (tmp_path / "src" / "b.go").write_text("package src\n")
    assert gopls.settle() == [{"uri": uri_of(tmp_path / "src" / "b.go"), "type": FileChangeType.Created}]


class _LimitedWatcher(InotifyWatcher):
    """The real watcher with a watch limit of `limit` directories (the kernel's
    `fs.inotify.max_user_watches` is machine-wide, so it cannot be lowered in a test)."""

    limit = 1

    def watch(self, real_dir: str) -> None:
        if len(self._wd_by_dir) >= self.limit:
            raise OSError(errno.ENOSPC, "inotify watch limit reached")
        super().watch(real_dir)


def test_at_the_watch_limit_directories_are_polled(tmp_path: Path, start: StartService) -> None:
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "a.go").write_text("package pkg\n")
    service, gopls = start(watcher_factory=_LimitedWatcher)
    append(tmp_path / "pkg" / "a.go", "// a longer edit, so the size changes\n")
    events = gopls.wait_for(1, timeout=POLL_INTERVAL_S * 3)
    assert events == [{"uri": uri_of(tmp_path / "pkg" / "a.go"), "type": FileChangeType.Changed}]
    [problem] = service.problems()
    assert "watch limit" in problem.message
    assert "fs.inotify.max_user_watches" in problem.fix
    assert service.health_section()["polledDirectories"] == 1


class _LossyWatcher(InotifyWatcher):
    """The real watcher, dropping events while `dropping` is set (what an overflowing
    kernel queue does); `closes_dropped` names the files whose last event (the close
    after a write) it dropped."""

    dropping = False
    closes_dropped: ClassVar[set[str]] = set()

    def resolve(self, wd: int, name: bytes, mask: int) -> RawEvent | None:
        if not type(self).dropping:
            return super().resolve(wd, name, mask)
        if mask & InotifyConstants.IN_CLOSE_WRITE:
            type(self).closes_dropped.add(os.fsdecode(name))
        return None


def test_an_overflow_rescans_and_reports_what_changed(
    tmp_path: Path, start: StartService, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "kept.go").write_text("package w\n")
    (tmp_path / "edited.go").write_text("package w\n")
    service, gopls = start(watcher_factory=_LossyWatcher)
    monkeypatch.setattr(_LossyWatcher, "dropping", True)
    monkeypatch.setattr(_LossyWatcher, "closes_dropped", set())
    append(tmp_path / "edited.go")
    (tmp_path / "created.go").write_text("package w\n")
    wait_until(
        lambda: _LossyWatcher.closes_dropped >= {"edited.go", "created.go"}, 10, "both writes' events to be lost"
    )
    assert service.wait_idle()
    monkeypatch.setattr(_LossyWatcher, "dropping", False)
    service.on_overflow()  # what watchdog's reader calls on IN_Q_OVERFLOW
    assert sorted((e["uri"], e["type"]) for e in gopls.settle()) == [
        (uri_of(tmp_path / "created.go"), FileChangeType.Created),
        (uri_of(tmp_path / "edited.go"), FileChangeType.Changed),
    ]
    [problem] = service.problems()
    assert "overflowed" in problem.message
    assert "fs.inotify.max_user_watches" in problem.fix


def test_changing_the_debounce_setting_applies(tmp_path: Path, start: StartService) -> None:
    service, _ = start()
    service.apply_settings(FileEventSettings(debounceMs=250))
    assert service.wait_idle()
    assert service.health_section()["debounceMs"] == 250


def test_close_is_prompt(tmp_path: Path) -> None:
    service = FileEventService(Recorder(), FileEventSettings(), [os.fspath(tmp_path)])
    began = time.monotonic()
    service.close()
    assert time.monotonic() - began < 3
