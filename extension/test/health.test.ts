import assert from "node:assert/strict";
import { test } from "node:test";
import { fixAction, formatBytes, type HealthReport, statusView } from "../src/health";
import { escapeHtml, renderHealthPage } from "../src/healthHtml";

const MB = 1024 * 1024;

function report(overrides: { rss?: number; limit?: number; aiState?: HealthReport["ai"]["state"] } = {}): HealthReport {
  return {
    ok: true,
    gopls: { path: "/root/go/bin/gopls", version: "v0.23.0", pid: 42, running: true, rssBytes: overrides.rss ?? 300 * MB,
      peakRssBytes: 350 * MB, memoryLimitBytes: overrides.limit ?? 2048 * MB, restarts: 0, restartLog: [] },
    fileEvents: { received: 10, forwarded: 4, suppressed: 6, debounceMs: 100 },
    ai: { enabled: true, state: overrides.aiState ?? "ready", modelPath: "/m/gemma.gguf", modelQuantization: "Q4_K_M",
      kvCacheTypeK: "q8_0", kvCacheTypeV: "q8_0", flashAttention: true, contextTokens: 2048, kvCacheBytes: 20 * MB,
      requests: 3, latencyMsP50: 180, latencyMsP95: 400, error: null },
    problems: [],
  };
}

test("sizes read as MB below a GB and as GB above", () => {
  assert.equal(formatBytes(300 * MB), "300 MB");
  assert.equal(formatBytes(2048 * MB), "2.0 GB");
});

test("the status shows gopls memory against its limit and the AI state", () => {
  const view = statusView(report());
  assert.equal(view.text, "$(pulse) gopls 300 MB / 2.0 GB · AI ready");
  assert.equal(view.level, "normal");
  assert.match(view.tooltip, /KV cache q8_0/);
});

test("near the limit the status turns to the warning colour", () => {
  const view = statusView(report({ rss: 1800 * MB }));
  assert.equal(view.level, "warning");
  assert.ok(view.text.startsWith("$(warning)"));
});

test("no limit shows only the memory; a loading model says so", () => {
  assert.equal(statusView(report({ limit: 0, aiState: "loading" })).text, "$(pulse) gopls 300 MB · AI loading");
});

test("fix texts map to the action a button can take", () => {
  assert.equal(fixAction("Set go.useLanguageServer to false.", "goSidecar").kind, "disableGoExtensionGopls");
  assert.deepEqual(fixAction("Raise goSidecar.memory.limitMB or close modules.", "goSidecar"),
    { kind: "openSetting", key: "goSidecar.memory.limitMB", label: "Open setting goSidecar.memory.limitMB" });
  assert.equal(fixAction("Run Go: Restart gopls (Sidecar).", "goSidecar").kind, "restartGopls");
  assert.equal(fixAction("Install Go 1.22 or newer.", "goSidecar").kind, "copy");
});

test("the health page shows each section and escapes what the sidecar sent", () => {
  const bad = report();
  bad.problems = [{ severity: "warning", message: "<script>alert(1)</script>", fix: "Raise goSidecar.memory.limitMB" }];
  const html = renderHealthPage({ report: bad, error: undefined, generatedAt: new Date(0),
    problems: bad.problems.map((problem) => ({ problem, action: fixAction(problem.fix, "goSidecar") })) }, "N", "csp");
  for (const text of ["running (pid 42)", "v0.23.0", "300 MB of 2.0 GB", "suppressed duplicates", "q8_0, 20 MB for 2048 tokens",
    "/m/gemma.gguf, Q4_K_M"]) {
    assert.ok(html.includes(text), text);
  }
  assert.ok(!html.includes("<script>alert"));
  assert.ok(html.includes(escapeHtml("<script>alert(1)</script>")));
  assert.ok(html.includes(`<button data-fix="0">Open setting goSidecar.memory.limitMB</button>`));
});

test("without a report the page says why", () => {
  const html = renderHealthPage({ report: undefined, error: "the sidecar is starting", problems: [], generatedAt: new Date(0) }, "N", "csp");
  assert.match(html, /No health report: the sidecar is starting/);
});
