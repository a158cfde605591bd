// The VS Code side of a fix (healthActions.ts's FixEditor): settings, reload, clipboard.
import * as vscode from "vscode";
import type { SettingValue } from "./health";
import type { FixEditor } from "./healthActions";

/** Sets `key` (a full key) where it takes effect: in the workspace when the workspace sets it
 *  (a user value would stay overridden), else in the user's settings. */
export async function updateSetting(key: string, value: SettingValue): Promise<void> {
  const config = vscode.workspace.getConfiguration();
  const inWorkspace = config.inspect(key)?.workspaceValue !== undefined;
  await config.update(key, value, inWorkspace ? vscode.ConfigurationTarget.Workspace : vscode.ConfigurationTarget.Global);
}

export async function offerReload(message: string): Promise<void> {
  const reload = "Reload Window";
  if ((await vscode.window.showInformationMessage(message, reload)) === reload) {
    await vscode.commands.executeCommand("workbench.action.reloadWindow");
  }
}

export const vscodeFixEditor: FixEditor = {
  executeCommand: (command, ...args) => vscode.commands.executeCommand(command, ...args),
  updateSetting,
  offerReload,
  copy: async (text) => {
    await vscode.env.clipboard.writeText(text);
    void vscode.window.showInformationMessage("The fix is on the clipboard.");
  },
};
