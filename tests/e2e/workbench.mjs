// Driving the VS Code workbench in the browser with the selectors that work in
// code-server (see shared/e2e-vscode.md).

export const SHORT_MS = 15_000;

export async function waitForWorkbench(page, fileName, timeoutMs) {
  await page.locator(`.explorer-folders-view .monaco-list-row[aria-label*="${fileName}"]`).first()
    .waitFor({ timeout: timeoutMs });
}

async function quickInput(page, key, text) {
  await page.keyboard.press(key);
  const input = page.locator(".quick-input-widget input");
  await input.waitFor({ state: "visible", timeout: SHORT_MS });
  await input.fill(text);
}

export async function openFile(page, fileName) {
  const tab = page.locator(`.tabs-container .tab[aria-label*="${fileName}"]`).first();
  if (await tab.count()) {
    // A click, not Ctrl+P: keys typed while a webview has focus never reach the workbench.
    await tab.click();
    await page.locator(".monaco-editor .view-lines").first().click();
    return;
  }
  await quickInput(page, "Control+P", fileName);
  await page.locator(`.quick-input-widget .monaco-list-row[aria-label*="${fileName}"]`).first()
    .waitFor({ timeout: SHORT_MS });
  await page.keyboard.press("Enter");
  await page.locator(`.tabs-container .tab.active[aria-label*="${fileName}"]`).waitFor({ timeout: SHORT_MS });
  await page.locator(".monaco-editor .view-lines").first().click();
}

export async function runCommand(page, title) {
  await quickInput(page, "F1", `>${title}`);
  await page.locator(`.quick-input-widget .monaco-list-row[aria-label*="${title}"]`).first()
    .waitFor({ timeout: SHORT_MS });
  await page.keyboard.press("Enter");
}

/** Moves the cursor with "Go to Line/Column" (Ctrl+G): `where` is "14:22" or "18". */
export async function goTo(page, where) {
  await quickInput(page, "Control+G", `:${where}`);
  await page.keyboard.press("Enter");
}

export function normalise(text) {
  return text.replace(/\u00a0/g, " ");
}

/** The text of the status bar item whose text matches `pattern`, or "". */
export async function statusItemText(page, pattern) {
  const item = page.locator(".statusbar-item", { hasText: pattern }).first();
  return (await item.count()) === 0 ? "" : normalise(await item.innerText());
}

/** The frame whose document contains `selector` (webviews are nested iframes). */
export async function findFrame(page, selector, timeoutMs) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    for (const frame of page.frames()) {
      if (await frame.locator(selector).count().catch(() => 0)) {
        return frame;
      }
    }
    await page.waitForTimeout(500);
  }
  throw new Error(`no frame shows ${selector} within ${timeoutMs / 1000} s`);
}

export async function ghostText(page) {
  const parts = await page.locator(".monaco-editor .ghost-text-decoration, .monaco-editor .ghost-text-decoration-preview")
    .allTextContents();
  return normalise(parts.join(""));
}

/** The text of the editor line that contains `needle`, or "". */
export async function lineContaining(page, needle) {
  for (const text of await page.locator(".monaco-editor .view-lines .view-line").allInnerTexts()) {
    if (normalise(text).includes(needle)) {
      return normalise(text);
    }
  }
  return "";
}

/** Polls `probe` until it returns a truthy value or the time is up. */
export async function poll(page, probe, timeoutMs, intervalMs = 1000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value) {
      return value;
    }
    if (Date.now() >= deadline) {
      return value;
    }
    await page.waitForTimeout(intervalMs);
  }
}
