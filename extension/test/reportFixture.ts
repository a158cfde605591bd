// A complete HealthReport for the unit tests. Written out in full on purpose: tsc rejects a
// missing or an unknown key here, and healthSchema.test.ts compares these keys with the schema.
import type { HealthHistory, HealthReport } from "../src/health";

export const MB = 1024 * 1024;
export const START = "2026-01-01T10:00:00+00:00";

export function emptyHistory(buckets: number): HealthHistory {
  const zeros = (): number[] => new Array<number>(buckets).fill(0);
  return {
    bucketSeconds: 10,
    start: START,
    rssBytes: { min: new Array<null>(buckets).fill(null), mean: new Array<null>(buckets).fill(null),
      max: new Array<null>(buckets).fill(null) },
    restarts: [],
    fileEvents: { received: zeros(), forwarded: zeros() },
    suggestions: { shown: zeros(), accepted: zeros(), shownTotal: 0, acceptedTotal: 0 },
    latencyMs: { edges: [0, 50, 100, 200, 400, 800, 1600, 3200], counts: [0, 0, 0, 0, 0, 0, 0, 0] },
  };
}

export function report(overrides: { rss?: number; limit?: number; aiState?: HealthReport["ai"]["state"] } = {}): HealthReport {
  return {
    ok: true,
    gopls: { path: "/root/go/bin/gopls", version: "v0.23.0", pid: 42, running: true, rssBytes: overrides.rss ?? 300 * MB,
      peakRssBytes: 350 * MB, memoryLimitBytes: overrides.limit ?? 2048 * MB, restarts: 0, restartLog: [] },
    fileEvents: { received: 10, forwarded: 4, suppressed: 6, debounceMs: 100, watchedDirectories: 12, polledDirectories: 0,
      maxWatchedDirectories: 20000, directoriesOverCap: 0, skippedBases: [] },
    ai: { enabled: true, state: overrides.aiState ?? "ready", modelPath: "/m/gemma.gguf", modelQuantization: "Q4_K_M",
      kvCacheTypeK: "q8_0", kvCacheTypeV: "q8_0", flashAttention: true, contextTokens: 2048, kvCacheBytes: 20 * MB,
      requests: 3, latencyMsP50: 180, latencyMsP95: 400, error: null, backend: "local", loaded: true, cacheHits: 1,
      lastReusedPrefixTokens: 120, loadMs: 900, modelProcessPid: 77, modelProcessCrashes: 0,
      groundingConstrained: 2, groundingSteered: 1, groundingCut: 0, groundingDropped: 1 },
    problems: [],
    history: emptyHistory(3),
  };
}
