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

/**
 * Moves the cursor with "Go to Line/Column" (Ctrl+G): `where` is "14:22" or "18". Returns
 * once the quick input has closed, so that keys typed next go to the editor.
 */
export async function goTo(page, where) {
  await quickInput(page, "Control+G", `:${where}`);
  await page.keyboard.press("Enter");
  await page.locator(".quick-input-widget").waitFor({ state: "hidden", timeout: SHORT_MS });
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

const GHOST_TEXT = ".ghost-text-decoration, .ghost-text-decoration-preview";

export async function ghostText(page) {
  const parts = await page.locator(`.monaco-editor :is(${GHOST_TEXT})`).allTextContents();
  return normalise(parts.join(""));
}

/**
 * The text of the editor line that contains `needle`, or "". Ghost text is left out: it is
 * drawn inside the line, so with it a suggestion not yet accepted would read as accepted.
 */
export async function lineContaining(page, needle) {
  const lines = await page.locator(".monaco-editor .view-lines .view-line").evaluateAll((nodes, ghostText) => nodes.map((node) => {
    const copy = node.cloneNode(true);
    copy.querySelectorAll(ghostText).forEach((ghost) => ghost.remove());
    return copy.textContent ?? "";
  }), GHOST_TEXT);
  return lines.map(normalise).find((text) => text.includes(needle)) ?? "";
}

/**
 * Whether the ghost text `shown` went into `line` after `typed`. Ghost text that replaces
 * auto-closed characters is drawn around them, so it must appear in order, not in one piece;
 * a Tab typed as a character instead of accepting the ghost text does not count.
 */
export function acceptedInto(line, typed, shown) {
  const wanted = shown.split("\n")[0].replace(/\s+/g, "");
  const trimmed = line.trim();
  if (!trimmed.startsWith(typed) || !wanted) {
    return false;
  }
  let at = 0;
  for (const char of trimmed.slice(typed.length).replace(/\s+/g, "")) {
    if (at < wanted.length && char === wanted[at]) {
      at += 1;
    }
  }
  return at === wanted.length;
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
