// End-to-end test of the .vsix in a real VS Code: code-server driven by headless
// Chromium. Each check reports on its own; screenshots go to test-output/e2e/.
// Environment: E2E_NODE, E2E_CODE_SERVER, E2E_PLAYWRIGHT, E2E_VSIX (set by
// scripts/lib/extension.sh run_e2e); optional GOSIDECAR_E2E_PYTHON for goSidecar.python,
// GOSIDECAR_E2E_UPDATE_DOCS=1 to copy the screenshots into docs/ after a passing run.
import { randomUUID } from "node:crypto";
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import { CodeServer, findRunProcesses } from "./codeServer.mjs";
import {
  crlfGhostTextReplacesAutoClosed, inlineSuggestNudger, memberAccessWithSuggestionsOpen, tabAcceptsGhost, tabAcceptsItemAndGhost,
  writeGhostTextFiles,
} from "./ghostText.mjs";
import { plantWorkspace, startListener } from "./plants.mjs";
import {
  acceptedInto, findFrame, ghostText, goTo, lineContaining, normalise, openFile, poll, runCommand, SHORT_MS, statusItemText, waitForWorkbench,
} from "./workbench.mjs";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const OUT = path.join(ROOT, "test-output/e2e");
const WHOLE_RUN_MS = 20 * 60_000;
const SIDECAR_START_MS = 5 * 60_000; // includes the first-start install from the .vsix wheels
const HOVER_MS = 90_000;
const AI_READY_MS = 3 * 60_000;
const GHOST_MS = 120_000;
const GOPLS_RESTART_MS = 3 * 60_000;
// A setting or a restart reaching the status bar (polled every 5 s) on a loaded machine.
const SETTLE_MS = 60_000;

function required(name) {
  const value = process.env[name];
  if (!value) {
    throw new Error(`${name} is not set; run the test through scripts/test (run_e2e)`);
  }
  return value;
}

const USER_SETTINGS = {
  "workbench.startupEditor": "none", "chat.disableAIFeatures": true, "telemetry.telemetryLevel": "off",
  "update.mode": "none", "workbench.tips.enabled": false, "extensions.autoCheckUpdates": false,
  "editor.inlineSuggest.enabled": true, "workbench.colorTheme": "Default Dark Modern",
  "workbench.secondarySideBar.defaultVisibility": "hidden", "workbench.welcomePage.walkthroughs.openOnInstall": false,
  // Only the restricted-mode check starts code-server with workspace trust: open untrusted, no prompt.
  "security.workspace.trust.startupPrompt": "never", "security.workspace.trust.untrustedFiles": "open",
  // A user-level gopls setting that hover shows (no pkg.go.dev link): the restricted-mode
  // check sees that gopls still gets the user's settings when the folder's are held back.
  "gopls": { "ui.documentation.linksInHover": false },
};

const results = [];

async function check(page, name, body) {
  const started = Date.now();
  try {
    const detail = await body();
    results.push({ name, ok: true, detail: detail ?? "", seconds: (Date.now() - started) / 1000 });
  } catch (error) {
    results.push({ name, ok: false, detail: String(error?.message ?? error).split("\n")[0], seconds: (Date.now() - started) / 1000 });
    const slug = name.toLowerCase().replace(/[^a-z0-9]+/g, "-");
    await page?.screenshot({ path: path.join(OUT, `failed-${slug}.png`) }).catch(() => undefined);
  }
}

/** With GOSIDECAR_E2E_UPDATE_DOCS=1 a passing run refreshes the README's screenshots. */
function updateDocs() {
  const docs = path.join(ROOT, "docs");
  mkdirSync(docs, { recursive: true });
  for (const name of ["health-check.png", "health-history.png", "ghost-text.png", "ghost-text-member.png", "hover.png", "status-bar.png"]) {
    copyFileSync(path.join(OUT, name), path.join(docs, name));
  }
  console.log(`updated the screenshots in ${path.relative(ROOT, docs)}/`);
}

function summarise() {
  const lines = results.map((r) => `${r.ok ? "PASS" : "FAIL"}  ${r.name} (${r.seconds.toFixed(1)} s)${r.detail ? ` — ${r.detail}` : ""}`);
  const passed = results.filter((r) => r.ok).length;
  console.log(`\nEnd-to-end test in code-server (screenshots in ${path.relative(ROOT, OUT)}/):`);
  console.log(lines.map((line) => `  ${line}`).join("\n"));
  console.log(`${passed}/${results.length} checks passed: ${passed === results.length ? "E2E PASSED" : "E2E FAILED"}`);
  writeFileSync(path.join(OUT, "summary.json"), JSON.stringify(results, null, 2));
  return passed === results.length && results.length > 0;
}

async function statusBarShowsMemory(page) {
  const text = await poll(page, async () => {
    if (await page.locator(".notification-toast", { hasText: "installing its Python environment" }).count()) {
      await page.screenshot({ path: path.join(OUT, "first-start-install.png") }).catch(() => undefined);
    }
    return statusItemText(page, /gopls \d/);
  }, SIDECAR_START_MS, 2000);
  await page.locator(".statusbar").screenshot({ path: path.join(OUT, "status-bar.png") });
  if (!/gopls \d+(\.\d)? [MG]B/.test(text)) {
    const shown = await statusItemText(page, /Go Sidecar|gopls/);
    throw new Error(`status bar shows "${shown || "no Go Sidecar item"}"`);
  }
  return text.trim();
}

async function hoverShowsDocs(page, screenshot = "hover.png") {
  await openFile(page, "main.go");
  const hover = page.locator(".monaco-hover-content");
  // The `New` of `inventory.New()`: gopls documents it as "New returns an empty inventory."
  const target = page.locator(".monaco-editor .view-line span span", { hasText: /^New$/ }).first();
  const text = await poll(page, async () => {
    // Away first, so that the hover shown next is a new one, not the last attempt's.
    await page.mouse.move(0, 0);
    await hover.first().waitFor({ state: "hidden", timeout: 3000 }).catch(() => undefined);
    await target.hover();
    await hover.first().waitFor({ timeout: 3000 }).catch(() => undefined);
    const shown = (await hover.allInnerTexts()).join(" ");
    return shown.includes("returns an empty inventory") ? shown : "";
  }, HOVER_MS, 1500);
  await page.screenshot({ path: path.join(OUT, screenshot) });
  if (!text) {
    throw new Error(`no gopls documentation in the hover: "${(await hover.allInnerTexts()).join(" ").slice(0, 120)}"`);
  }
  return text.replace(/\s+/g, " ");
}

/**
 * A workspace planted with every way we know to run its own code or send it elsewhere
 * (tests/e2e/planted.py: a `gosidecar/` package and `json.py` for `python -m`, gopls
 * `build.env` with GOFLAGS=-toolexec, goSidecar paths, gopls `-remote=` and `ai.backend`
 * at a listener), opened in Restricted Mode: gopls and the AI still work, no plant runs
 * and nothing connects to the listener. test_planted_workspace.py shows each plant does
 * run when it is let through.
 */
async function untrustedWorkspaceRunsNothing(page, server) {
  const workspace = server.copyWorkspace(path.join(ROOT, "examples/workspace"), "untrusted");
  const listener = await startListener();
  try {
    const plants = plantWorkspace(ROOT, workspace, path.join(server.root, "markers"), listener.port);
    server.writeSettings("User", USER_SETTINGS); // AI back on after the toggle check
    const url = await server.start({ workspaceTrust: true });
    await page.goto(`${url}/?folder=${encodeURIComponent(workspace)}`);
    await waitForWorkbench(page, "main.go", 120_000);
    await openFile(page, "main.go");
    const restricted = await page.locator("text=Restricted Mode").first().isVisible().catch(() => false);
    // Hover: gopls runs (the planted gopls.path did not replace it) and `go list` has loaded
    // the workspace; documentation shown means the planted hoverKind was not applied either.
    // Each failure is collected, so that a report also says which plants ran.
    const problems = [];
    const attempt = (body) => body().catch((error) => {
      problems.push(String(error?.message ?? error));
      return "";
    });
    const docs = await attempt(() => hoverShowsDocs(page, "hover-untrusted.png"));
    // A suggestion makes the sidecar use its AI backend: the local one, not the listener.
    const ghost = await attempt(() => ghostTextAppears(page, "ghost-text-untrusted.png"));
    if (plants.ran().length > 0) {
      problems.push(`planted code ran: ${plants.ran().join(", ")}`);
    }
    if (listener.connections.length > 0) {
      problems.push(`${listener.connections.length} connection(s) to the planted server`);
    }
    // The user's own gopls setting (USER_SETTINGS) still reaches gopls: no pkg.go.dev link.
    if (docs.includes("pkg.go.dev")) {
      problems.push(`the user-level gopls setting did not reach gopls: "${docs}"`);
    }
    if (problems.length > 0) {
      throw new Error(problems.join("; "));
    }
    return `${restricted ? "Restricted Mode; " : ""}no plant ran, no connection; hover "${docs.slice(0, 30)}", ghost text "${ghost.trim().slice(0, 20)}"`;
  } finally {
    listener.close();
  }
}

const HEALTH_PAGE = "h1:has-text('Go Sidecar Health')";

// The page is re-rendered on Refresh, which replaces its frame: look it up each time.
async function readHealthPage(page) {
  return (await findFrame(page, HEALTH_PAGE, SHORT_MS)).locator("body").innerText();
}

/** Reads the open health page, refreshing it, until `done(text)`; else the last text read. */
async function pollHealthPage(page, done, timeoutMs) {
  let last = "";
  const body = await poll(page, async () => {
    last = await readHealthPage(page).catch(() => last);
    if (done(last)) {
      return last;
    }
    const frame = await findFrame(page, HEALTH_PAGE, SHORT_MS).catch(() => undefined);
    await frame?.locator("button[data-command=refresh]").click().catch(() => undefined);
    return "";
  }, timeoutMs, 3000);
  return body || last;
}

const goplsPid = (body) => /running \(pid (\d+)\)/.exec(body)?.[1];

async function healthCheck(page) {
  await page.keyboard.press("Escape");
  await runCommand(page, "Go: Health Check");
  const ready = (body) => goplsPid(body) !== undefined && /state\s+ready/.test(body);
  const body = await pollHealthPage(page, ready, AI_READY_MS);
  await page.screenshot({ path: path.join(OUT, "health-check.png") });
  const problems = [];
  if (!/running \(pid \d+\)/.test(body)) {
    problems.push("gopls not running");
  }
  if (!/state\s+ready/.test(body)) {
    problems.push("AI model not ready");
  }
  const kv = /KV cache\s+((?:K )?(?:q8_0|q4_0|f16)(?: \/ V (?:q8_0|q4_0|f16))?)/.exec(body);
  if (kv === null) {
    problems.push("no KV cache type");
  }
  if (problems.length > 0) {
    throw new Error(`${problems.join(", ")}: ${body.replace(/\s+/g, " ").slice(0, 300)}`);
  }
  return `gopls running, AI ready, KV cache ${kv[1]}`;
}

const PREFIX = 'fmt.Println("total';

async function ghostTextAppears(page, screenshot = "ghost-text.png") {
  await openFile(page, "main.go");
  await goTo(page, "18");
  await page.keyboard.press("End");
  await page.keyboard.press("Enter");
  await page.keyboard.type(PREFIX, { delay: 60 });
  if (!(await lineContaining(page, PREFIX)).trim().startsWith(PREFIX)) {
    throw new Error(`typing did not start a new line: "${await lineContaining(page, PREFIX)}"`);
  }
  const nudge = inlineSuggestNudger(page);
  const ghost = await poll(page, async () => {
    const shown = await ghostText(page);
    if (!shown.trim()) {
      await nudge();
    }
    return shown.trim() ? shown : "";
  }, GHOST_MS, 500);
  if (!ghost) {
    await page.screenshot({ path: path.join(OUT, screenshot) });
    throw new Error("no ghost text appeared");
  }
  await page.screenshot({ path: path.join(OUT, screenshot) });
  return (await ghostText(page)) || ghost;
}

async function tabAccepts(page, ghost) {
  if (!ghost) {
    throw new Error("no ghost text to accept");
  }
  const { line, accepted } = await tabAcceptsGhost(page, PREFIX, `${PREFIX}")`.length, ghost);
  await page.screenshot({ path: path.join(OUT, "ghost-text-accepted.png") });
  if (!acceptedInto(line, PREFIX, accepted)) {
    throw new Error(`line after Tab is "${line || await lineContaining(page, PREFIX)}", ghost text was "${accepted}"`);
  }
  return `line is now: ${line}`;
}

const RESTARTING = "Restarting gopls";

/**
 * Waits for what it checks before the next check runs: a gopls pid in the report first,
 * then, after the command, the report (refreshed) showing another pid and a `manual` last
 * restart, and the command's "Restarting gopls…" progress gone (the sidecar answered). A
 * restart replays the whole editor state, which takes a while on a loaded machine.
 */
async function restartGopls(page) {
  await openFile(page, "main.go");
  await runCommand(page, "Go: Health Check");
  const before = goplsPid(await pollHealthPage(page, goplsPid, AI_READY_MS));
  if (before === undefined) {
    throw new Error("the Health Check shows no running gopls before the restart");
  }
  await openFile(page, "main.go");
  await runCommand(page, "Go: Restart gopls (Sidecar)");
  await openFile(page, "main.go");
  await runCommand(page, "Go: Health Check");
  const restarted = (body) => {
    const after = goplsPid(body);
    return after !== undefined && after !== before && /restarts\s+\d+, last [^(]*\(manual/.test(body);
  };
  const body = await pollHealthPage(page, restarted, GOPLS_RESTART_MS);
  await page.screenshot({ path: path.join(OUT, "restart-gopls.png") });
  const failed = await toastText(page, "could not restart gopls");
  if (failed) {
    throw new Error(failed);
  }
  if (!restarted(body)) {
    throw new Error(`no manual restart in the report within ${GOPLS_RESTART_MS / 1000} s (gopls pid ${before} → ${goplsPid(body) ?? "?"})`);
  }
  const progress = page.locator(".notification-toast", { hasText: RESTARTING });
  await progress.first().waitFor({ state: "detached", timeout: GOPLS_RESTART_MS });
  return `gopls pid ${before} → ${goplsPid(body)}, restart logged as manual`;
}

/** The text of the first notification toast containing `text`, or "". */
async function toastText(page, text) {
  const toast = page.locator(".notification-toast", { hasText: text }).first();
  return (await toast.count()) ? normalise(await toast.innerText()) : "";
}

const BURST_FILES = 40;

/**
 * What `go generate` does to gopls: BURST_FILES new files in the `report` package, each
 * created and written twice at once, so that every file sends several inotify events.
 */
function fileEventBurst(workspace) {
  const files = Array.from({ length: BURST_FILES }, (_, i) => path.join(workspace, "report", `generated_${i}.go`));
  for (const pass of [1, 2]) {
    files.forEach((file, i) => writeFileSync(file, `// Code generated by the e2e burst. DO NOT EDIT.\n\npackage report\n\nconst generated${i} = ${pass}\n`));
  }
}

/** The report's "File events" table: received and forwarded to gopls so far. */
function fileEventCounts(body) {
  const counts = /received\s+(\d+)\s+forwarded to gopls\s+(\d+)/.exec(body);
  return counts && { received: Number(counts[1]), forwarded: Number(counts[2]) };
}

/**
 * The data drawn in the Health Check's charts, read back from the SVG: the RSS chart's
 * restart markers, and each file-event interval's bars turned back into counts with the
 * chart's own axis (its top label, the baseline and the top grid line).
 */
async function drawnHistory(page) {
  const frame = await findFrame(page, "svg#chart-file-events", SHORT_MS);
  const drawn = await frame.locator("body").evaluate((body) => {
    const chart = body.querySelector("svg#chart-file-events");
    const y = (selector) => Number(chart.querySelector(selector).getAttribute("y1"));
    const bars = (series) => [...chart.querySelectorAll(`rect[data-series=${series}]`)]
      .map((rect) => ({ x: rect.getAttribute("x"), height: Number(rect.getAttribute("height")) }));
    return {
      restarts: [...body.querySelectorAll("svg#chart-rss g.restart")].map((marker) => marker.getAttribute("data-reason")),
      top: Number(chart.querySelector("text.label").textContent),
      plotHeight: y("line.axis") - y("line.grid"),
      received: bars("received"),
      forwarded: bars("forwarded"),
    };
  });
  const counts = (bars) => new Map(bars.map(({ x, height }) => [x, Math.round((height / drawn.plotHeight) * drawn.top)]));
  return { frame, restarts: drawn.restarts, received: counts(drawn.received), forwarded: counts(drawn.forwarded) };
}

/**
 * After restartGopls: a file-event burst, then the Health Check's charts must show the
 * manual restart's marker and, in the burst's interval, more events received than
 * forwarded to gopls (the collapse).
 */
async function burstAndRestartInCharts(page, workspace) {
  await openFile(page, "main.go");
  await runCommand(page, "Go: Health Check");
  const before = fileEventCounts(await pollHealthPage(page, fileEventCounts, SHORT_MS));
  if (!before) {
    throw new Error("the Health Check shows no file-event counts");
  }
  fileEventBurst(workspace);
  // Forwarded is counted when the debounce window closes, which is also when the
  // interval's bars get both figures.
  const flushed = (body) => {
    const now = fileEventCounts(body);
    return now !== null && now.received >= before.received + 2 * BURST_FILES && now.forwarded >= before.forwarded + BURST_FILES;
  };
  const body = await pollHealthPage(page, flushed, 60_000);
  if (!flushed(body)) {
    const now = fileEventCounts(body);
    throw new Error(`the burst of ${BURST_FILES} files did not reach the report: received ${before.received} → ${now?.received}, forwarded ${before.forwarded} → ${now?.forwarded}`);
  }
  const drawn = await poll(page, () => drawnHistory(page).catch(() => undefined), SHORT_MS, 500);
  if (!drawn) {
    throw new Error("no file-event chart in the Health Check");
  }
  await drawn.frame.locator("section").first().screenshot({ path: path.join(OUT, "health-history.png") });
  const [x, received] = [...drawn.received].reduce((busiest, bar) => (bar[1] > busiest[1] ? bar : busiest), ["", 0]);
  const forwarded = drawn.forwarded.get(x) ?? 0;
  const problems = [];
  if (!drawn.restarts.includes("manual")) {
    problems.push(`restart markers drawn: [${drawn.restarts.join(", ")}], none manual`);
  }
  if (received < BURST_FILES || forwarded >= received) {
    problems.push(`busiest file-event interval drawn as ${received} received, ${forwarded} forwarded`);
  }
  if (problems.length > 0) {
    throw new Error(problems.join("; "));
  }
  return `restart markers [${drawn.restarts.join(", ")}]; burst interval drawn as ${received} received, ${forwarded} forwarded`;
}

async function toggleAiOff(page, runId) {
  const sidecarPids = () => findRunProcesses(runId, ["gosidecar", "serve"]).join(",");
  const before = sidecarPids();
  await openFile(page, "main.go");
  await runCommand(page, "Go: Toggle AI Completions");
  // The setting reaches the sidecar as workspace/didChangeConfiguration; the status bar
  // shows what the sidecar's next health report says.
  const text = await poll(page, () => statusItemText(page, /AI off/), SETTLE_MS, 1000);
  await page.locator(".statusbar").screenshot({ path: path.join(OUT, "status-bar-ai-off.png") });
  if (!text) {
    throw new Error(`status bar still shows "${await statusItemText(page, /gopls|Go Sidecar/)}"`);
  }
  if (sidecarPids() !== before) {
    throw new Error(`the sidecar was restarted (pid ${before} → ${sidecarPids()})`);
  }
  return `${text.trim()}, same sidecar pid ${before}`;
}

/** `expectAi`: what the status must show after the restart, e.g. "AI off" when toggled. */
async function crashIsRestarted(page, runId, expectAi) {
  const [pid] = findRunProcesses(runId, ["gosidecar", "serve"]);
  if (pid === undefined) {
    throw new Error("no running `gosidecar serve` process to kill");
  }
  process.kill(pid, "SIGKILL");
  const toast = page.locator(".notification-toast", { hasText: "stopped unexpectedly and was restarted" });
  await toast.first().waitFor({ timeout: SETTLE_MS });
  await page.screenshot({ path: path.join(OUT, "crash-restarted.png") });
  const text = await poll(page, async () => {
    const [next] = findRunProcesses(runId, ["gosidecar", "serve"]);
    return next !== undefined && next !== pid ? statusItemText(page, /gopls \d/) : "";
  }, SIDECAR_START_MS, 2000);
  if (!text) {
    throw new Error("the sidecar did not come back after the crash");
  }
  // The restarted sidecar gets the settings of now, not those of the first start.
  const settled = expectAi === undefined ? text : await poll(page, () => statusItemText(page, expectAi), SETTLE_MS, 1000);
  if (!settled) {
    throw new Error(`after the restart the status bar shows "${text.trim()}", not ${expectAi}`);
  }
  return `killed pid ${pid}; restarted, status bar: ${settled.trim()}`;
}

/** Brackets and quotes pair up: no `")` left over from the editor's auto-closing. */
function balanced(line) {
  const quotes = (line.match(/"/g) ?? []).length;
  const count = (c) => line.split(c).length - 1;
  return quotes % 2 === 0 && count("(") === count(")") && count("{") === count("}");
}

async function acceptedLineIsWellFormed(page) {
  const line = (await lineContaining(page, PREFIX)).trim();
  if (!balanced(line)) {
    throw new Error(`"${line}": the suggestion repeats the auto-closed suffix; the inline completion's range must cover it`);
  }
  return line;
}

async function main() {
  rmSync(OUT, { recursive: true, force: true });
  mkdirSync(OUT, { recursive: true });
  const { chromium } = createRequire(import.meta.url)(required("E2E_PLAYWRIGHT"));
  const server = new CodeServer({
    root: mkdtempSync(path.join(tmpdir(), "gosidecar-e2e-")),
    node: required("E2E_NODE"), entry: required("E2E_CODE_SERVER"), outDir: OUT, runId: randomUUID(),
  });
  const python = process.env.GOSIDECAR_E2E_PYTHON;
  server.writeSettings("User", USER_SETTINGS);
  // In a remote window VS Code ignores machine-scoped settings from the User file.
  server.writeSettings("Machine", python ? { "goSidecar.python": python } : {});
  let browser;
  let page;
  const abort = (why) => {
    console.error(`e2e: ${why}, stopping code-server`);
    void server.stop().finally(() => {
      rmSync(server.root, { recursive: true, force: true });
      process.exit(2);
    });
  };
  const watchdog = setTimeout(() => abort(`over ${WHOLE_RUN_MS / 60_000} minutes`), WHOLE_RUN_MS);
  for (const signal of ["SIGINT", "SIGTERM"]) {
    process.once(signal, () => abort(signal));
  }
  try {
    let installed = false;
    await check(page, "install the .vsix into code-server", () => {
      const names = server.installExtension(required("E2E_VSIX"));
      installed = names.some((name) => name.startsWith("gosidecar.go-sidecar"));
      if (!installed) {throw new Error(`extensions dir holds ${names.join(", ")}`);}
      return `${names.join(", ")}${python ? `, goSidecar.python=${python}` : ", default settings"}`;
    });
    if (!installed) {return;}
    const workspace = server.copyWorkspace(path.join(ROOT, "examples/workspace"));
    writeGhostTextFiles(workspace);
    const url = await server.start();
    browser = await chromium.launch({
      executablePath: "/usr/bin/chromium",
      args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
        "--disable-component-update", "--disable-sync"],
    });
    page = await browser.newPage({ viewport: { width: 1400, height: 860 } });
    page.setDefaultTimeout(SHORT_MS);
    await check(page, "workbench opens the example workspace", async () => {
      await page.goto(`${url}/?folder=${encodeURIComponent(workspace)}`);
      await waitForWorkbench(page, "main.go", 120_000);
      await openFile(page, "main.go");
    });
    await check(page, "status bar shows gopls memory", () => statusBarShowsMemory(page));
    await check(page, "hover shows gopls documentation", async () => (await hoverShowsDocs(page)).slice(0, 80));
    let ghost = "";
    await check(page, "typing shows ghost text from the local model", async () => (ghost = await ghostTextAppears(page)));
    await check(page, "Tab accepts the ghost text", () => tabAccepts(page, ghost));
    await check(page, "the accepted line is well-formed (auto-closed brackets not repeated)", () => acceptedLineIsWellFormed(page));
    let member;
    await check(page, "after a bare member access, with a lower item of gopls's list selected, ghost text starts with that item", async () => {
      member = await memberAccessWithSuggestionsOpen(page, OUT);
      return `list ${member.passed.join(" → ")}, ghost text "${member.ghost}"`;
    });
    await check(page, "Tab accepts the selected suggestion, then the ghost text", () => tabAcceptsItemAndGhost(page, member, OUT));
    await check(page, "in a CRLF file, accepted ghost text does not repeat the auto-closed \")",
      () => crlfGhostTextReplacesAutoClosed(page, OUT));
    // After a completion, so that the report shows the loaded model's KV cache and latency.
    await check(page, "Go: Health Check shows gopls running and the AI model ready with its KV cache type", () => healthCheck(page));
    await check(page, "Go: Restart gopls (Sidecar) restarts gopls", () => restartGopls(page));
    await check(page, "after the restart and a file-event burst, the Health Check's charts show the manual restart and the collapsed events",
      () => burstAndRestartInCharts(page, workspace));
    await check(page, "Go: Toggle AI Completions turns AI off without a restart", () => toggleAiOff(page, server.runId));
    const aiOff = results.at(-1)?.ok ? /AI off/ : undefined;
    await check(page, "a sidecar crash is restarted with a message and the current settings",
      () => crashIsRestarted(page, server.runId, aiOff));
    await check(page, "an untrusted workspace (Restricted Mode) runs none of its planted code and sends nothing out", async () => {
      await page.close();
      await server.stop();
      page = await browser.newPage({ viewport: { width: 1400, height: 860 } });
      page.setDefaultTimeout(SHORT_MS);
      return untrustedWorkspaceRunsNothing(page, server);
    });
  } finally {
    clearTimeout(watchdog);
    await browser?.close().catch(() => undefined);
    const stragglers = await server.stop();
    writeFileSync(path.join(OUT, "sidecar.log"), server.sidecarLog());
    if (stragglers.length > 0) {
      console.log(`killed processes left after code-server's group: ${stragglers.join(", ")}`);
    }
    rmSync(server.root, { recursive: true, force: true });
  }
}

main()
  .catch((error) => {
    results.push({ name: "e2e harness", ok: false, detail: String(error?.stack ?? error), seconds: 0 });
  })
  .finally(() => {
    const passed = summarise();
    if (passed && process.env.GOSIDECAR_E2E_UPDATE_DOCS) {
      updateDocs();
    }
    process.exit(passed ? 0 : 1);
  });
