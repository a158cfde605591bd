// Starts and stops the sidecar (`python -m gosidecar serve`) through the language client:
// restarts are serialised, crashes restart it a bounded number of times. The sidecar runs
// in a private working directory with interpreter flags that keep the opened folder off
// its import path, and in an untrusted workspace gopls reads only user-level settings.
import { mkdir } from "node:fs/promises";
import * as path from "node:path";
import * as vscode from "vscode";
import {
  CloseAction,
  type CloseHandlerResult,
  type ConfigurationItem,
  type ConfigurationParams,
  type ConfigurationRequest,
  DidChangeConfigurationNotification,
  ErrorAction,
  type ErrorHandlerResult,
  LanguageClient,
  type LanguageClientOptions,
  type ServerOptions,
  State,
} from "vscode-languageclient/node";
import { findBundledEnv, installBundledEnv } from "./bundledEnv";
import { CrashPolicy } from "./crashPolicy";
import { atLeast, formatVersion, probePython, type PythonVersion, type SidecarPython, sidecarInterpreterFlags } from "./python";
import type { Manifest } from "./manifest";
import { sidecarSettings } from "./settings";
import { splitSection, userLevelValue } from "./userLevelConfiguration";

const MINIMUM_PYTHON: PythonVersion = { major: 3, minor: 10, micro: 0 };

export type SidecarState = { kind: "starting" } | { kind: "running" } | { kind: "stopped"; reason: string };

const MAX_CRASHES = 4;
const CRASH_WINDOW_MS = 3 * 60_000;
const STOP_TIMEOUT_MS = 2000;
const DOCUMENT_LANGUAGES = ["go", "go.mod", "go.sum", "go.work"];

export class Sidecar implements vscode.Disposable {
  private client: LanguageClient | undefined;
  private python: SidecarPython | undefined;
  private queue: Promise<unknown> = Promise.resolve();
  private readonly crashPolicy = new CrashPolicy(MAX_CRASHES, CRASH_WINDOW_MS);
  private readonly stateEmitter = new vscode.EventEmitter<SidecarState>();
  readonly onDidChangeState = this.stateEmitter.event;
  state: SidecarState = { kind: "stopped", reason: "not started yet" };

  constructor(
    private readonly context: vscode.ExtensionContext,
    private readonly manifest: Manifest,
    private readonly log: vscode.LogOutputChannel,
  ) {}

  start(): Promise<void> {
    return this.enqueue(() => this.startNow());
  }

  restart(): Promise<void> {
    return this.enqueue(async () => {
      await this.stopNow();
      await this.startNow();
    });
  }

  /** After a change of the interpreter setting: a new process only if the Python differs. */
  restartIfPythonChanged(): Promise<void> {
    return this.enqueue(async () => {
      if (this.client !== undefined && (await this.resolvePython()).path === this.python?.path) {
        return;
      }
      await this.stopNow();
      await this.startNow();
    });
  }

  /** Sends the current settings as workspace/didChangeConfiguration. */
  async notifySettings(): Promise<void> {
    if (this.client?.isRunning() !== true) {
      return;
    }
    await this.client.sendNotification(DidChangeConfigurationNotification.type, {
      settings: { [this.manifest.section]: this.settings() },
    });
  }

  /** A sidecar notification without params; dropped while the sidecar is not running. */
  async notify(method: string): Promise<void> {
    if (this.client?.isRunning() === true) {
      await this.client.sendNotification(method, {});
    }
  }

  /** A sidecar request without params, rejected after `timeoutMs`. */
  async request<R>(method: string, timeoutMs: number): Promise<R> {
    const client = this.client;
    if (client?.isRunning() !== true) {
      throw new Error(this.state.kind === "stopped" ? this.state.reason : "the sidecar is starting");
    }
    const tokenSource = new vscode.CancellationTokenSource();
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        tokenSource.cancel();
        reject(new Error(`${method} got no answer within ${timeoutMs / 1000} s`));
      }, timeoutMs);
    });
    try {
      // `{}` rather than no params: pygls 2.1.1 cannot parse a request without "params".
      return await Promise.race([client.sendRequest<R>(method, {}, tokenSource.token), timeout]);
    } finally {
      clearTimeout(timer);
      tokenSource.dispose();
    }
  }

  async dispose(): Promise<void> {
    await this.enqueue(() => this.stopNow());
    this.stateEmitter.dispose();
  }

  private enqueue<T>(task: () => Promise<T>): Promise<T> {
    const next = this.queue.then(task, task);
    this.queue = next.catch(() => undefined);
    return next;
  }

  private setState(state: SidecarState): void {
    this.state = state;
    this.stateEmitter.fire(state);
  }

  private settings(): Record<string, unknown> {
    const config = vscode.workspace.getConfiguration(this.manifest.section);
    return sidecarSettings(this.manifest.settingKeys, (key) => config.get(key));
  }

  private async startNow(): Promise<void> {
    this.setState({ kind: "starting" });
    try {
      this.python = await this.resolvePython();
      this.client = this.createClient(this.python, await this.privateWorkingDirectory());
      this.client.onDidChangeState((event) => {
        this.onClientState(event.newState);
      });
      await this.client.start();
      this.crashPolicy.reset();
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      this.log.error(`the sidecar did not start: ${reason}`);
      this.setState({ kind: "stopped", reason });
      void this.offerLog(`Go Sidecar did not start: ${reason}`);
    }
  }

  private async stopNow(): Promise<void> {
    const client = this.client;
    this.client = undefined;
    if (client === undefined) {
      return;
    }
    try {
      await client.stop(STOP_TIMEOUT_MS);
    } catch (error) {
      this.log.warn(`the sidecar did not stop cleanly: ${String(error)}`);
    }
    await client.dispose(STOP_TIMEOUT_MS).catch(() => undefined);
    this.setState({ kind: "stopped", reason: "stopped" });
  }

  private onClientState(state: State): void {
    if (state === State.Running) {
      this.setState({ kind: "running" });
    } else if (state === State.Starting) {
      this.setState({ kind: "starting" });
    } else if (this.state.kind !== "stopped") {
      this.setState({ kind: "stopped", reason: "the sidecar stopped" });
    }
  }

  /**
   * The sidecar's working directory: never the workspace, where `python -m` would import
   * a committed `gosidecar/` or `json.py` in place of ours (Python 3.10 has no `-P`).
   */
  private async privateWorkingDirectory(): Promise<string> {
    const dir = path.join(this.context.globalStorageUri.fsPath, "sidecar-cwd");
    await mkdir(dir, { recursive: true });
    return dir;
  }

  private async resolvePython(): Promise<SidecarPython> {
    const configured = vscode.workspace.getConfiguration(this.manifest.section).get<string>("python", "").trim();
    if (configured !== "") {
      const version = await probePython(configured);
      if (version === undefined || !atLeast(version, MINIMUM_PYTHON)) {
        const found = version === undefined ? "not a working Python" : `Python ${formatVersion(version)}`;
        throw new Error(`goSidecar.python (${configured}) is ${found}; the sidecar needs Python >= 3.10`);
      }
      return { kind: "configured", path: configured, version };
    }
    return { kind: "bundled", path: await this.bundledPython() };
  }

  private async bundledPython(): Promise<string> {
    const wheelsDir = path.join(this.context.extensionPath, "out", "wheels");
    const storageDir = this.context.globalStorageUri.fsPath;
    const ready = await findBundledEnv(wheelsDir, storageDir, this.manifest.version);
    if (ready !== undefined) {
      return ready;
    }
    return vscode.window.withProgress(
      {
        location: vscode.ProgressLocation.Notification,
        title: "Go Sidecar: installing its Python environment from the extension (first start only)",
      },
      (progress) =>
        installBundledEnv({
          wheelsDir,
          storageDir,
          version: this.manifest.version,
          report: (message) => {
            progress.report({ message });
          },
          log: (line) => {
            this.log.info(line);
          },
        }),
    );
  }

  private createClient(python: SidecarPython, cwd: string): LanguageClient {
    const args = [...sidecarInterpreterFlags(python), "-m", "gosidecar", "serve"];
    this.log.info(`starting the sidecar: ${python.path} ${args.join(" ")} (in ${cwd})`);
    // gopls learns the workspace from rootUri and workspaceFolders, not from a directory.
    const serverOptions: ServerOptions = { command: python.path, args, options: { cwd } };
    const clientOptions: LanguageClientOptions = {
      documentSelector: DOCUMENT_LANGUAGES.flatMap((language) => [
        { scheme: "file", language },
        { scheme: "untitled", language },
      ]),
      // A function, so that a restart after a crash sends the settings of that moment.
      initializationOptions: () => this.settings(),
      outputChannel: this.log,
      middleware: {
        workspace: {
          configuration: (params, token, next) => this.answerConfiguration(params, token, next),
        },
      },
      initializationFailedHandler: (error) => {
        this.log.error(`the sidecar failed to initialize: ${String(error)}`);
        return false;
      },
      errorHandler: {
        error: (error, _message, count): ErrorHandlerResult => {
          this.log.error(`sidecar connection error: ${error.message}`);
          return { action: (count ?? 0) <= 3 ? ErrorAction.Continue : ErrorAction.Shutdown, handled: true };
        },
        closed: (): CloseHandlerResult => this.onCrash(),
      },
    };
    return new LanguageClient(this.manifest.section, this.manifest.displayName, serverOptions, clientOptions);
  }

  /**
   * gopls's `workspace/configuration` (relayed by the sidecar). In an untrusted workspace
   * the answer holds only user and machine values: a folder's `gopls` settings can run
   * programs (`build.env` GOFLAGS=-toolexec, CC). Granting trust restarts the sidecar, and
   * the new gopls asks again and gets everything.
   */
  private answerConfiguration(
    params: ConfigurationParams,
    token: vscode.CancellationToken,
    next: ConfigurationRequest.HandlerSignature,
  ): ReturnType<ConfigurationRequest.HandlerSignature> {
    if (vscode.workspace.isTrusted) {
      return next(params, token);
    }
    const sections = params.items.map((item) => item.section ?? "(all)").join(", ");
    this.log.info(`untrusted workspace: gopls gets only user-level settings for ${sections}`);
    return params.items.map(userLevelConfiguration);
  }

  private onCrash(): CloseHandlerResult {
    const restart = this.crashPolicy.recordCrash(Date.now());
    const crashes = this.crashPolicy.recentCrashes;
    if (restart) {
      this.log.warn(`the sidecar stopped unexpectedly; restart ${crashes} of ${MAX_CRASHES}`);
      void vscode.window.showWarningMessage(
        `The Go sidecar stopped unexpectedly and was restarted (${crashes} of ${MAX_CRASHES} restarts allowed in 3 minutes).`,
      );
      return { action: CloseAction.Restart, handled: true };
    }
    const reason = `the sidecar crashed ${crashes} times in 3 minutes and was not restarted`;
    this.log.error(reason);
    this.setState({ kind: "stopped", reason });
    void this.offerLog(`Go Sidecar: ${reason}. The log tells why.`);
    return { action: CloseAction.DoNotRestart, handled: true };
  }

  private async offerLog(message: string): Promise<void> {
    const showLog = "Show Sidecar Log";
    const restart = "Restart Sidecar";
    const choice = await vscode.window.showErrorMessage(message, showLog, restart);
    if (choice === showLog) {
      this.log.show();
    } else if (choice === restart) {
      await this.restart();
    }
  }
}

/** One item of a configuration answer without the workspace's levels; null for "everything". */
function userLevelConfiguration(item: ConfigurationItem): unknown {
  // Checked for falsiness: the JSON may carry null where the type says undefined.
  if (!item.section) {
    return null;
  }
  const { parent, key } = splitSection(item.section);
  const scope = item.scopeUri ? vscode.Uri.parse(item.scopeUri) : undefined;
  return userLevelValue(vscode.workspace.getConfiguration(parent, scope).inspect(key));
}
