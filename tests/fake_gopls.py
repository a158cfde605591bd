#!/usr/bin/env python3
"""A fake gopls for fault injection: crashes, garbage and huge answers on cue.

Only an extra to the real-gopls tests. It logs every body it receives, byte for byte,
to $FAKE_GOPLS_LOG (one JSON string per line) so tests can check that the sidecar
passes messages through unchanged, and it keeps the open documents' text (ASCII edits)
so that `fake/documents` tells what this gopls believes. Standard library only.
"""

import json
import os
import subprocess
import sys
import time
from pathlib import Path

OUT = sys.stdout.buffer
IN = sys.stdin.buffer
LOG = os.environ.get("FAKE_GOPLS_LOG")
DOCUMENTS = {}
AWAITING_CANCEL = set()
"""Ids of `fake/awaitCancel` requests: answered only once the client cancels them."""
CONTEXT_CANCELED = {"code": 0, "message": "context canceled"}
"""gopls's answer when a handler's Go context was cancelled (jsonrpc2's toWireError)."""


def offset(text, position):
    """Offset of an LSP position in text with `\\n` line breaks and ASCII characters."""
    lines = text.split("\n")
    line = min(position["line"], len(lines) - 1)
    return sum(len(lines[i]) + 1 for i in range(line)) + min(position["character"], len(lines[line]))


def track_document(method, params):
    if method == "textDocument/didOpen":
        DOCUMENTS[params["textDocument"]["uri"]] = params["textDocument"]["text"]
    elif method == "textDocument/didClose":
        DOCUMENTS.pop(params["textDocument"]["uri"], None)
    elif method == "textDocument/didChange":
        uri = params["textDocument"]["uri"]
        for change in params["contentChanges"]:
            text = DOCUMENTS[uri]
            if "range" not in change:
                DOCUMENTS[uri] = change["text"]
                continue
            start, end = offset(text, change["range"]["start"]), offset(text, change["range"]["end"])
            DOCUMENTS[uri] = text[:start] + change["text"] + text[end:]


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
    if method == "fake/documents":
        return DOCUMENTS
    if method == "fake/spawnChild":  # a child like gopls's `go list`, left running
        child = subprocess.Popen(["sleep", "600"], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL)
        return child.pid
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


def refuses_initialize(msg):
    """While the file $FAKE_GOPLS_FAIL_INIT exists, `initialize` gets an error, or no
    answer at all when the file says `silent`."""
    marker = os.environ.get("FAKE_GOPLS_FAIL_INIT")
    return msg.get("method") == "initialize" and marker and Path(marker).exists()


def answers_with_error(msg):
    """Requests with params {"answerError": {...}} get that error; `fake/awaitCancel` gets
    gopls's "context canceled" once a `$/cancelRequest` names it. True when handled."""
    params = msg.get("params") if isinstance(msg.get("params"), dict) else {}
    if "id" in msg and "answerError" in params:
        send({"jsonrpc": "2.0", "id": msg["id"], "error": params["answerError"]})
        return True
    if msg.get("method") == "fake/awaitCancel":
        AWAITING_CANCEL.add(msg["id"])
        return True
    if msg.get("method") == "$/cancelRequest" and params.get("id") in AWAITING_CANCEL:
        AWAITING_CANCEL.discard(params["id"])
        send({"jsonrpc": "2.0", "id": params["id"], "error": CONTEXT_CANCELED})
        return True
    return False


def main():
    while (body := read()) is not None:
        msg = json.loads(body)
        method = msg.get("method")
        track_document(method, msg.get("params"))
        if answers_with_error(msg):
            continue
        if refuses_initialize(msg):
            if Path(os.environ["FAKE_GOPLS_FAIL_INIT"]).read_text() != "silent":
                send({"jsonrpc": "2.0", "id": msg["id"], "error": {"code": -32603, "message": "refused"}})
            continue
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
        if method == "fake/badEscape":  # a frame whose method string has an invalid escape
            send(None, raw=b'{"jsonrpc":"2.0","method":"window/\\xlog","params":{}}')
            send(None, raw=b'{"jsonrpc":"2.0","id":"\\q1","method":"client/registerCapability","params":{}}')
        if method == "exit":
            return
        if "id" in msg and method is not None:
            if isinstance(msg.get("params"), dict) and "delayMs" in msg["params"]:  # keeps it in flight a while
                time.sleep(msg["params"]["delayMs"] / 1000)
            send({"jsonrpc": "2.0", "id": msg["id"], "result": answer(msg)})


if __name__ == "__main__":
    main()
