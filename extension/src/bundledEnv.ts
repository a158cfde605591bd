// The sidecar's own environment, created on first start in the extension's global storage.
// The linux-x64 .vsix ships the sidecar and its pinned dependencies as wheels
// (wheels/manifest.json lists them), installed offline. The universal .vsix (every other
// platform) ships only the sidecar's pure-Python wheel and installs the pinned
// dependencies from the user's package index; llama-cpp-python, which PyPI has only as
// source, is optional there: without it the sidecar runs and its AI part says the fix.
import { existsSync } from "node:fs";
import { mkdir, readdir, readFile, rename, rm, writeFile } from "node:fs/promises";
import * as path from "node:path";
import { basePythonCandidates, findPython, formatVersion, minorVersion } from "./python";
import { runProcess } from "./run";

export interface WheelManifest {
  /** What pip installs, e.g. "gosidecar[model]==0.1.0". */
  requirement: string;
  /** Python minor versions the wheels cover, e.g. ["3.11", "3.12"]. */
  pythonVersions: string[];
  /** File name of the pip wheel used to install without a pip in the base Python. */
  pipWheel: string;
  /** Universal package only: what to install from the package index. */
  online?: OnlineInstall;
}

export interface OnlineInstall {
  /** File name of the shipped gosidecar wheel, installed without its dependencies. */
  sidecarWheel: string;
  /** Pinned requirements (with markers) installed from the index. */
  dependencies: string[];
  /** Requirements that may fail to install (no wheel, no compiler); the env works without. */
  optional: string[];
}

const READY_FILE = ".gosidecar-ready";
const STEP_TIMEOUT_MS = 10 * 60_000;

export function envPython(envDir: string, platform: NodeJS.Platform = process.platform): string {
  return platform === "win32" ? path.join(envDir, "Scripts", "python.exe") : path.join(envDir, "bin", "python");
}

export async function readWheelManifest(wheelsDir: string): Promise<WheelManifest | undefined> {
  try {
    return JSON.parse(await readFile(path.join(wheelsDir, "manifest.json"), "utf8")) as WheelManifest;
  } catch {
    return undefined;
  }
}

/** The environment's Python when it was fully installed for `requirement`. */
export async function readyEnvPython(envDir: string, requirement: string): Promise<string | undefined> {
  try {
    const ready = await readFile(path.join(envDir, READY_FILE), "utf8");
    return ready.trim() === requirement && existsSync(envPython(envDir)) ? envPython(envDir) : undefined;
  } catch {
    return undefined;
  }
}

/** A short progress message for one line of pip's output, or undefined to skip it. */
export function pipProgressMessage(line: string): string | undefined {
  const downloading = /^\s*Downloading ([A-Za-z0-9_.]+?)-\d/.exec(line);
  if (downloading?.[1] !== undefined) {
    return `downloading ${downloading[1].replace(/_/g, "-")}`;
  }
  if (/^\s*Building wheel for llama[-_]cpp[-_]python/i.test(line)) {
    return "building llama-cpp-python from source (no wheel for this platform; can take 10 minutes)";
  }
  const processing = /^Processing .*?([A-Za-z0-9_.]+?)-\d[^/]*\.whl/.exec(line.trim());
  if (processing?.[1] !== undefined) {
    return `unpacking ${processing[1].replace(/_/g, "-")}`;
  }
  if (line.startsWith("Installing collected packages")) {
    return "installing packages (the model takes the longest)";
  }
  return undefined;
}

/** The environment for the online install: the user's pip configuration (index, proxy) applies. */
export function onlinePipEnv(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  return { ...env, PYTHONNOUSERSITE: "1" };
}

/**
 * The environment for the offline install: no PIP_* variables and no pip.conf (either may
 * add an index or find-links), no user site-packages.
 */
export function isolatedPipEnv(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const kept = Object.entries(env).filter(([name]) => !name.startsWith("PIP_"));
  return { ...Object.fromEntries(kept), PIP_CONFIG_FILE: "/dev/null", PYTHONNOUSERSITE: "1" };
}

export interface EnsureEnvOptions {
  wheelsDir: string;
  storageDir: string;
  /** The extension's version: a new version gets a new environment. */
  version: string;
  report: (message: string) => void;
  log: (line: string) => void;
}

export function bundledEnvDir(storageDir: string, version: string): string {
  return path.join(storageDir, `python-env-${version}`);
}

/** The bundled environment's Python when it is already installed. */
export async function findBundledEnv(wheelsDir: string, storageDir: string, version: string): Promise<string | undefined> {
  const manifest = await readWheelManifest(wheelsDir);
  return manifest === undefined ? undefined : readyEnvPython(bundledEnvDir(storageDir, version), manifest.requirement);
}

/** Installs the bundled environment from the shipped wheels; returns its Python. */
export async function installBundledEnv(options: EnsureEnvOptions): Promise<string> {
  const manifest = await readWheelManifest(options.wheelsDir);
  if (manifest === undefined) {
    throw new Error(
      `this build of the extension ships no sidecar wheels (${options.wheelsDir}); set goSidecar.python to a Python with gosidecar installed`,
    );
  }
  const envDir = bundledEnvDir(options.storageDir, options.version);
  await installEnv(envDir, manifest, options);
  await removeOtherEnvs(options.storageDir, path.basename(envDir));
  return envPython(envDir);
}

async function installEnv(envDir: string, manifest: WheelManifest, options: EnsureEnvOptions): Promise<void> {
  options.report("looking for Python");
  const base = await findPython(basePythonCandidates(manifest.pythonVersions), (version) =>
    manifest.pythonVersions.includes(minorVersion(version)),
  );
  if (base === undefined) {
    throw new Error(
      `no Python ${manifest.pythonVersions.join(", ")} found on PATH; install one or set goSidecar.python`,
    );
  }
  options.log(`creating the sidecar environment with ${base.python} ${formatVersion(base.version)} in ${envDir}`);
  const staging = `${envDir}.partial-${process.pid}`;
  await rm(staging, { recursive: true, force: true });
  await mkdir(path.dirname(staging), { recursive: true });
  options.report("creating a virtual environment");
  // --without-pip: Debian's python3 lacks ensurepip; pip runs from its shipped wheel instead.
  await step(base.python, ["-m", "venv", "--without-pip", staging], options);
  const pip = [path.join(options.wheelsDir, manifest.pipWheel, "pip"), "install", "--disable-pip-version-check",
    "--progress-bar", "off"];
  if (manifest.online === undefined) {
    options.report("installing the sidecar from the bundled wheels");
    await pipStep(staging, [...pip, "--no-index", "--find-links", options.wheelsDir, "--no-cache-dir",
      manifest.requirement], options, isolatedPipEnv(process.env));
  } else {
    await installOnline(staging, pip, manifest.online, options);
  }
  await writeFile(path.join(staging, READY_FILE), manifest.requirement);
  await rm(envDir, { recursive: true, force: true });
  await rename(staging, envDir);
}

/** The universal package: dependencies from the index, the sidecar from its wheel, then the optional ones. */
async function installOnline(envDir: string, pip: string[], online: OnlineInstall, options: EnsureEnvOptions): Promise<void> {
  const env = onlinePipEnv(process.env);
  options.report("downloading the sidecar's dependencies from the package index");
  await pipStep(envDir, [...pip, ...online.dependencies], options, env);
  await pipStep(envDir, [...pip, "--no-deps", path.join(options.wheelsDir, online.sidecarWheel)], options, env);
  for (const requirement of online.optional) {
    options.report(`installing ${requirement}`);
    try {
      await pipStep(envDir, [...pip, requirement], options, env);
    } catch (error) {
      // The sidecar runs without it; its Health Check names the missing package and the fix.
      options.log(`${requirement} could not be installed, the sidecar runs without it: ${String(error)}`);
    }
  }
}

async function pipStep(envDir: string, args: string[], options: EnsureEnvOptions, env: NodeJS.ProcessEnv): Promise<void> {
  await step(envPython(envDir), args, options, env, (line) => {
    const message = pipProgressMessage(line);
    if (message !== undefined) {
      options.report(message);
    }
  });
}

async function step(
  command: string,
  args: string[],
  options: EnsureEnvOptions,
  env?: NodeJS.ProcessEnv,
  onLine?: (line: string) => void,
): Promise<void> {
  const result = await runProcess(command, args, {
    timeoutMs: STEP_TIMEOUT_MS,
    env,
    onLine: (line) => {
      options.log(line);
      onLine?.(line);
    },
  });
  if (result.code !== 0) {
    const lastLines = result.output.trim().split("\n").slice(-3).join(" | ");
    throw new Error(`${path.basename(command)} ${args.slice(0, 2).join(" ")} failed (exit ${result.code}): ${lastLines}`);
  }
}

async function removeOtherEnvs(storageDir: string, keep: string): Promise<void> {
  const entries = await readdir(storageDir);
  // Other versions only: `keep.partial-<pid>` may be another window installing right now.
  const stale = entries.filter((name) => name.startsWith("python-env-") && !name.startsWith(keep));
  await Promise.all(stale.map((name) => rm(path.join(storageDir, name), { recursive: true, force: true })));
}
