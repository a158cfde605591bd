// "Copy report": the Health Check as Markdown for a bug report to gopls or to us —
// versions, the settings that change behaviour, the last restarts and the problems. Paths
// and server URLs stay out: the user pastes this into a public issue.
import { formatBytes, type HealthReport, memoryTrend, type Problem } from "./health";

/** Settings (below the section) whose values explain most reports. */
export const REPORTED_SETTINGS = [
  "memory.limitMB",
  "memory.spikeMB",
  "fileEvents.debounceMs",
  "ai.enabled",
  "ai.backend",
  "ai.kvCacheType",
  "gopls.args",
] as const;

const RESTARTS_REPORTED = 5;

export interface ReportContext {
  extensionVersion: string;
  vscodeVersion: string;
  section: string;
  /** Values of REPORTED_SETTINGS, by key below the section. */
  settings: Record<string, unknown>;
}

function cell(text: string): string {
  return text.replace(/\|/g, "\\|").replace(/\r?\n/g, " ");
}

function settingText(key: string, value: unknown): string {
  if (key === "ai.backend" && typeof value === "string" && value !== "local") {
    return "a remote server (URL left out)";
  }
  return value === undefined ? "default" : JSON.stringify(value);
}

function summaryRows(report: HealthReport): [string, string][] {
  const { gopls, fileEvents, ai } = report;
  const limit = gopls.memoryLimitBytes > 0 ? formatBytes(gopls.memoryLimitBytes) : "no limit";
  const trend = memoryTrend(report.history);
  return [
    ["gopls", `${gopls.version || "unknown version"}, ${gopls.running ? "running" : "stopped"}`],
    ["gopls memory", `${formatBytes(gopls.rssBytes)} of ${limit}, peak ${formatBytes(gopls.peakRssBytes)}` +
      (trend === undefined ? "" : ` (${trend})`)],
    ["restarts", String(gopls.restarts)],
    ["file events", `${fileEvents.received} received, ${fileEvents.forwarded} forwarded, ` +
      `${fileEvents.watchedDirectories} directories watched, ${fileEvents.polledDirectories} polled`],
    ["AI", `${ai.state}${ai.modelQuantization ? `, ${ai.modelQuantization}` : ""}, KV ${ai.kvCacheTypeK}/${ai.kvCacheTypeV}, ` +
      `p50 ${ai.latencyMsP50} ms, p95 ${ai.latencyMsP95} ms`],
    ["ghost text", `${report.history.suggestions.shownTotal} shown, ${report.history.suggestions.acceptedTotal} accepted`],
  ];
}

export function reportMarkdown(report: HealthReport | undefined, problems: Problem[], context: ReportContext): string {
  const rows: [string, string][] = [
    ["Go Sidecar", context.extensionVersion],
    ["VS Code", context.vscodeVersion],
    ...(report === undefined ? [["health report", "none (the sidecar did not answer)"] as [string, string]] : summaryRows(report)),
  ];
  const lines = ["## Go Sidecar health report", "", "| | |", "|---|---|", ...rows.map(([k, v]) => `| ${k} | ${cell(v)} |`)];
  lines.push("", "### Settings", "");
  for (const key of REPORTED_SETTINGS) {
    lines.push(`- \`${context.section}.${key}\`: ${settingText(key, context.settings[key])}`);
  }
  const restarts = report?.gopls.restartLog.slice(-RESTARTS_REPORTED) ?? [];
  lines.push("", "### Last restarts", "");
  lines.push(...(restarts.length === 0 ? ["none"] :
    restarts.map((r) => `- ${r.time}: ${r.reason}${r.rssBytes > 0 ? ` at ${formatBytes(r.rssBytes)}` : ""}`)));
  lines.push("", "### Problems", "");
  lines.push(...(problems.length === 0 ? ["none"] : problems.map((p) => `- **${p.severity}**: ${cell(p.message)}`)));
  return lines.join("\n") + "\n";
}
