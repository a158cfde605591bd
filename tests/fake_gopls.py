#!/usr/bin/env python3
"""A fake gopls for fault injection: crashes, garbage and huge answers on cue.

Only an extra to the real-gopls tests. It logs every body it receives, byte for byte,
to $FAKE_GOPLS_LOG (one JSON string per line) so tests can check that the sidecar
passes messages through unchanged. Standard library only.
"""

import json
import os
import sys
from pathlib import Path

OUT = sys.stdout.buffer
IN = sys.stdin.buffer
LOG = os.environ.get("FAKE_GOPLS_LOG")


def send(obj, raw=None):
    body = raw if raw is not None else json.dumps(obj).encode()
    OUT.write(b"Content-Length: %d\r\n\r\n" % len(body) + body)
    OUT.flush()


def read():
    length = None
    while True:
        line = IN.readline()
        if not line:
            return None
        if line in (b"\r\n", b"\n"):
            break
        name, _, value = line.decode().partition(":")
        if name.lower() == "content-length":
            length = int(value)
    body = IN.read(length)
    if LOG:
        with Path(LOG).open("a") as log:
            log.write(json.dumps(body.decode("utf-8", "surrogateescape")) + "\n")
    return body


def answer(msg):
    method, params = msg.get("method"), msg.get("params")
    if method == "initialize":
        return {
            "capabilities": {"hoverProvider": True, "textDocumentSync": 2},
            "serverInfo": {"name": "fake-gopls"},
        }
    if method == "fake/big":
        return "x" * params["size"]
    if method == "fake/askClient":
        send(
            {
                "jsonrpc": "2.0",
                "id": 9001,
                "method": "workspace/configuration",
                "params": {"items": [{"section": "gopls"}]},
            }
        )
        return "asked"
    return {"method": method, "params": params}


def leave_state_behind():
    """What a real gopls leaves at the client: a progress bar, diagnostics, a registration."""
    send(
        {
            "jsonrpc": "2.0",
            "method": "$/progress",
            "params": {"token": "load-1", "value": {"kind": "begin", "title": "Loading"}},
        }
    )
    diagnostic = {
        "range": {"start": {"line": 0, "character": 0}, "end": {"line": 0, "character": 1}},
        "message": "stale",
    }
    send(
        {
            "jsonrpc": "2.0",
            "method": "textDocument/publishDiagnostics",
            "params": {"uri": "file:///closed.go", "diagnostics": [diagnostic]},
        }
    )
    registration = {"id": "fmt-1", "method": "textDocument/formatting", "registerOptions": {}}
    send(
        {"jsonrpc": "2.0", "id": 77, "method": "client/registerCapability", "params": {"registrations": [registration]}}
    )


def hangs(msg):
    """Requests with params {"hang": true} go unanswered by the first fake process only."""
    marker = os.environ.get("FAKE_GOPLS_HANG_ONCE")
    if not (marker and isinstance(msg.get("params"), dict) and msg["params"].get("hang")):
        return False
    return Path(marker).exists()


def main():
    while (body := read()) is not None:
        msg = json.loads(body)
        method = msg.get("method")
        if method == "fake/showError":
            send(
                {
                    "jsonrpc": "2.0",
                    "method": "window/showMessage",
                    "params": {"type": 1, "message": "Error loading workspace folders"},
                }
            )
            continue
        if method == "fake/leaveState":
            leave_state_behind()
            continue
        if hangs(msg):
            continue
        if method == "fake/bigThenDie":  # half of a large answer, then a crash
            body = json.dumps({"jsonrpc": "2.0", "result": "y" * msg["params"]["size"], "id": msg["id"]}).encode()
            OUT.write(b"Content-Length: %d\r\n\r\n" % len(body) + body[: len(body) // 2])
            OUT.flush()
            os._exit(3)
        if method == "fake/crash":
            marker = os.environ.get("FAKE_GOPLS_HANG_ONCE")
            if marker and Path(marker).exists():
                Path(marker).unlink()
            os._exit(3)
        if method == "fake/garbage":
            OUT.write(b"panic: this is not a frame\n\x00\xff garbage\r\n")
            send(None, raw=b'{"jsonrpc":"2.0","method":"broken", oops')
            send({"jsonrpc": "2.0", "method": "fake/afterGarbage", "params": {}})
            continue
        if method == "exit":
            return
        if "id" in msg and method is not None:
            send({"jsonrpc": "2.0", "id": msg["id"], "result": answer(msg)})


if __name__ == "__main__":
    main()
