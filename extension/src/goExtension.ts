// The Go extension (golang.go) starts its own gopls unless `go.useLanguageServer` is
// false; with the sidecar that makes two goplses indexing the same workspace.
import * as vscode from "vscode";
import type { Problem } from "./health";

const GO_EXTENSION_ID = "golang.go";
const DISABLE_LABEL = "Use only the sidecar's gopls";

export function goExtensionRunsGopls(): boolean {
  if (vscode.extensions.getExtension(GO_EXTENSION_ID) === undefined) {
    return false;
  }
  return vscode.workspace.getConfiguration("go").get<boolean>("useLanguageServer", true);
}

export function goExtensionProblem(): Problem | undefined {
  if (!goExtensionRunsGopls()) {
    return undefined;
  }
  return {
    severity: "warning",
    message: "The Go extension (golang.go) also runs gopls: two goplses index this workspace.",
    fix: "Set go.useLanguageServer to false so that only the sidecar's gopls runs.",
  };
}

export async function disableGoExtensionGopls(): Promise<void> {
  await vscode.workspace.getConfiguration("go").update("useLanguageServer", false, vscode.ConfigurationTarget.Global);
  const reload = "Reload Window";
  const choice = await vscode.window.showInformationMessage(
    "go.useLanguageServer is now false. Reload the window so that the Go extension stops its gopls.",
    reload,
  );
  if (choice === reload) {
    await vscode.commands.executeCommand("workbench.action.reloadWindow");
  }
}

/** Offers, once per activation, to turn the Go extension's gopls off. */
export async function offerToDisableGoExtensionGopls(): Promise<void> {
  if (!goExtensionRunsGopls()) {
    return;
  }
  const choice = await vscode.window.showWarningMessage(
    "The Go extension also runs gopls, so two goplses index this workspace. Let the sidecar's gopls be the only one?",
    DISABLE_LABEL,
    "Not now",
  );
  if (choice === DISABLE_LABEL) {
    await disableGoExtensionGopls();
  }
}
