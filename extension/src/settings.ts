// The sidecar's settings as it receives them: `goSidecar.memory.limitMB` becomes
// {"memory": {"limitMB": …}}. Keys that only the client reads stay behind.

export type Nested = Record<string, unknown>;

/** Settings the client itself uses; the sidecar never sees them. */
const CLIENT_ONLY_KEYS = new Set(["python", "statusPollSeconds", "trace.server"]);

/** Settings whose change needs a new sidecar process rather than a notification. */
export const PROCESS_KEYS: readonly string[] = ["python"];

export function isSidecarKey(key: string): boolean {
  return !CLIENT_ONLY_KEYS.has(key);
}

/**
 * Nests dotted keys into objects. `null` and `undefined` values are left out so that
 * the sidecar applies its own default (e.g. the memory limit it derives from RAM).
 */
export function nestSettings(flat: Readonly<Record<string, unknown>>): Nested {
  const nested: Nested = {};
  for (const [key, value] of Object.entries(flat)) {
    if (value === null || value === undefined) {
      continue;
    }
    const path = key.split(".");
    const leaf = path.pop();
    if (leaf === undefined || leaf === "") {
      continue;
    }
    let node = nested;
    for (const part of path) {
      const child = node[part];
      node[part] = typeof child === "object" && child !== null ? child : {};
      node = node[part] as Nested;
    }
    node[leaf] = value;
  }
  return nested;
}

/** The nested settings object for the sidecar, reading each key with `get`. */
export function sidecarSettings(keys: readonly string[], get: (key: string) => unknown): Nested {
  const flat = Object.fromEntries(keys.filter(isSidecarKey).map((key) => [key, get(key)]));
  return nestSettings(flat);
}
