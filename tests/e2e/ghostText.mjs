// Ghost text where VS Code users meet it first: after a member access, with gopls's
// suggestion list open (VS Code then shows only ghost text that extends the selected
// item), and in a file saved with CRLF line ends, after auto-closed `")`.

import { writeFileSync } from "node:fs";
import * as path from "node:path";
import { acceptedInto, ghostText, goTo, lineContaining, normalise, openFile, poll, SHORT_MS } from "./workbench.mjs";

const GHOST_MS = 120_000;
const SUGGESTIONS_MS = 60_000;

const QUEUE_GO = `package inventory

import "container/list"

// Queue keeps items in the order they arrive.
type Queue struct {
\titems *list.List
}

// NewQueue returns an empty queue.
func NewQueue() *Queue {
\treturn &Queue{items: list.New()}
}

// Front returns the item at the front of the queue.
func (q *Queue) Front() Item {
}
`;
const QUEUE_FRONT_LINE = 16;
// A field: gopls's item is plain text. For a call (`PushBack`) the item is the snippet
// `PushBack($1)`, which VS Code passes as `PushBack()`: ghost text must start with that,
// so the arguments come as ghost text once Tab has accepted the item.
const MEMBER_ACCESS = "return q.items.Front().Val";
const RECEIVER = "q.items.Front().";

const CRLF_GO = ["package pricing", "", 'import "fmt"', "", "// Print shows a total in cents.",
  "func Print(total int) {", "}", ""].join("\r\n");
const CRLF_PRINT_LINE = 6;
const CRLF_PREFIX = 'fmt.Println("total';

/** Writes the files the scenarios edit into the workspace, before the workbench opens it. */
export function writeGhostTextFiles(workspace) {
  writeFileSync(path.join(workspace, "inventory/queue.go"), QUEUE_GO);
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
  const ghost = await poll(page, async () => (await ghostText(page)).trim(), GHOST_MS, 1000);
  await page.screenshot({ path: path.join(outDir, screenshot) });
  if (!ghost) {
    throw new Error(`no ghost text appeared within ${GHOST_MS / 1000} s`);
  }
  return ghost;
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
    }
    return "";
  }, GHOST_MS, 500);
  return { line, accepted };
}

export async function memberAccessWithSuggestionsOpen(page, outDir) {
  await typeNewLineAfter(page, "queue.go", QUEUE_FRONT_LINE, MEMBER_ACCESS);
  const selected = await poll(page, () => selectedSuggestion(page), SUGGESTIONS_MS, 500);
  if (!selected) {
    throw new Error("gopls's suggestion list did not open after the member access");
  }
  const ghost = await waitForGhost(page, "ghost-text-member.png", outDir);
  if (!(await suggestWidget(page).count())) {
    throw new Error(`the suggestion list closed before the ghost text "${ghost}" appeared`);
  }
  return { selected, ghost };
}

/** Tab accepts the selected item and the ghost text (a second Tab if the first took only the item). */
export async function tabAcceptsItemAndGhost(page, shown, outDir) {
  if (!shown) {
    throw new Error("no ghost text to accept");
  }
  const head = `return ${RECEIVER}${shown.selected}`;
  // The open list has the Tab key: the first Tab takes its item; the ghost text that then
  // extends the line is taken by a second Tab once the list has closed.
  await page.keyboard.press("Tab");
  const { line, accepted } = await tabAcceptsGhost(page, RECEIVER, head.length, shown.ghost);
  await page.screenshot({ path: path.join(outDir, "ghost-text-member-accepted.png") });
  if (!line.startsWith(head) || !acceptedInto(line, MEMBER_ACCESS, accepted) || !wellFormed(line)) {
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
