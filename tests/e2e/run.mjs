// End-to-end test of the .vsix in a real VS Code: code-server driven by headless
// Chromium. Each check reports on its own; screenshots go to test-output/e2e/.
// Environment: E2E_NODE, E2E_CODE_SERVER, E2E_PLAYWRIGHT, E2E_VSIX (set by
// scripts/lib/extension.sh run_e2e); optional GOSIDECAR_E2E_PYTHON for goSidecar.python.
import { randomUUID } from "node:crypto";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import { CodeServer } from "./codeServer.mjs";
import {
  findFrame, ghostText, goTo, lineContaining, openFile, poll, runCommand, SHORT_MS, statusItemText, waitForWorkbench,
} from "./workbench.mjs";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const OUT = path.join(ROOT, "test-output/e2e");
const WHOLE_RUN_MS = 20 * 60_000;
const SIDECAR_START_MS = 5 * 60_000; // includes the first-start install from the .vsix wheels
const HOVER_MS = 90_000;
const AI_READY_MS = 3 * 60_000;
const GHOST_MS = 120_000;

function required(name) {
  const value = process.env[name];
  if (!value) {
    throw new Error(`${name} is not set; run the test through scripts/test (run_e2e)`);
  }
  return value;
}

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

async function hoverShowsDocs(page) {
  await openFile(page, "main.go");
  const hover = page.locator(".monaco-hover-content");
  // The `New` of `inventory.New()`: gopls documents it as "New returns an empty inventory."
  const target = page.locator(".monaco-editor .view-line span span", { hasText: /^New$/ }).first();
  const text = await poll(page, async () => {
    await page.mouse.move(0, 0);
    await page.waitForTimeout(300);
    await target.hover();
    await hover.first().waitFor({ timeout: 3000 }).catch(() => undefined);
    const shown = (await hover.allInnerTexts()).join(" ");
    return shown.includes("returns an empty inventory") ? shown : "";
  }, HOVER_MS, 1500);
  await page.screenshot({ path: path.join(OUT, "hover.png") });
  if (!text) {
    throw new Error(`no gopls documentation in the hover: "${(await hover.allInnerTexts()).join(" ").slice(0, 120)}"`);
  }
  return text.replace(/\s+/g, " ").slice(0, 80);
}

async function healthCheck(page) {
  await page.keyboard.press("Escape");
  await runCommand(page, "Go: Health Check");
  const frame = await findFrame(page, "h1:has-text('Go Sidecar Health')", SHORT_MS * 2);
  const text = await poll(page, async () => {
    const body = await frame.locator("body").innerText();
    if (/running \(pid \d+\)/.test(body) && /state\s+ready/.test(body)) {
      return body;
    }
    await frame.locator("button[data-command=refresh]").click().catch(() => undefined);
    return "";
  }, AI_READY_MS, 3000);
  await page.screenshot({ path: path.join(OUT, "health-check.png") });
  const body = text || (await frame.locator("body").innerText());
  const problems = [];
  if (!/running \(pid \d+\)/.test(body)) {problems.push("gopls not running");}
  if (!/state\s+ready/.test(body)) {problems.push("AI model not ready");}
  const kv = /KV cache\s+(\S+?),/.exec(body);
  if (kv === null) {problems.push("no KV cache type");}
  if (problems.length > 0) {
    throw new Error(`${problems.join(", ")}: ${body.replace(/\s+/g, " ").slice(0, 300)}`);
  }
  return `gopls running, AI ready, KV cache ${kv[1]}`;
}

const PREFIX = 'fmt.Println("total';

async function ghostTextAppears(page) {
  await openFile(page, "main.go");
  await goTo(page, "18");
  await page.keyboard.press("End");
  await page.keyboard.press("Enter");
  await page.keyboard.type(PREFIX, { delay: 60 });
  const ghost = await poll(page, async () => {
    const shown = await ghostText(page);
    if (!shown.trim()) {
      await page.keyboard.press("Alt+Backslash"); // editor.action.inlineSuggest.trigger
    }
    return shown.trim() ? shown : "";
  }, GHOST_MS, 3000);
  await page.screenshot({ path: path.join(OUT, "ghost-text.png") });
  if (!ghost) {
    throw new Error("no ghost text appeared");
  }
  return ghost;
}

async function tabAccepts(page, ghost) {
  if (!ghost) {
    throw new Error("no ghost text to accept");
  }
  await page.keyboard.press("Tab");
  await page.waitForTimeout(800);
  const line = await lineContaining(page, PREFIX);
  await page.screenshot({ path: path.join(OUT, "ghost-text-accepted.png") });
  const firstLine = ghost.split("\n")[0].trim().slice(0, 8);
  if (!line.includes(PREFIX) || !line.replace(/\s+/g, "").includes(firstLine.replace(/\s+/g, ""))) {
    throw new Error(`line after Tab is "${line}", ghost text was "${ghost}"`);
  }
  return `line is now: ${line.trim()}`;
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
  server.writeUserSettings({
    "workbench.startupEditor": "none", "chat.disableAIFeatures": true, "telemetry.telemetryLevel": "off",
    "update.mode": "none", "workbench.tips.enabled": false, "extensions.autoCheckUpdates": false,
    "editor.inlineSuggest.enabled": true, "workbench.colorTheme": "Default Dark Modern",
    "workbench.secondarySideBar.defaultVisibility": "hidden", "workbench.welcomePage.walkthroughs.openOnInstall": false,
    ...(python ? { "goSidecar.python": python } : {}),
  });
  let browser;
  let page;
  const watchdog = setTimeout(() => {
    console.error(`e2e: over ${WHOLE_RUN_MS / 60_000} minutes, giving up`);
    void server.stop().finally(() => process.exit(2));
  }, WHOLE_RUN_MS);
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
    await check(page, "hover shows gopls documentation", () => hoverShowsDocs(page));
    await check(page, "Go: Health Check shows gopls running and the AI model ready with its KV cache type", () => healthCheck(page));
    let ghost = "";
    await check(page, "typing shows ghost text from the local model", async () => (ghost = await ghostTextAppears(page)));
    await check(page, "Tab accepts the ghost text", () => tabAccepts(page, ghost));
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
    process.exit(summarise() ? 0 : 1);
  });
