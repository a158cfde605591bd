// The health report the sidecar returns for `goSidecar/health` (its JSON Schema:
// server/gosidecar/health_schema.json, checked by pytest and by healthSchema.test.ts), and
// the plain functions that turn it into status-bar text and fix-button labels.

export type Severity = "error" | "warning" | "info";

/** A value a fix can suggest for a setting. */
export type SettingValue = string | number | boolean | null;

/** What a problem's fix button does (server/gosidecar/problems.py): no parsing of `fix`. */
export type ProblemAction =
  /** Open the setting (a full key, e.g. goSidecar.memory.limitMB), or set it to `value` when one is suggested. */
  | { kind: "setting"; key: string; value: SettingValue }
  /** Run a command, e.g. goSidecar.restartGopls; `title` is the button's label. */
  | { kind: "command"; command: string; title: string };

export interface Problem {
  severity: Severity;
  message: string;
  /** What to do, for a person to read. */
  fix: string;
  /** null: nothing to click; the page offers to copy `fix`. */
  action: ProblemAction | null;
}

export interface RestartEntry {
  time: string;
  reason: "rss-limit" | "rss-spike" | "crash" | "manual";
  rssBytes: number;
}

/** The last hour in buckets of `bucketSeconds`, oldest first (server/gosidecar/history.py). */
export interface HealthHistory {
  bucketSeconds: number;
  /** Start of the first bucket, ISO 8601. */
  start: string;
  /** gopls's RSS per bucket; null where no sample was taken. */
  rssBytes: { min: (number | null)[]; mean: (number | null)[]; max: (number | null)[] };
  restarts: RestartEntry[];
  fileEvents: { received: number[]; forwarded: number[] };
  suggestions: { shown: number[]; accepted: number[]; shownTotal: number; acceptedTotal: number };
  /** Histogram: lower bin edges (the last bin is open-ended) and counts. */
  latencyMs: { edges: number[]; counts: number[] };
}

// Kept equal to server/gosidecar/health_schema.json: extension/test/healthSchema.test.ts
// checks a complete HealthReport literal against it key by key.
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
  fileEvents: {
    received: number;
    forwarded: number;
    suppressed: number;
    debounceMs: number;
    watchedDirectories: number;
    polledDirectories: number;
    /** The cap on watched directories, how many beyond it go unwatched, and the
     *  registration bases outside the workspace folders that are not watched. */
    maxWatchedDirectories: number;
    directoriesOverCap: number;
    skippedBases: string[];
  };
  ai: {
    enabled: boolean;
    /** `unloaded`: no error and no model in memory (not loaded yet, or after the idle time). */
    state: "ready" | "loading" | "unloaded" | "disabled" | "error";
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
    backend: string;
    loaded: boolean;
    cacheHits: number;
    lastReusedPrefixTokens: number;
    loadMs: number;
    /** The model runs in a process of its own (0 when not loaded), restarted after a crash. */
    modelProcessPid: number;
    modelProcessCrashes: number;
    /** Suggestions grounded in gopls (ai.grounding): first identifier constrained to its names, a token
     * steered to keep a call's arguments balanced, cut or dropped by the check. */
    groundingConstrained: number;
    groundingSteered: number;
    groundingCut: number;
    groundingDropped: number;
  };
  problems: Problem[];
  history: HealthHistory;
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
    case "unloaded":
      return "AI idle";
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
  const trend = memoryTrend(report.history);
  const tooltipLines = [
    memoryText(report) + (report.gopls.memoryLimitBytes > 0 ? " (limit)" : " (no limit)"),
    ...(trend === undefined ? [] : [trend]),
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

/** Minutes back that the status bar's trend compares with. */
export const TREND_MINUTES = 10;

/** "gopls 1.2 GB, +300 MB in 10 min" from the history's RSS means; undefined without two samples. */
export function memoryTrend(history: HealthHistory): string | undefined {
  const means = history.rssBytes.mean;
  const sampled = means.flatMap((value, index) => (value === null ? [] : [index]));
  const last = sampled.at(-1);
  const back = Math.round((TREND_MINUTES * 60) / history.bucketSeconds);
  const first = sampled.find((index) => last !== undefined && index >= last - back);
  if (last === undefined || first === undefined || first === last) {
    return undefined;
  }
  const now = means[last] ?? 0;
  const delta = now - (means[first] ?? 0);
  const minutes = Math.max(1, Math.round(((last - first) * history.bucketSeconds) / 60));
  return `gopls ${formatBytes(now)}, ${delta < 0 ? "−" : "+"}${formatBytes(Math.abs(delta))} in ${minutes} min`;
}

export function kvCacheText(report: HealthReport): string {
  const { kvCacheTypeK, kvCacheTypeV } = report.ai;
  return kvCacheTypeK === kvCacheTypeV ? kvCacheTypeK : `K ${kvCacheTypeK} / V ${kvCacheTypeV}`;
}

/** The fix button's label: what a click does (healthActions.ts carries it out). */
export function fixLabel(action: ProblemAction | null): string {
  if (action === null) {
    return "Copy fix";
  }
  if (action.kind === "command") {
    return action.title;
  }
  return action.value === null ? `Open setting ${action.key}` : `Set ${action.key} to ${JSON.stringify(action.value)}`;
}

/** The report's action when it names this extension's own setting or command; null (nothing
 *  to click) for anything else: a report must not make a button that changes other settings
 *  or runs other commands. */
export function ownAction(action: ProblemAction | null, section: string): ProblemAction | null {
  if (action === null) {
    return null;
  }
  const target = action.kind === "setting" ? action.key : action.command;
  return target.startsWith(`${section}.`) ? action : null;
}
