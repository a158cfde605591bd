// Which Python runs the sidecar: the user's `goSidecar.python`, else the environment
// the extension creates from the wheels it ships (see bundledEnv.ts).
import { execFile } from "node:child_process";

export interface PythonVersion {
  major: number;
  minor: number;
  micro: number;
}

const PROBE = "import sys; print('%d.%d.%d' % sys.version_info[:3])";
const PROBE_TIMEOUT_MS = 15_000;

export function parsePythonVersion(text: string): PythonVersion | undefined {
  const match = /^(\d+)\.(\d+)\.(\d+)/.exec(text.trim());
  if (match === null) {
    return undefined;
  }
  const [major, minor, micro] = match.slice(1, 4).map(Number);
  if (major === undefined || minor === undefined || micro === undefined) {
    return undefined;
  }
  return { major, minor, micro };
}

export function formatVersion(version: PythonVersion): string {
  return `${version.major}.${version.minor}.${version.micro}`;
}

/** "3.12" for the version, the form the wheel manifest lists. */
export function minorVersion(version: PythonVersion): string {
  return `${version.major}.${version.minor}`;
}

export function atLeast(version: PythonVersion, minimum: PythonVersion): boolean {
  if (version.major !== minimum.major) {
    return version.major > minimum.major;
  }
  if (version.minor !== minimum.minor) {
    return version.minor > minimum.minor;
  }
  return version.micro >= minimum.micro;
}

/** The interpreter that runs the sidecar: the extension's own environment or the user's. */
export type SidecarPython =
  | { kind: "bundled"; path: string }
  | { kind: "configured"; path: string; version: PythonVersion };

/** Python 3.11 added `-P` (no script or current directory on `sys.path`). */
const SAFE_PATH_FLAG_SINCE: PythonVersion = { major: 3, minor: 11, micro: 0 };

/**
 * Interpreter flags for the sidecar that keep the opened folder off its import path
 * (on top of the private working directory it is started in). The environment the
 * extension creates needs nothing from outside itself, so it runs isolated (`-I`: no
 * PYTHON* variables, no user site-packages, no current directory). A Python the user
 * configured may need its user site-packages or PYTHONPATH (`pip install --user`, a
 * development checkout), which `-I` would drop: it gets `-P` where it exists (3.11+).
 * `-u` because `-I` ignores PYTHONUNBUFFERED.
 */
export function sidecarInterpreterFlags(python: SidecarPython): string[] {
  if (python.kind === "bundled") {
    return ["-I", "-u"];
  }
  return atLeast(python.version, SAFE_PATH_FLAG_SINCE) ? ["-P", "-u"] : ["-u"];
}

/** Runs `python` to learn its version; undefined when it does not start or answer. */
export function probePython(python: string): Promise<PythonVersion | undefined> {
  return new Promise((resolve) => {
    // Isolated: the probe must not import anything from the current directory either.
    execFile(python, ["-I", "-c", PROBE], { timeout: PROBE_TIMEOUT_MS }, (error, stdout) => {
      resolve(error === null ? parsePythonVersion(stdout) : undefined);
    });
  });
}

/**
 * The first candidate whose version `accept`s, in order. Candidates are commands on
 * PATH or absolute paths.
 */
export async function findPython(
  candidates: readonly string[],
  accept: (version: PythonVersion) => boolean,
  probe: (python: string) => Promise<PythonVersion | undefined> = probePython,
): Promise<{ python: string; version: PythonVersion } | undefined> {
  for (const python of candidates) {
    const version = await probe(python);
    if (version !== undefined && accept(version)) {
      return { python, version };
    }
  }
  return undefined;
}

/** Base interpreters to build the sidecar's environment from, newest first. */
export function basePythonCandidates(supportedMinors: readonly string[]): string[] {
  const newestFirst = [...supportedMinors].sort((a, b) => Number(b.split(".")[1]) - Number(a.split(".")[1]));
  return [...newestFirst.map((minor) => `python${minor}`), "python3", "python"];
}
