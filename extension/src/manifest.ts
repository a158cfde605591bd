// The extension's ids, read from package.json so that the manifest stays the one
// source of truth: the settings section, the command ids and the setting keys.

export const COMMAND_NAMES = ["healthCheck", "restartGopls", "toggleAi", "showLog"] as const;
export type CommandName = (typeof COMMAND_NAMES)[number];

interface PackageJson {
  publisher: string;
  name: string;
  displayName: string;
  version: string;
  contributes: {
    commands: { command: string; title: string; category?: string }[];
    configuration: { properties: Record<string, { default?: unknown }> };
  };
}

export interface Manifest {
  readonly extensionId: string;
  readonly displayName: string;
  readonly version: string;
  /** The settings section, e.g. "goSidecar". */
  readonly section: string;
  /** Setting keys below the section, e.g. "memory.limitMB". */
  readonly settingKeys: readonly string[];
  /** Default value of each key below the section. */
  readonly defaults: Readonly<Record<string, unknown>>;
  commandId(name: CommandName): string;
  commandTitle(name: CommandName): string;
}

export function readManifest(packageJson: unknown): Manifest {
  const pkg = packageJson as PackageJson;
  const properties = pkg.contributes.configuration.properties;
  const fullKeys = Object.keys(properties);
  const section = sectionOf(fullKeys);
  const settingKeys = fullKeys.map((key) => key.slice(section.length + 1));
  const defaults = Object.fromEntries(
    settingKeys.map((key) => [key, properties[`${section}.${key}`]?.default]),
  );
  const commands = new Map(pkg.contributes.commands.map((c) => [c.command, c]));
  const lookup = (name: CommandName): { command: string; title: string; category?: string } => {
    const found = commands.get(`${section}.${name}`);
    if (found === undefined) {
      throw new Error(`package.json contributes no command ${section}.${name}`);
    }
    return found;
  };
  return {
    extensionId: `${pkg.publisher}.${pkg.name}`,
    displayName: pkg.displayName,
    version: pkg.version,
    section,
    settingKeys,
    defaults,
    commandId: (name) => lookup(name).command,
    commandTitle: (name) => {
      const { title, category } = lookup(name);
      return category === undefined ? title : `${category}: ${title}`;
    },
  };
}

function sectionOf(keys: string[]): string {
  const sections = new Set(keys.map((key) => key.split(".")[0]));
  const [only] = sections;
  if (sections.size !== 1 || only === undefined) {
    throw new Error(`package.json settings must share one section, found: ${[...sections].join(", ")}`);
  }
  return only;
}
