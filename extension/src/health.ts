// The health report the sidecar returns for `goSidecar/health` (see the contract), and
// the plain functions that turn it into status-bar text and fix actions.

export type Severity = "error" | "warning" | "info";

export interface Problem {
  severity: Severity;
  message: string;
  fix: string;
}

export interface RestartEntry {
  time: string;
  reason: string;
  rssBytes: number;
}

export interface HealthReport {
  ok: boolean;
  gopls: {
    path: string;
    version: string;
    pid: number;
    running: boolean;
    rssBytes: number;
    peakRssBytes: number;
    memoryLimitBytes: number;
    restarts: number;
    restartLog: RestartEntry[];
  };
  fileEvents: { received: number; forwarded: number; suppressed: number; debounceMs: number };
  ai: {
    enabled: boolean;
    state: "ready" | "loading" | "disabled" | "error";
    modelPath: string;
    modelQuantization: string;
    kvCacheTypeK: string;
    kvCacheTypeV: string;
    flashAttention: boolean;
    contextTokens: number;
    kvCacheBytes: number;
    requests: number;
    latencyMsP50: number;
    latencyMsP95: number;
    error: string | null;
  };
  problems: Problem[];
}

/** Share of the memory limit at which the status bar turns to the warning colour. */
export const WARNING_SHARE = 0.85;

export function formatBytes(bytes: number): string {
  const mib = bytes / (1024 * 1024);
  if (mib >= 1024) {
    return `${(mib / 1024).toFixed(1)} GB`;
  }
  return `${Math.round(mib)} MB`;
}

export function nearMemoryLimit(report: HealthReport): boolean {
  const { rssBytes, memoryLimitBytes } = report.gopls;
  return memoryLimitBytes > 0 && rssBytes >= WARNING_SHARE * memoryLimitBytes;
}

export function memoryText(report: HealthReport): string {
  const { running, rssBytes, memoryLimitBytes } = report.gopls;
  if (!running) {
    return "gopls stopped";
  }
  const rss = formatBytes(rssBytes);
  return memoryLimitBytes > 0 ? `gopls ${rss} / ${formatBytes(memoryLimitBytes)}` : `gopls ${rss}`;
}

export function aiText(report: HealthReport): string {
  switch (report.ai.state) {
    case "ready":
      return "AI ready";
    case "loading":
      return "AI loading";
    case "disabled":
      return "AI off";
    case "error":
      return "AI error";
  }
}

export interface StatusView {
  text: string;
  tooltip: string;
  level: "normal" | "warning" | "error";
}

export function statusView(report: HealthReport): StatusView {
  const errors = report.problems.filter((p) => p.severity === "error").length;
  const warning = nearMemoryLimit(report) || report.ai.state === "error" || errors > 0;
  const icon = warning ? "$(warning)" : "$(pulse)";
  const tooltipLines = [
    memoryText(report) + (report.gopls.memoryLimitBytes > 0 ? " (limit)" : " (no limit)"),
    `peak ${formatBytes(report.gopls.peakRssBytes)}, ${report.gopls.restarts} restart(s)`,
    `${aiText(report)}${report.ai.state === "ready" ? `, KV cache ${kvCacheText(report)}` : ""}`,
    ...report.problems.map((p) => `${p.severity}: ${p.message}`),
    "Click for the Health Check",
  ];
  return {
    text: `${icon} ${memoryText(report)} · ${aiText(report)}`,
    tooltip: tooltipLines.join("\n"),
    level: warning ? "warning" : "normal",
  };
}

export function kvCacheText(report: HealthReport): string {
  const { kvCacheTypeK, kvCacheTypeV } = report.ai;
  return kvCacheTypeK === kvCacheTypeV ? kvCacheTypeK : `K ${kvCacheTypeK} / V ${kvCacheTypeV}`;
}

/** What a problem's fix button does; fix texts are free text from the sidecar. */
export type FixAction =
  | { kind: "disableGoExtensionGopls"; label: string }
  | { kind: "openSetting"; key: string; label: string }
  | { kind: "restartGopls"; label: string }
  | { kind: "copy"; label: string };

export function fixAction(fix: string, section: string): FixAction {
  if (fix.includes("go.useLanguageServer")) {
    return { kind: "disableGoExtensionGopls", label: "Set go.useLanguageServer to false" };
  }
  const setting = new RegExp(`\\b${section}(?:\\.[A-Za-z]+)+`).exec(fix);
  if (setting !== null) {
    return { kind: "openSetting", key: setting[0], label: `Open setting ${setting[0]}` };
  }
  if (/restart(ing)? gopls/i.test(fix)) {
    return { kind: "restartGopls", label: "Restart gopls" };
  }
  return { kind: "copy", label: "Copy fix" };
}
