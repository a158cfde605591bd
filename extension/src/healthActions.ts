// What a Health Check fix button does, from the problem's typed action (health.ts): open or
// set a setting, run a command, or copy the fix when there is nothing to click. The editor
// is passed in (editorActions.ts in VS Code), so the unit tests run this without one.
import type { Problem, SettingValue } from "./health";

/** What a fix may ask of the editor. */
export interface FixEditor {
  executeCommand(command: string, ...args: unknown[]): Thenable<unknown>;
  /** Sets a setting (a full key) where it takes effect. */
  updateSetting(key: string, value: SettingValue): Promise<void>;
  /** Shows `message` with a button that reloads the window. */
  offerReload(message: string): Promise<void>;
  /** Puts `text` on the clipboard and says so. */
  copy(text: string): Promise<void>;
}

/** Carries out the problem's fix; true when it changed something worth a fresh report. */
export async function applyFix(problem: Problem, section: string, editor: FixEditor): Promise<boolean> {
  const action = problem.action;
  if (action === null) {
    await editor.copy(problem.fix);
    return false;
  }
  if (action.kind === "command") {
    await editor.executeCommand(action.command);
    return true;
  }
  if (action.value === null) {
    await editor.executeCommand("workbench.action.openSettings", action.key);
    return false;
  }
  await editor.updateSetting(action.key, action.value);
  if (!action.key.startsWith(`${section}.`)) {
    // Another extension may read its settings only when it starts.
    await editor.offerReload(`${action.key} is now ${JSON.stringify(action.value)}. Reload the window so that the extension it belongs to applies it.`);
  }
  return true;
}
