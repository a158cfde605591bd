"""llama.cpp's own C++ server (built by scripts/lib/llama_server.sh), run on localhost with
the default model: the remote-backend tests' real server and the completion bench's baseline."""

from __future__ import annotations

import os
import subprocess
import urllib.request
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from gosidecar.completion.model import default_model_path
from tests.reach.support import machine_cache, pinned
from tests.support import free_port, wait_until

LLAMA_SERVER = Path(
    os.environ.get("LLAMA_SERVER")
    or machine_cache() / f"llama-server-{pinned('LLAMA_CPP_PYTHON_VERSION')}" / "bin" / "llama-server"
)


@contextmanager
def running_llama_server(
    kv_type: str = "q8_0", context_tokens: int = 4096, extra_args: Sequence[str] = ()
) -> Iterator[str]:
    """The server's URL once its /health answers 200 (the model is loaded); stopped on exit."""
    port = free_port()
    command = [
        str(LLAMA_SERVER), "-m", str(default_model_path()), "--host", "127.0.0.1", "--port", str(port),
        "-c", str(context_tokens), "-fa", "on", "-ctk", kv_type, "-ctv", kv_type, "-np", "1", "--no-webui",
        *extra_args,
    ]  # fmt: skip
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until(lambda: _healthy(url) or process.poll() is not None, 120, "llama-server to load the model")
        assert process.poll() is None, f"llama-server exited with {process.returncode}: {' '.join(command)}"
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:  # a loaded machine: do not leave it running
            process.kill()
            process.wait()


def _healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/health", timeout=1) as response:
            return bool(response.status == 200)
    except OSError:  # not listening yet, or 503 while loading
        return False
