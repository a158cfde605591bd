// What gopls may read through `workspace/configuration` in an untrusted workspace
// (Restricted Mode): the values of the user and the machine, never the folder's own
// `.vscode/settings.json`. gopls settings run programs (`build.env` with
// `GOFLAGS=-toolexec=…` or `CC`, `build.buildFlags`), and VS Code only holds back the
// workspace values of settings an installed extension declares restricted, which
// `gopls.*` is not unless the Go extension is installed.

/** The levels of `WorkspaceConfiguration.inspect` this module reads. */
export interface InspectedSetting {
  defaultValue?: unknown;
  globalValue?: unknown;
}

/** `"gopls"` → no parent, key "gopls"; `"gopls.build"` → parent "gopls", key "build". */
export function splitSection(section: string): { parent: string | undefined; key: string } {
  const dot = section.lastIndexOf(".");
  return dot === -1 ? { parent: undefined, key: section } : { parent: section.slice(0, dot), key: section.slice(dot + 1) };
}

/**
 * The value VS Code would give without workspace and folder levels: the user's (and, in
 * a remote window, the machine's) value over the default, objects merged key by key as
 * VS Code merges them; `null` when neither is set, as the language client answers.
 */
export function userLevelValue(inspected: InspectedSetting | undefined): unknown {
  return mergeOver(inspected?.defaultValue, inspected?.globalValue) ?? null;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function mergeOver(base: unknown, over: unknown): unknown {
  if (!isPlainObject(base) || !isPlainObject(over)) {
    return over ?? base;
  }
  const merged: Record<string, unknown> = { ...base };
  for (const [key, value] of Object.entries(over)) {
    merged[key] = mergeOver(base[key], value);
  }
  return merged;
}
