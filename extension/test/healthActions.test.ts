// A fix button's click, from the problem's typed action, against a recording editor.
import assert from "node:assert/strict";
import { test } from "node:test";
import type { Problem, ProblemAction, SettingValue } from "../src/health";
import { applyFix, type FixEditor } from "../src/healthActions";

class RecordingEditor implements FixEditor {
  readonly calls: unknown[][] = [];

  executeCommand(command: string, ...args: unknown[]): Promise<unknown> {
    this.calls.push(["executeCommand", command, ...args]);
    return Promise.resolve(undefined);
  }

  updateSetting(key: string, value: SettingValue): Promise<void> {
    this.calls.push(["updateSetting", key, value]);
    return Promise.resolve();
  }

  offerReload(message: string): Promise<void> {
    this.calls.push(["offerReload", message]);
    return Promise.resolve();
  }

  copy(text: string): Promise<void> {
    this.calls.push(["copy", text]);
    return Promise.resolve();
  }
}

/** What clicking the fix of a problem with `action` asks of the editor, and whether the page refreshes. */
async function click(action: ProblemAction | null): Promise<{ calls: unknown[][]; refresh: boolean }> {
  // The fix names a different setting and command: only the action decides.
  const problem: Problem = { severity: "error", message: "m", fix: "Run Go: Restart gopls or raise goSidecar.x.y", action };
  const editor = new RecordingEditor();
  const refresh = await applyFix(problem, "goSidecar", editor);
  return { calls: editor.calls, refresh };
}

test("a command action runs that command, and the page refreshes", async () => {
  assert.deepEqual(await click({ kind: "command", command: "goSidecar.restartGopls", title: "Restart gopls" }),
    { calls: [["executeCommand", "goSidecar.restartGopls"]], refresh: true });
});

test("a setting action without a value opens the setting", async () => {
  assert.deepEqual(await click({ kind: "setting", key: "goSidecar.gopls.path", value: null }),
    { calls: [["executeCommand", "workbench.action.openSettings", "goSidecar.gopls.path"]], refresh: false });
});

test("a setting action with a suggested value sets it; the sidecar takes its own settings live", async () => {
  assert.deepEqual(await click({ kind: "setting", key: "goSidecar.memory.limitMB", value: 4096 }),
    { calls: [["updateSetting", "goSidecar.memory.limitMB", 4096]], refresh: true });
  assert.deepEqual(await click({ kind: "setting", key: "goSidecar.ai.modelPath", value: "" }),
    { calls: [["updateSetting", "goSidecar.ai.modelPath", ""]], refresh: true });
});

test("another extension's setting is set, then a reload is offered", async () => {
  const { calls, refresh } = await click({ kind: "setting", key: "go.useLanguageServer", value: false });
  const [update, reload, ...more] = calls;
  assert.deepEqual(update, ["updateSetting", "go.useLanguageServer", false]);
  assert.equal(reload?.[0], "offerReload");
  assert.match(String(reload[1]), /^go\.useLanguageServer is now false\. Reload the window/);
  assert.deepEqual(more, []);
  assert.ok(refresh);
});

test("no action: the fix text is copied", async () => {
  assert.deepEqual(await click(null), { calls: [["copy", "Run Go: Restart gopls or raise goSidecar.x.y"]], refresh: false });
});
