// The Health Check page: plain HTML from the report, every value escaped. Fix buttons
// post only an index back; the extension applies that problem's action (healthActions.ts).
import { fixLabel, formatBytes, type HealthReport, kvCacheText, type Problem } from "./health";
import { historySection } from "./healthCharts";
import { escapeHtml } from "./html";

export interface HealthPage {
  report: HealthReport | undefined;
  /** Why there is no report, when there is none. */
  error: string | undefined;
  /** The report's problems (actions outside the extension's own settings and commands
   *  dropped) plus those the client found. */
  problems: Problem[];
  generatedAt: Date;
}

function table(title: string, rows: [string, string][]): string {
  const body = rows.map(([k, v]) => `<tr><th>${escapeHtml(k)}</th><td>${escapeHtml(v)}</td></tr>`).join("");
  return `<section><h2>${escapeHtml(title)}</h2><table>${body}</table></section>`;
}

function goplsSection(report: HealthReport): string {
  const g = report.gopls;
  const limit = g.memoryLimitBytes > 0 ? formatBytes(g.memoryLimitBytes) : "no limit";
  const lastRestart = g.restartLog.at(-1);
  return table("gopls", [
    ["state", g.running ? `running (pid ${g.pid})` : "stopped"],
    ["version", g.version],
    ["path", g.path],
    ["memory", `${formatBytes(g.rssBytes)} of ${limit}, peak ${formatBytes(g.peakRssBytes)}`],
    ["restarts", lastRestart === undefined ? `${g.restarts}`
      : `${g.restarts}, last ${lastRestart.time} (${lastRestart.reason}, ${formatBytes(lastRestart.rssBytes)})`],
  ]);
}

function fileEventsSection(report: HealthReport): string {
  const f = report.fileEvents;
  return table("File events", [
    ["received", `${f.received}`],
    ["forwarded to gopls", `${f.forwarded}`],
    ["suppressed duplicates", `${f.suppressed}`],
    ["debounce", `${f.debounceMs} ms`],
  ]);
}

function modelText(report: HealthReport): string {
  const { modelPath, modelQuantization } = report.ai;
  const name = modelPath === "" ? "embedded default (Gemma 3 270M)" : modelPath;
  return modelQuantization === "" ? name : `${name}, ${modelQuantization}`;
}

function aiSection(report: HealthReport): string {
  const a = report.ai;
  const rows: [string, string][] = [
    ["state", a.error === null ? a.state : `${a.state}: ${a.error}`],
    ["model", modelText(report)],
    ["KV cache", a.kvCacheBytes > 0
      ? `${kvCacheText(report)}, ${formatBytes(a.kvCacheBytes)} for ${a.contextTokens} tokens`
      : `${kvCacheText(report)} (allocated when the model loads)`],
    ["flash attention", a.flashAttention ? "on" : "off"],
    ["requests", `${a.requests}, latency p50 ${a.latencyMsP50} ms, p95 ${a.latencyMsP95} ms`],
  ];
  return table("AI completions", rows);
}

function problemsSection(page: HealthPage): string {
  if (page.problems.length === 0) {
    return `<section><h2>Problems</h2><p class="ok">No problems found.</p></section>`;
  }
  const items = page.problems.map((problem, index) =>
    `<li class="${problem.severity}"><span class="severity">${escapeHtml(problem.severity)}</span> ` +
    `${escapeHtml(problem.message)}<div class="fix">${escapeHtml(problem.fix)} ` +
    `<button data-fix="${index}">${escapeHtml(fixLabel(problem.action))}</button></div></li>`,
  );
  return `<section><h2>Problems</h2><ul class="problems">${items.join("")}</ul></section>`;
}

function summary(page: HealthPage): string {
  if (page.report === undefined) {
    return `<p class="error">No health report: ${escapeHtml(page.error ?? "the sidecar is not running")}</p>`;
  }
  const ok = page.report.ok && page.problems.every((p) => p.severity !== "error");
  return ok ? `<p class="ok">Everything is working.</p>` : `<p class="error">Something needs attention, see Problems.</p>`;
}

const STYLE = `body{font-family:var(--vscode-font-family);color:var(--vscode-foreground);padding:0 1em}
table{border-collapse:collapse}th{text-align:left;padding:2px 1.5em 2px 0;color:var(--vscode-descriptionForeground);font-weight:normal}
td{padding:2px 0}.ok{color:var(--vscode-testing-iconPassed)}.error{color:var(--vscode-errorForeground)}
.problems li{margin-bottom:.6em}.severity{font-weight:bold;text-transform:uppercase}.fix{margin-top:.2em}
button{background:var(--vscode-button-background);color:var(--vscode-button-foreground);border:none;padding:3px 10px;cursor:pointer}
.charts{display:grid;grid-template-columns:repeat(auto-fit,minmax(420px,1fr));gap:1em}figure{margin:0;max-width:760px}
figcaption{color:var(--vscode-descriptionForeground);font-size:90%}svg text{fill:var(--vscode-charts-foreground,var(--vscode-foreground));font-size:11px}
svg .axis,svg .tick{stroke:var(--vscode-charts-foreground,var(--vscode-foreground))}svg .grid{stroke:var(--vscode-charts-lines);stroke-dasharray:2 3}
svg .rss{fill:none;stroke:var(--vscode-charts-blue);stroke-width:2}svg .limit{stroke:var(--vscode-charts-red);stroke-width:1.5;stroke-dasharray:6 4}
svg .restart line{stroke:var(--vscode-charts-orange);stroke-width:1.5;stroke-dasharray:2 2}
svg .received{fill:none;stroke:var(--vscode-charts-yellow);stroke-width:1}svg .forwarded{fill:var(--vscode-charts-blue)}
svg .latency{fill:var(--vscode-charts-purple)}svg .shown{fill:none;stroke:var(--vscode-charts-lines);stroke-width:1}svg .accepted{fill:var(--vscode-charts-green)}
body.vscode-high-contrast svg .rss,body.vscode-high-contrast svg .limit{stroke-width:3}body.vscode-high-contrast svg .received{stroke-width:2}
table.data{margin:.5em 0 1em}table.data td,table.data th{padding:1px 1em 1px 0}caption{text-align:left;font-weight:bold}`;

export function renderHealthPage(page: HealthPage, nonce: string, cspSource: string): string {
  const sections = page.report === undefined ? "" :
    historySection(page.report.history, page.report.gopls.memoryLimitBytes) +
    goplsSection(page.report) + fileEventsSection(page.report) + aiSection(page.report);
  return `<!DOCTYPE html><html lang="en"><head><meta charset="UTF-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src ${cspSource} 'nonce-${nonce}'; script-src 'nonce-${nonce}';">
<style nonce="${nonce}">${STYLE}</style><title>Go Sidecar Health</title></head><body>
<h1>Go Sidecar Health</h1>${summary(page)}${sections}${problemsSection(page)}
<p><button data-command="refresh">Refresh</button> <button data-command="copyReport">Copy report</button>
<button data-command="showLog">Show Sidecar Log</button>
<small>Updated ${escapeHtml(page.generatedAt.toLocaleTimeString())}</small></p>
<script nonce="${nonce}">const vscode = acquireVsCodeApi();
document.body.addEventListener("click", (event) => { const b = event.target.closest("button"); if (!b) return;
vscode.postMessage(b.dataset.fix !== undefined ? { fix: Number(b.dataset.fix) } : { command: b.dataset.command }); });</script>
</body></html>`;
}
