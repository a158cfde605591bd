"""Latency after a jump, and the KV cache types' prompt evaluation (part of `./scripts/bench completion`).

- First suggestion after a jump: the cursor lands on a code line of
  `text/template/parse/lex.go` (Go code from GOROOT, used by no test and no other bench),
  rests there `READING_S` while the user reads (the proxy sees a hover there), then the
  user types at that line; later the cursor goes back to places it has been. Two
  services, each with its own model process, get the same requests site by site:
  warming off (the suggestion evaluates whatever its prompt needs) and warming on
  (`CompletionService.prefetch` at the hover position, as `completion/prefetch.py` does).
- Hover through the sidecar (real gopls, the model loaded, warming wired) while idle
  and while inline completions run back to back, hovers alternating between the two.
- Prompt evaluation by KV cache type: every option loaded in one process, evaluating
  the same 128 tokens after the same prefix, round by round, timed in CPU time (both
  threads) so that neighbours on a shared machine count less; each option's KV buffer
  as llama.cpp logs it.
"""

from __future__ import annotations

import ctypes
import statistics
import subprocess
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from bench.support import percentile
from gosidecar.completion import CompletionRequest, CompletionService
from gosidecar.completion.model import default_model_path
from gosidecar.documents import position_at
from gosidecar.settings import AiSettings
from gosidecar.uris import path_to_uri
from tests.lsp_client import LspClient
from tests.support import sidecar_command

GOROOT = Path(subprocess.run(["go", "env", "GOROOT"], capture_output=True, text=True, check=True).stdout.strip())
JUMP_SOURCE = GOROOT / "src" / "text" / "template" / "parse" / "lex.go"
JUMP_SITES = 10
REVISITS = (2, 7, 0, 5)
"""Sites the cursor goes back to after visiting all (typing at another point of the line)."""
READING_S = 2.0
"""How long the cursor rests at a place before the first keystroke (the warming's time)."""
KV_OPTIONS: dict[str, tuple[int, int, bool]] = {
    "f16": (1, 1, True),
    "q8_0": (8, 8, True),
    "K f16, V q8_0": (1, 8, True),
    "K q8_0, V f16": (8, 1, True),
    "K q8_0, V f16, no flash-attn": (8, 1, False),
}
"""(type_k, type_v as ggml type ids, flash_attn). llama.cpp's CPU flash attention tiles only
f16/f32 K and V of one type (and at least 64 tokens per ubatch); any quantized K or V takes
its per-row path. Without flash attention K·Q is a matrix product whatever K's type, but V
must then stay f16 (llama.cpp refuses a quantized V cache without flash attention)."""
KV_PREFIXES = (256, 1280)
"""Context lengths before the 128 measured tokens: near a file's start, and a full window."""
KV_ROUNDS = 5
TARGET_JUMP_P50_MS = 1000
HOVERS = 30


def jump_sites(text: str) -> list[tuple[str, int, int]]:
    """(document with the line cut at the cursor, cursor, where the cursor rests in the unchanged file).

    The first visits cut a line in its middle, the revisits a third of the way in (a new
    keystroke, so the suggestion cache cannot answer)."""
    lines = text.split("\n")
    code = [n for n, line in enumerate(lines) if len(line.strip()) >= 16 and not line.strip().startswith("//")]
    chosen = [code[(i * len(code)) // JUMP_SITES + len(code) // (2 * JUMP_SITES)] for i in range(JUMP_SITES)]
    visits = [(number, 2) for number in chosen] + [(chosen[i], 3) for i in REVISITS]
    sites = []
    for number, divisor in visits:
        line = lines[number]
        indent = len(line) - len(line.lstrip())
        start = sum(len(previous) + 1 for previous in lines[:number])
        cursor = start + indent + (len(line) - indent) // divisor
        sites.append((text[:cursor] + text[start + len(line) :], cursor, cursor))
    return sites


def _request(document: str, cursor: int) -> CompletionRequest:
    line, character = position_at(document, cursor)
    return CompletionRequest(JUMP_SOURCE.as_uri(), document, line, character)


def jump_run() -> dict[str, Any]:
    text = JUMP_SOURCE.read_text()
    settings = AiSettings()  # the editor's defaults: debounce, time budget, q8_0 KV
    services = {"off": CompletionService(settings), "on": CompletionService(settings)}
    results: dict[str, list[Any]] = {"off": [], "on": []}
    try:
        for service in services.values():  # load both models before the clock starts
            service.complete(_request(text, 0), threading.Event())
        for document, cursor, resting in jump_sites(text):
            services["on"].prefetch(_request(text, resting))
            time.sleep(READING_S)  # the user reading: the bench's model of think time, not a wait on a condition
            for name in ("on", "off"):
                results[name].append(services[name].complete(_request(document, cursor), threading.Event()))
    finally:
        for service in services.values():
            service.close()
    return {name: _latencies(found) for name, found in results.items()}


def _latencies(results: list[Any]) -> dict[str, Any]:
    first = [r.latency_ms for r in results[:JUMP_SITES]]
    back = [r.latency_ms for r in results[JUMP_SITES:]]
    return {
        "p50Ms": round(percentile(first + back, 0.5)),
        "p95Ms": round(percentile(first + back, 0.95)),
        "firstVisitP50Ms": round(percentile(first, 0.5)),
        "revisitP50Ms": round(percentile(back, 0.5)),
        "promptTokensMean": round(statistics.fmean(r.prompt_tokens for r in results)),
        "evaluatedTokensMean": round(statistics.fmean(r.prompt_tokens - r.reused_tokens for r in results)),
        "suggestions": sum(bool(r.text) for r in results),
        "requests": len(results),
    }


def hover_run() -> dict[str, Any]:
    """Hover p50/p95 idle and with completions running, in one sidecar."""
    text = JUMP_SOURCE.read_text()
    with tempfile.TemporaryDirectory() as folder:
        workspace = Path(folder)
        (workspace / "go.mod").write_text("module hoverbench\n\ngo 1.22\n")
        path = workspace / "lex.go"
        path.write_text(text)
        uri = path_to_uri(path)
        client = LspClient(sidecar_command(), cwd=folder)
        try:
            client.initialize(path_to_uri(workspace), {"ai": {"debounceMs": 0}})
            client.request("workspace/symbol", {"query": ""}, timeout=120)
            item = {"uri": uri, "languageId": "go", "version": 1, "text": text}
            client.notify("textDocument/didOpen", {"textDocument": item})
            return _hovers(client, uri, text)
        finally:
            client.shutdown()


def _hovers(client: LspClient, uri: str, text: str) -> dict[str, Any]:
    lines = text.split("\n")
    targets = [n for n, line in enumerate(lines) if "l.next()" in line]
    stop = threading.Event()
    completed: list[float] = []

    def hover(index: int) -> float:
        line = targets[index % len(targets)]
        position = {"line": line, "character": lines[line].index("l.next()") + 2}
        started = time.perf_counter()
        client.request("textDocument/hover", {"textDocument": {"uri": uri}, "position": position}, timeout=120)
        return (time.perf_counter() - started) * 1000

    def complete_back_to_back() -> None:
        index = 0
        while not stop.is_set():  # the end of a different line each time: no suggestion-cache hits
            line = (index * 7) % len(lines)
            params = {"textDocument": {"uri": uri}, "position": {"line": line, "character": len(lines[line])},
                      "context": {"triggerKind": 2}}  # fmt: skip
            client.request("textDocument/inlineCompletion", params, timeout=300)
            completed.append(time.perf_counter())
            index += 1

    idle = [hover(i) for i in range(HOVERS)]
    worker = threading.Thread(target=complete_back_to_back)
    worker.start()
    try:
        while not completed:  # the model is loaded and busy
            time.sleep(0.1)
        during = [hover(i) for i in range(HOVERS)]
    finally:
        stop.set()
        worker.join()
    return {
        "idleP50Ms": round(percentile(idle, 0.5), 1),
        "idleP95Ms": round(percentile(idle, 0.95), 1),
        "withCompletionsP50Ms": round(percentile(during, 0.5), 1),
        "withCompletionsP95Ms": round(percentile(during, 0.95), 1),
        "completionsDuring": len(completed),
    }


def kv_eval_run() -> dict[str, Any]:
    """ms per prompt token for each KV option, the options interleaved round by round."""
    import llama_cpp  # noqa: PLC0415

    logged: list[str] = []

    def keep(level: int, text: bytes, user_data: object) -> None:
        logged.append(text.decode("utf-8", errors="replace"))

    callback = llama_cpp.llama_log_callback(keep)
    llama_cpp.llama_log_set(callback, ctypes.c_void_p(0))
    tokens: list[int] = []
    options: dict[str, tuple[Any, dict[int, Any]]] = {}
    buffers: dict[str, float] = {}
    for name, (type_k, type_v, flash_attn) in KV_OPTIONS.items():
        logged.clear()
        llm = llama_cpp.Llama(
            model_path=str(default_model_path()), n_ctx=3072, n_batch=128, n_threads=2, n_threads_batch=2,
            type_k=type_k, type_v=type_v, flash_attn=flash_attn, swa_full=True, verbose=False,
        )  # fmt: skip
        buffers[name] = _kv_buffer_mib(logged)
        tokens = tokens or llm.tokenize(JUMP_SOURCE.read_bytes(), add_bos=True)
        options[name] = (llm, {prefix: _saved_prefix(llm, tokens[:prefix]) for prefix in KV_PREFIXES})
    timings: dict[str, dict[int, list[float]]] = {name: {p: [] for p in KV_PREFIXES} for name in options}
    for _ in range(KV_ROUNDS):
        for prefix in KV_PREFIXES:
            for name, (llm, saved) in options.items():
                _restore(llm, saved[prefix], prefix)
                started = time.process_time()  # CPU time: what the option costs, whatever else runs
                llm.eval(tokens[prefix : prefix + 128])
                timings[name][prefix].append((time.process_time() - started) * 1000 / 128)
    for llm, _ in options.values():
        llm.close()
    return {
        name: {
            "kvBufferMiB": buffers[name],
            **{
                f"msPerTokenAt{p}": {
                    "median": round(statistics.median(timings[name][p]), 2),
                    "min": round(min(timings[name][p]), 2),
                    "max": round(max(timings[name][p]), 2),
                    "ratioToF16": round(statistics.median(timings[name][p]) / statistics.median(timings["f16"][p]), 2),
                }
                for p in KV_PREFIXES
            },
        }
        for name in options
    }


def _kv_buffer_mib(logged: list[str]) -> float:
    """The sum of llama.cpp's "KV buffer size = X MiB" lines (one per cache: full and sliding-window)."""
    total = 0.0
    for line in logged:
        if "KV buffer size" in line:
            total += float(line.split("=")[1].split()[0])
    return round(total, 2)


def _saved_prefix(llm: Any, prefix: list[int]) -> Any:
    import llama_cpp  # noqa: PLC0415

    llm._ctx.kv_cache_seq_rm(-1, 0, -1)
    llm.n_tokens = 0
    for start in range(0, len(prefix), 128):
        llm.eval(prefix[start : start + 128])
    size = llama_cpp.llama_state_seq_get_size(llm.ctx, 0)
    data = (ctypes.c_uint8 * size)()
    llama_cpp.llama_state_seq_get_data(llm.ctx, data, size, 0)
    return data


def _restore(llm: Any, data: Any, prefix: int) -> None:
    import llama_cpp  # noqa: PLC0415

    llm._ctx.kv_cache_seq_rm(-1, 0, -1)
    llama_cpp.llama_state_seq_set_data(llm.ctx, data, len(data), 0)
    llm.n_tokens = prefix


def render(jump: dict[str, Any], kv: dict[str, Any], hover: dict[str, Any]) -> list[str]:
    lines = [
        "",
        f"First suggestion after a jump (`{JUMP_SOURCE.relative_to(GOROOT)}`, {JUMP_SITES} sites then "
        f"{len(REVISITS)} revisits, the cursor resting {READING_S:.0f} s before the first keystroke, "
        "editor defaults, the two services interleaved site by site):",
        "",
        "| warming | p50 | p95 | first visits p50 | revisits p50 | prompt tokens | evaluated per request "
        "| suggestions |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for name in ("off", "on"):
        f = jump[name]
        lines.append(
            f"| {name} | **{f['p50Ms']} ms** | {f['p95Ms']} ms | {f['firstVisitP50Ms']} ms | {f['revisitP50Ms']} ms "
            f"| {f['promptTokensMean']} | {f['evaluatedTokensMean']} | {f['suggestions']}/{f['requests']} |"
        )
    lines += [
        "",
        f"Prompt evaluation by KV cache type (CPU ms per token, both threads, for 128 tokens after a prefix, "
        f"median of {KV_ROUNDS} interleaved rounds, [min–max]):",
        "",
        "| KV cache | KV buffer (n_ctx 3072) | " + " | ".join(f"after {p} tokens | ×f16" for p in KV_PREFIXES) + " |",
        "|---|---|" + "---|---|" * len(KV_PREFIXES),
    ]
    for name, f in kv.items():
        cells = " | ".join(
            f"{f[f'msPerTokenAt{p}']['median']} [{f[f'msPerTokenAt{p}']['min']}–{f[f'msPerTokenAt{p}']['max']}] "
            f"| {f[f'msPerTokenAt{p}']['ratioToF16']:.2f}×"
            for p in KV_PREFIXES
        )
        lines.append(f"| {name} | {f['kvBufferMiB']} MiB | {cells} |")
    lines.append(
        f"- hover through the sidecar, p50/p95: idle {hover['idleP50Ms']}/{hover['idleP95Ms']} ms, with completions "
        f"running {hover['withCompletionsP50Ms']}/{hover['withCompletionsP95Ms']} ms "
        f"({hover['completionsDuring']} completions during {HOVERS} hovers)"
    )
    lines.append(
        f"- first suggestion after a jump, warming on: p50 {jump['on']['p50Ms']} ms (target ≤ {TARGET_JUMP_P50_MS} ms)"
    )
    return lines
