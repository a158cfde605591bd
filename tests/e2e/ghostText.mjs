// Ghost text where VS Code users meet it first: after a member access, with gopls's
// suggestion list open (VS Code then shows only ghost text that extends the selected
// item), and in a file saved with CRLF line ends, after auto-closed `")`.

import { writeFileSync } from "node:fs";
import * as path from "node:path";
import { acceptedInto, ghostText, goTo, lineContaining, normalise, openFile, poll, SHORT_MS } from "./workbench.mjs";

const GHOST_MS = 120_000;
const SUGGESTIONS_MS = 60_000;

const CHECK_GO = `package inventory

import "errors"

// Check reports an item that has no name or no units left.
func Check(item Item) error {
}
`;
const CHECK_LINE = 6;
// A member access on a bare \`.\`: gopls's list opens on Item's fields (Name first) and
// nothing of an item is typed yet, so ghost text shown while the lower Quantity is
// selected must start with all of it. A sidecar that ignores \`selectedCompletionInfo\`
// completes at the cursor as if nothing were selected; the model's own choice here is not
// Quantity, and VS Code hides a suggestion that does not extend the selected item.
const RECEIVER = "if item.";
const TARGET_ITEM = "Quantity";
const MAX_ARROW_DOWNS = 8;

const CRLF_GO = ["package pricing", "", 'import "fmt"', "", "// Print shows a total in cents.",
  "func Print(total int) {", "}", ""].join("\r\n");
const CRLF_PRINT_LINE = 6;
const CRLF_PREFIX = 'fmt.Println("total';

/** Writes the files the scenarios edit into the workspace, before the workbench opens it. */
export function writeGhostTextFiles(workspace) {
  writeFileSync(path.join(workspace, "inventory/check.go"), CHECK_GO);
  writeFileSync(path.join(workspace, "pricing/print.go"), CRLF_GO);
}

/** Brackets and quotes of a Go line pair up (strings taken as opaque). */
function wellFormed(line) {
  const code = line.replace(/"(?:[^"\\]|\\.)*"/g, '""');
  const count = (c) => code.split(c).length - 1;
  return count('"') % 2 === 0 && count("(") === count(")") && count("[") === count("]");
}

async function typeNewLineAfter(page, file, line, text) {
  await openFile(page, file);
  await goTo(page, String(line));
  await page.keyboard.press("End");
  await page.keyboard.press("Enter");
  await page.keyboard.type(text, { delay: 80 });
  const typed = (await poll(page, () => lineContaining(page, text), SHORT_MS, 250)).trim();
  if (!typed.startsWith(text)) {
    throw new Error(`typing did not start a new line: "${typed}"`);
  }
}

async function waitForGhost(page, screenshot, outDir) {
  const nudge = inlineSuggestNudger(page);
  const ghost = await poll(page, async () => {
    const shown = (await ghostText(page)).trim();
    if (!shown) {
      await nudge();
    }
    return shown;
  }, GHOST_MS, 500);
  await page.screenshot({ path: path.join(outDir, screenshot) });
  if (!ghost) {
    throw new Error(`no ghost text appeared within ${GHOST_MS / 1000} s`);
  }
  return ghost;
}

// A suggestion cut to nothing by the time budget on a loaded machine is not asked again by
// VS Code; asked again, the prompt is found already evaluated. Not more often than this: a
// new request cancels the one in flight, which may need this long on a loaded machine.
const NUDGE_EVERY_MS = 15_000;

/** A function that asks VS Code for inline suggestions again, at most every NUDGE_EVERY_MS. */
export function inlineSuggestNudger(page) {
  let last = Date.now();
  return async () => {
    if (Date.now() - last >= NUDGE_EVERY_MS) {
      last = Date.now();
      await page.keyboard.press("Alt+Backslash"); // editor.action.inlineSuggest.trigger
    }
  };
}

const suggestWidget = (page) => page.locator(".editor-widget.suggest-widget.visible");

/** The label of the suggestion selected in the open list, or "". */
async function selectedSuggestion(page) {
  const row = suggestWidget(page).locator(".monaco-list-row.focused .monaco-icon-label").first();
  return (await row.count()) ? normalise(await row.innerText()).trim().split(/\s/)[0] : "";
}

/**
 * Presses Tab while ghost text shows and no suggestion list would take the key, until the
 * line holding `needle` is longer than `length`. Tab only then: with no ghost text it would
 * insert a tab. Returns the line ("" if it never grew) and the ghost text Tab accepted.
 */
export async function tabAcceptsGhost(page, needle, length, ghost) {
  let accepted = ghost;
  const line = await poll(page, async () => {
    const now = (await lineContaining(page, needle)).trim();
    if (now.length > length) {
      return now;
    }
    const shown = (await ghostText(page)).trim();
    if (shown && !(await suggestWidget(page).count())) {
      accepted = shown;
      await page.keyboard.press("Tab");
      // The next Tab only once this one has taken effect: pressed while the accepted text
      // is still drawn as ghost text, it could land after it as a tab character.
      await poll(page, async () => (await ghostText(page)).trim() !== shown
        || (await lineContaining(page, needle)).trim() !== now, SHORT_MS, 100);
    }
    return "";
  }, GHOST_MS, 500);
  return { line, accepted };
}

/** The editor area from its top down to just below `widget` (the whole page without it). */
async function screenshotEditorDownTo(page, widget, file) {
  const editor = await page.locator(".part.editor").boundingBox();
  const below = await widget.boundingBox().catch(() => null);
  if (editor === null || below === null) {
    await page.screenshot({ path: file });
    return;
  }
  const height = Math.min(editor.height, below.y + below.height + 20 - editor.y);
  await page.screenshot({ path: file, clip: { x: editor.x, y: editor.y, width: editor.width, height } });
}

/**
 * Moves the open list's selection down (arrow keys, as a user does) until `label` is
 * selected; it must not be the top item. Returns the labels passed on the way.
 */
async function selectLowerSuggestion(page, label) {
  const passed = [await poll(page, () => selectedSuggestion(page), SUGGESTIONS_MS, 250)];
  if (!passed[0]) {
    throw new Error("gopls's suggestion list did not open after the member access");
  }
  if (passed[0] === label) {
    throw new Error(`${label} is gopls's top suggestion: the check needs a lower one`);
  }
  while (passed.at(-1) !== label && passed.length <= MAX_ARROW_DOWNS) {
    await page.keyboard.press("ArrowDown");
    const next = await poll(page, async () => {
      const now = await selectedSuggestion(page);
      return now !== passed.at(-1) ? now : "";
    }, SHORT_MS, 100);
    if (!next) {
      throw new Error(`the selection stayed on ${passed.at(-1)} after ArrowDown (list: ${passed.join(", ")})`);
    }
    passed.push(next);
  }
  if (passed.at(-1) !== label) {
    throw new Error(`${label} not among the first suggestions: ${passed.join(", ")}`);
  }
  return passed;
}

/**
 * After \`item.\`, with gopls's list open and a field below the top one selected, ghost text
 * appears that starts with that field (VS Code shows only ghost text that extends the
 * selected item) while the list stays open on it.
 */
export async function memberAccessWithSuggestionsOpen(page, outDir) {
  await typeNewLineAfter(page, "check.go", CHECK_LINE, RECEIVER);
  const passed = await selectLowerSuggestion(page, TARGET_ITEM);
  let last = "";
  const nudge = inlineSuggestNudger(page);
  const ghost = await poll(page, async () => {
    last = (await ghostText(page)).trim();
    if (!last) {
      await nudge();
    }
    return last.startsWith(TARGET_ITEM) && (await selectedSuggestion(page)) === TARGET_ITEM ? last : "";
  }, GHOST_MS, 500);
  await screenshotEditorDownTo(page, suggestWidget(page), path.join(outDir, "ghost-text-member.png"));
  if (!ghost) {
    const now = await selectedSuggestion(page);
    throw new Error(`no ghost text starting with the selected ${TARGET_ITEM} within ${GHOST_MS / 1000} s `
      + `(last ghost text "${last}", selected "${now}", passed ${passed.join(", ")})`);
  }
  return { selected: TARGET_ITEM, passed, ghost };
}

/**
 * Tab takes the selected item (the open list has the key), then the ghost text that
 * extends it: the line holds the selected field, followed by the rest of the ghost text.
 */
export async function tabAcceptsItemAndGhost(page, shown, outDir) {
  if (!shown) {
    throw new Error("no ghost text to accept");
  }
  const head = `${RECEIVER}${shown.selected}`;
  await page.keyboard.press("Tab");
  await suggestWidget(page).waitFor({ state: "detached", timeout: SHORT_MS });
  const { line, accepted } = await tabAcceptsGhost(page, RECEIVER, head.length, shown.ghost.slice(shown.selected.length));
  await page.screenshot({ path: path.join(outDir, "ghost-text-member-accepted.png") });
  if (!line.startsWith(head) || !acceptedInto(line, head, accepted) || !wellFormed(line)) {
    const now = line || (await lineContaining(page, RECEIVER)).trim();
    throw new Error(`line after Tab is "${now}"; selected ${shown.selected}, ghost text "${shown.ghost}", then "${accepted}"`);
  }
  return `selected ${shown.selected}, line is now: ${line}`;
}

export async function crlfGhostTextReplacesAutoClosed(page, outDir) {
  await typeNewLineAfter(page, "print.go", CRLF_PRINT_LINE, CRLF_PREFIX);
  const eol = normalise(await page.locator(".statusbar-item", { hasText: /^(CRLF|LF)$/ }).first().innerText()).trim();
  if (eol !== "CRLF") {
    throw new Error(`the editor shows ${eol} line ends for a file saved with CRLF`);
  }
  const shown = await waitForGhost(page, "ghost-text-crlf.png", outDir);
  const { line, accepted } = await tabAcceptsGhost(page, CRLF_PREFIX, `${CRLF_PREFIX}")`.length, shown);
  await page.screenshot({ path: path.join(outDir, "ghost-text-crlf-accepted.png") });
  if (!acceptedInto(line, CRLF_PREFIX, accepted)) {
    const now = line || (await lineContaining(page, CRLF_PREFIX)).trim();
    throw new Error(`line after Tab is "${now}": the ghost text "${accepted}" was not accepted`);
  }
  if (!wellFormed(line)) {
    throw new Error(`line after Tab is "${line}" (ghost text "${accepted}"): the auto-closed ") must not be repeated`);
  }
  return `CRLF file, line is now: ${line}`;
}
