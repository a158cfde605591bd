// The Go extension (golang.go) starts its own gopls unless `go.useLanguageServer` is
// false; with the sidecar that makes two goplses indexing the same workspace.
import * as vscode from "vscode";
import type { Problem } from "./health";
import { offerReload, updateSetting } from "./editorActions";

const GO_EXTENSION_ID = "golang.go";
const USE_LANGUAGE_SERVER = "go.useLanguageServer";
const DISABLE_LABEL = "Use only the sidecar's gopls";

export function goExtensionRunsGopls(): boolean {
  if (vscode.extensions.getExtension(GO_EXTENSION_ID) === undefined) {
    return false;
  }
  return vscode.workspace.getConfiguration().get<boolean>(USE_LANGUAGE_SERVER, true);
}

export function goExtensionProblem(): Problem | undefined {
  if (!goExtensionRunsGopls()) {
    return undefined;
  }
  return {
    severity: "warning",
    message: "The Go extension (golang.go) also runs gopls: two goplses index this workspace.",
    fix: "Set go.useLanguageServer to false so that only the sidecar's gopls runs.",
    action: { kind: "setting", key: USE_LANGUAGE_SERVER, value: false },
  };
}

async function disableGoExtensionGopls(): Promise<void> {
  await updateSetting(USE_LANGUAGE_SERVER, false);
  await offerReload(`${USE_LANGUAGE_SERVER} is now false. Reload the window so that the Go extension stops its gopls.`);
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
