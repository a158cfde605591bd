"""The portable fallbacks of the sidecar's process code, each forced on Linux.

- no inotify in libc (macOS, Windows): watchdog's inotify module raises at import, and
  the sidecar must still start, its file events polling;
- no `os.writev` (Windows): frames written with plain writes;
- no `fcntl` and no loop signal handlers (Windows): the framing still loads, serve still starts;
- no `os.killpg` (Windows): gopls's process tree killed through psutil;
- the editor's process dies while the sidecar's stdin stays open (a descendant holds
  it): the parent-pid watcher stops the sidecar, and gopls with it.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import signal
import subprocess
import sys
import threading
from collections.abc import Callable
from pathlib import Path

import psutil
import pytest
from watchdog.observers import inotify_c

from gosidecar.file_events.inotify_bits import InotifyConstants
from gosidecar.framing import FrameReader, FrameWriter
from gosidecar.gopls_process import GoplsProcess
from gosidecar.serve import stop_on_signals
from tests.support import EXAMPLE_WORKSPACE, ROOT, sidecar_command, wait_until

pytestmark = pytest.mark.timeout(300)

# Makes `import watchdog.observers.inotify_c` fail as it does on macOS, in every Python
# process that has it on PYTHONPATH (health runs the sidecar in a child process).
_NO_INOTIFY_SITECUSTOMIZE = """
import importlib.abc, sys
from watchdog.utils import UnsupportedLibcError

class NoInotify(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name == "watchdog.observers.inotify_c":
            raise UnsupportedLibcError("Unsupported libc version found: libc.dylib")
        return None

sys.meta_path.insert(0, NoInotify())
"""


def test_the_inotify_bits_are_the_kernels() -> None:
    for bit in InotifyConstants:
        assert bit.value == getattr(inotify_c.InotifyConstants, str(bit.name)), bit


def test_without_inotify_in_libc_the_sidecar_starts_and_polls(tmp_path: Path) -> None:
    workspace = tmp_path / "workspace"
    shutil.copytree(EXAMPLE_WORKSPACE, workspace)

    site = tmp_path / "site"
    site.mkdir()
    (site / "sitecustomize.py").write_text(_NO_INOTIFY_SITECUSTOMIZE)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(site), os.environ.get("PYTHONPATH")]))}

    run = subprocess.run(
        [sys.executable, "-m", "gosidecar", "health", "--workspace", str(workspace), "--json"],
        capture_output=True, text=True, timeout=240, check=False, env=env,
    )  # fmt: skip

    assert run.returncode == 0, run.stderr[-3000:]
    report = json.loads(run.stdout)
    assert report["gopls"]["running"], report["gopls"]
    assert report["fileEvents"]["watchedDirectories"] == 0, report["fileEvents"]
    assert report["fileEvents"]["polledDirectories"] > 0, report["fileEvents"]
    polling = [problem for problem in report["problems"] if "inotify is not available" in problem["message"]]
    assert polling, report["problems"]


def test_frames_are_written_whole_without_writev(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delattr(os, "writev")
    read_end, write_end = os.pipe()
    bodies = [b"{}", os.urandom(3 * 1024 * 1024), b'{"jsonrpc":"2.0"}']
    writer = FrameWriter(write_end, "test")
    sender = threading.Thread(target=lambda: [writer.write(body) for body in bodies])
    sender.start()
    reader = FrameReader(read_end, "test")

    received = [reader.read_frame() for _ in bodies]

    sender.join()
    writer.close()
    os.close(read_end)
    assert received == bodies


def test_without_process_groups_the_whole_tree_is_killed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delattr(os, "killpg")
    process = GoplsProcess("sh", ["-c", "sleep 600 & sleep 600 & wait"], {})
    root = psutil.Process(process.pid)
    wait_until(lambda: len(root.children()) == 2, 30, "the shell's two children")
    tree = [root, *root.children()]

    process.kill()

    wait_until(lambda: not any(p.is_running() and p.status() != psutil.STATUS_ZOMBIE for p in tree), 30, "the tree")
    process.stop()


# The editor's process: starts the sidecar with its own stdin (a pipe the test keeps open)
# and prints the sidecar's pid.
_EDITOR_MAIN = """
import subprocess, sys
sidecar = subprocess.Popen(sys.argv[1:], stdout=subprocess.DEVNULL)
print(sidecar.pid, flush=True)
sidecar.wait()
"""


def _frame(message: dict[str, object]) -> bytes:
    body = json.dumps(message).encode()
    return f"Content-Length: {len(body)}\r\n\r\n".encode() + body


def test_the_sidecar_stops_with_its_editor_while_stdin_stays_open(tmp_path: Path) -> None:
    workspace = tmp_path / "workspace"
    shutil.copytree(EXAMPLE_WORKSPACE, workspace)
    stdin_read, stdin_write = os.pipe()  # the test holds the write end: no EOF
    editor = subprocess.Popen(
        [sys.executable, "-c", _EDITOR_MAIN, *sidecar_command()],
        stdin=stdin_read, stdout=subprocess.PIPE, text=True, cwd=ROOT,
    )  # fmt: skip
    os.close(stdin_read)
    try:
        assert editor.stdout is not None
        sidecar = psutil.Process(int(editor.stdout.readline()))
        initialize = {"processId": None, "rootUri": workspace.as_uri(), "capabilities": {}}
        os.write(stdin_write, _frame({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": initialize}))
        wait_until(lambda: gopls_children(sidecar), 60, "gopls started by the sidecar")
        gopls = gopls_children(sidecar)

        editor.send_signal(signal.SIGKILL)
        editor.wait()

        wait_until(lambda: not sidecar.is_running() or sidecar.status() == psutil.STATUS_ZOMBIE, 60, "sidecar exit")
        wait_until(lambda: not any(p.is_running() for p in gopls), 60, "gopls gone with the sidecar")
    finally:
        os.close(stdin_write)
        editor.kill()


def gopls_children(sidecar: psutil.Process) -> list[psutil.Process]:
    try:
        return [child for child in sidecar.children() if "gopls" in child.name()]
    except psutil.NoSuchProcess:
        return []


_WITHOUT_FCNTL = """
import os, sys
sys.modules["fcntl"] = None  # `import fcntl` raises, as on Windows
from gosidecar.framing import FrameReader, FrameWriter, enlarge_pipe
read_end, write_end = os.pipe()
enlarge_pipe(write_end)
FrameWriter(write_end, "test").write(b"{}")
assert FrameReader(read_end, "test").read_frame() == b"{}"
"""


def test_framing_loads_and_pipes_work_without_fcntl() -> None:
    run = subprocess.run(
        [sys.executable, "-c", _WITHOUT_FCNTL], capture_output=True, text=True, timeout=60, check=False
    )
    assert run.returncode == 0, run.stderr[-2000:]


def test_serve_starts_where_the_loop_has_no_signal_handlers() -> None:
    class LoopWithoutSignals(asyncio.SelectorEventLoop):
        def add_signal_handler(self, sig: int, callback: Callable[..., object], *args: object) -> None:
            raise NotImplementedError  # Windows' event loops

    loop = LoopWithoutSignals()
    try:
        stop_on_signals(loop, lambda: None)
    finally:
        loop.close()
