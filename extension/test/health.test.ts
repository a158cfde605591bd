import assert from "node:assert/strict";
import { test } from "node:test";
import { fixLabel, formatBytes, memoryTrend, ownAction, type ProblemAction, statusView } from "../src/health";
import { renderHealthPage } from "../src/healthHtml";
import { reportMarkdown } from "../src/healthMarkdown";
import { escapeHtml } from "../src/html";
import { emptyHistory, MB, report } from "./reportFixture";

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
  assert.equal(statusView(report({ limit: 0, aiState: "unloaded" })).text, "$(pulse) gopls 300 MB · AI idle");
});

test("a fix button says what its action does", () => {
  assert.equal(fixLabel({ kind: "setting", key: "goSidecar.memory.limitMB", value: null }), "Open setting goSidecar.memory.limitMB");
  assert.equal(fixLabel({ kind: "setting", key: "goSidecar.memory.limitMB", value: 4096 }), "Set goSidecar.memory.limitMB to 4096");
  assert.equal(fixLabel({ kind: "setting", key: "goSidecar.ai.modelPath", value: "" }), 'Set goSidecar.ai.modelPath to ""');
  assert.equal(fixLabel({ kind: "command", command: "goSidecar.restartGopls", title: "Restart gopls" }), "Restart gopls");
  assert.equal(fixLabel(null), "Copy fix");
});

test("a report's action may name only the extension's own settings and commands", () => {
  const own: ProblemAction[] = [
    { kind: "setting", key: "goSidecar.memory.limitMB", value: 4096 },
    { kind: "command", command: "goSidecar.restartGopls", title: "Restart gopls" },
  ];
  for (const action of own) {
    assert.equal(ownAction(action, "goSidecar"), action);
  }
  assert.equal(ownAction({ kind: "setting", key: "go.useLanguageServer", value: false }, "goSidecar"), null);
  assert.equal(ownAction({ kind: "setting", key: "goSidecarX.a", value: 1 }, "goSidecar"), null);
  assert.equal(ownAction({ kind: "command", command: "workbench.action.reloadWindow", title: "Reload" }, "goSidecar"), null);
  assert.equal(ownAction(null, "goSidecar"), null);
});

test("the health page shows each section and escapes what the sidecar sent", () => {
  const bad = report();
  bad.problems = [
    { severity: "warning", message: "<script>alert(1)</script>", fix: "Raise the limit",
      action: { kind: "setting", key: "goSidecar.memory.limitMB", value: null } },
    { severity: "error", message: "gopls: no views", fix: "Restart gopls (Sidecar) after fixing goSidecar.gopls.path",
      action: { kind: "command", command: "goSidecar.restartGopls", title: "Restart <gopls>" } },
    { severity: "info", message: "m", fix: "sysctl", action: null },
  ];
  const html = renderHealthPage({ report: bad, error: undefined, generatedAt: new Date(0), problems: bad.problems }, "N", "csp");
  for (const text of ["running (pid 42)", "v0.23.0", "300 MB of 2.0 GB", "suppressed duplicates", "q8_0, 20 MB for 2048 tokens",
    "/m/gemma.gguf, Q4_K_M"]) {
    assert.ok(html.includes(text), text);
  }
  assert.ok(!html.includes("<script>alert"));
  assert.ok(html.includes(escapeHtml("<script>alert(1)</script>")));
  assert.ok(html.includes(`<button data-fix="0">Open setting goSidecar.memory.limitMB</button>`));
  assert.ok(html.includes(`<button data-fix="1">Restart &lt;gopls&gt;</button>`), "the command's title, not the fix text");
  assert.ok(html.includes(`<button data-fix="2">Copy fix</button>`));
  for (const chart of ["chart-rss", "chart-file-events", "chart-latency", "chart-acceptance"]) {
    assert.ok(html.includes(`<svg id="${chart}"`), chart);
  }
  assert.ok(html.includes(`<button data-command="copyReport">Copy report</button>`));
});

test("without a report the page says why", () => {
  const html = renderHealthPage({ report: undefined, error: "the sidecar is starting", problems: [], generatedAt: new Date(0) }, "N", "csp");
  assert.match(html, /No health report: the sidecar is starting/);
});

test("the tooltip's trend compares the RSS now with ten minutes before", () => {
  const history = emptyHistory(120); // 20 minutes of 10-s buckets
  history.rssBytes.mean[20] = 900 * MB; // 16.7 min ago: out of the window
  history.rssBytes.mean[60] = 900 * MB; // 10 min before the last sample
  history.rssBytes.mean[118] = 1200 * MB;
  assert.equal(memoryTrend(history), "gopls 1.2 GB, +300 MB in 10 min");
  history.rssBytes.mean[118] = 600 * MB;
  assert.equal(memoryTrend(history), "gopls 600 MB, −300 MB in 10 min");
  const withTrend = report();
  withTrend.history = history;
  assert.match(statusView(withTrend).tooltip, /gopls 600 MB, −300 MB in 10 min/);
  assert.equal(memoryTrend(emptyHistory(5)), undefined, "no samples, no trend");
});

test("the copied report has versions, settings, restarts and problems, without paths or server URLs", () => {
  const crashed = report();
  crashed.gopls.restartLog = [{ time: "2026-01-01T10:05:00+00:00", reason: "rss-limit", rssBytes: 2100 * MB }];
  const problem = { severity: "warning" as const, message: "inotify | watch limit\nreached", fix: "sysctl", action: null };
  const markdown = reportMarkdown(crashed, [problem], { extensionVersion: "0.1.0", vscodeVersion: "1.100.0",
    section: "goSidecar", settings: { "memory.limitMB": 2048, "ai.backend": "http://10.0.0.5:8080" } });
  for (const text of ["| Go Sidecar | 0.1.0 |", "| VS Code | 1.100.0 |", "| gopls | v0.23.0, running |",
    "- `goSidecar.memory.limitMB`: 2048", "- `goSidecar.ai.backend`: a remote server (URL left out)",
    "- `goSidecar.memory.spikeMB`: default", "- 2026-01-01T10:05:00+00:00: rss-limit at 2.1 GB",
    "- **warning**: inotify \\| watch limit reached"]) {
    assert.ok(markdown.includes(text), `${text}\n---\n${markdown}`);
  }
  assert.ok(!markdown.includes("10.0.0.5") && !markdown.includes("/root/go/bin/gopls"));
  assert.match(reportMarkdown(undefined, [], { extensionVersion: "0.1.0", vscodeVersion: "1", section: "goSidecar",
    settings: {} }), /none \(the sidecar did not answer\)/);
});
