// Wiring only: each concern lives in its own module.
import * as vscode from "vscode";
import { updateSetting } from "./editorActions";
import { offerToDisableGoExtensionGopls } from "./goExtension";
import { HealthView } from "./healthView";
import { readManifest } from "./manifest";
import { INLINE_COMPLETION_ACCEPTED_COMMAND, INLINE_COMPLETION_ACCEPTED_METHOD, RESTART_GOPLS_METHOD } from "./protocol";
import { PROCESS_KEYS } from "./settings";
import { Sidecar } from "./sidecarClient";
import { SidecarStatus } from "./statusBar";

const RESTART_GOPLS_TIMEOUT_MS = 60_000;

let sidecar: Sidecar | undefined;

export function activate(context: vscode.ExtensionContext): void {
  const manifest = readManifest(context.extension.packageJSON);
  const section = manifest.section;
  const log = vscode.window.createOutputChannel(manifest.displayName, { log: true });
  sidecar = new Sidecar(context, manifest, log);
  const running = sidecar;
  const config = (): vscode.WorkspaceConfiguration => vscode.workspace.getConfiguration(section);

  const restartGopls = async (): Promise<void> => {
    try {
      await vscode.window.withProgress(
        { location: vscode.ProgressLocation.Notification, title: "Restarting gopls…" },
        () => running.request(RESTART_GOPLS_METHOD, RESTART_GOPLS_TIMEOUT_MS),
      );
    } catch (error) {
      void vscode.window.showErrorMessage(`Go Sidecar could not restart gopls: ${String(error)}`);
    }
  };
  const health = new HealthView(running, manifest, { showLog: () => { log.show(); } });
  const status = new SidecarStatus(running, manifest.commandId("healthCheck"), () =>
    config().get<number>("statusPollSeconds", 5),
  );

  context.subscriptions.push(
    log,
    health,
    status,
    vscode.commands.registerCommand(manifest.commandId("healthCheck"), () => health.show()),
    vscode.commands.registerCommand(manifest.commandId("restartGopls"), restartGopls),
    vscode.commands.registerCommand(manifest.commandId("toggleAi"), () => toggleAi(section)),
    vscode.commands.registerCommand(manifest.commandId("showLog"), () => {
      log.show();
    }),
    vscode.commands.registerCommand(INLINE_COMPLETION_ACCEPTED_COMMAND, () => running.notify(INLINE_COMPLETION_ACCEPTED_METHOD)),
    vscode.workspace.onDidChangeConfiguration((event) => {
      if (PROCESS_KEYS.some((key) => event.affectsConfiguration(`${section}.${key}`))) {
        void running.restartIfPythonChanged();
      } else if (event.affectsConfiguration(section)) {
        void running.notifySettings();
        status.schedule();
      }
    }),
    vscode.workspace.onDidGrantWorkspaceTrust(() => void running.restart()),
  );

  void offerToDisableGoExtensionGopls();
  void running.start();
}

export async function deactivate(): Promise<void> {
  await sidecar?.dispose();
  sidecar = undefined;
}

async function toggleAi(section: string): Promise<void> {
  const key = `${section}.ai.enabled`;
  const enabled = !vscode.workspace.getConfiguration().get<boolean>(key, true);
  await updateSetting(key, enabled);
  void vscode.window.showInformationMessage(`Go Sidecar: AI completions ${enabled ? "on" : "off"}.`);
}
