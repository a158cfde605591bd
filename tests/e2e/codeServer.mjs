// A throw-away code-server (the real VS Code workbench) in its own sandbox folder:
// its own HOME, user data, extensions and config, started in its own process group.
import { spawn, spawnSync } from "node:child_process";
import { cpSync, mkdirSync, openSync, readdirSync, readFileSync, readlinkSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import * as path from "node:path";

const READY_TIMEOUT_MS = 90_000;
const INSTALL_TIMEOUT_MS = 180_000;
// code-server's group gets SIGTERM, then SIGKILL for what is still running after this.
const STOP_TIMEOUT_MS = 5_000;

function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
    server.on("error", reject);
  });
}

export class CodeServer {
  /**
   * @param {{ root: string, node: string, entry: string, outDir: string, runId: string }} options
   */
  constructor(options) {
    Object.assign(this, options);
    this.gopath = spawnSync("go", ["env", "GOPATH"], { encoding: "utf8" }).stdout.trim();
    this.home = path.join(this.root, "home");
    this.userData = path.join(this.root, "user-data");
    this.extensions = path.join(this.root, "extensions");
    this.config = path.join(this.root, "config.yaml");
    this.child = undefined;
    for (const dir of [this.home, this.userData, this.extensions]) {
      mkdirSync(dir, { recursive: true });
    }
    // VS Code takes the extension host's environment from a login shell, which reads the
    // (sandbox) home's profile: give it the PATH a developer's profile would set, with go.
    const profile = `export PATH=${JSON.stringify(process.env.PATH ?? "")}\nexport GOPATH=${JSON.stringify(this.gopath)}\n`;
    for (const name of [".profile", ".bash_profile", ".zprofile"]) {
      writeFileSync(path.join(this.home, name), profile);
    }
  }

  get env() {
    return {
      ...process.env,
      HOME: this.home,
      XDG_CONFIG_HOME: path.join(this.home, ".config"),
      XDG_DATA_HOME: path.join(this.home, ".local/share"),
      XDG_CACHE_HOME: path.join(this.home, ".cache"),
      // HOME moves to the sandbox, so Go would look for gopls in the sandbox's ~/go.
      GOPATH: this.gopath,
      // Every process below code-server inherits this, so cleanup can find stragglers.
      GOSIDECAR_E2E_RUN: this.runId,
    };
  }

  args() {
    return [this.entry, "--config", this.config, "--user-data-dir", this.userData, "--extensions-dir", this.extensions];
  }

  copyWorkspace(source, name = "workspace") {
    const target = path.join(this.root, name);
    cpSync(source, target, { recursive: true });
    return target;
  }

  /** `scope` "User", or "Machine" for machine-scoped settings (code-server is a remote). */
  writeSettings(scope, settings) {
    const dir = path.join(this.userData, scope);
    mkdirSync(dir, { recursive: true });
    writeFileSync(path.join(dir, "settings.json"), JSON.stringify(settings, null, 2));
  }

  installExtension(vsix) {
    const result = spawnSync(this.node, [...this.args(), "--install-extension", vsix], {
      env: this.env, encoding: "utf8", timeout: INSTALL_TIMEOUT_MS,
    });
    if (result.status !== 0) {
      throw new Error(`--install-extension failed (${result.status ?? result.signal}): ${result.stderr}${result.stdout}`);
    }
    return readdirSync(this.extensions).filter((name) => !name.startsWith("."));
  }

  /** With `workspaceTrust`, folders open untrusted (restricted mode) unless trusted. */
  async start({ workspaceTrust = false } = {}) {
    this.port = await freePort();
    writeFileSync(this.config, `bind-addr: 127.0.0.1:${this.port}\nauth: none\ncert: false\n`);
    const log = openSync(path.join(this.outDir, "code-server.log"), "a");
    const trust = workspaceTrust ? [] : ["--disable-workspace-trust"];
    this.child = spawn(this.node, [...this.args(), "--disable-telemetry", "--disable-update-check",
      ...trust, "--disable-getting-started-override"], {
      env: this.env, detached: true, stdio: ["ignore", log, log],
    });
    const deadline = Date.now() + READY_TIMEOUT_MS;
    while (Date.now() < deadline) {
      if (this.child.exitCode !== null) {
        throw new Error(`code-server exited with ${this.child.exitCode}; see code-server.log`);
      }
      try {
        const response = await fetch(`http://127.0.0.1:${this.port}/healthz`);
        if (response.ok) {
          return `http://127.0.0.1:${this.port}`;
        }
      } catch {
        // not listening yet
      }
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
    throw new Error(`code-server did not answer /healthz within ${READY_TIMEOUT_MS / 1000} s`);
  }

  /** Kills code-server's process group, then any process still carrying this run's marker. */
  async stop() {
    if (this.child?.pid !== undefined) {
      killGroup(this.child.pid, "SIGTERM");
      const deadline = Date.now() + STOP_TIMEOUT_MS;
      while (groupAlive(this.child.pid) && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      killGroup(this.child.pid, "SIGKILL");
    }
    return killMarked(this.runId);
  }

  /** The newest log of the extension's output channel, for the report. */
  sidecarLog() {
    const found = spawnSync("find", [this.userData, "-name", "*Go Sidecar*.log"], { encoding: "utf8" });
    const files = found.stdout.trim().split("\n").filter(Boolean);
    return files.length === 0 ? "" : readFileSync(files.at(-1), "utf8");
  }
}

/** Whether any process of the group led by `pid` is left (signal 0 only checks). */
function groupAlive(pid) {
  try {
    process.kill(-pid, 0);
    return true;
  } catch {
    return false;
  }
}

function killGroup(pid, signal) {
  try {
    process.kill(-pid, signal);
  } catch {
    // already gone
  }
}

/** Pids of this run's processes whose command line contains every one of `words`. */
export function findRunProcesses(runId, words) {
  const found = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) {
      continue;
    }
    try {
      const environ = readFileSync(`/proc/${entry}/environ`, "utf8").split("\0");
      const cmdline = readFileSync(`/proc/${entry}/cmdline`, "utf8").split("\0");
      if (environ.includes(`GOSIDECAR_E2E_RUN=${runId}`) && words.every((w) => cmdline.includes(w))) {
        found.push(Number(entry));
      }
    } catch {
      // gone or not ours to read
    }
  }
  return found;
}

/** Processes that escaped the group (e.g. a new session) but inherited the run marker. */
function killMarked(runId) {
  const killed = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) {
      continue;
    }
    try {
      const environ = readFileSync(`/proc/${entry}/environ`, "utf8");
      if (environ.split("\0").includes(`GOSIDECAR_E2E_RUN=${runId}`)) {
        killed.push(`${entry} ${path.basename(readlinkSync(`/proc/${entry}/exe`))}`);
        process.kill(Number(entry), "SIGKILL");
      }
    } catch {
      // gone or not ours to read
    }
  }
  return killed;
}
