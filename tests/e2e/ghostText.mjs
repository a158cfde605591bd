// Ghost text where VS Code users meet it first: after a member access, with gopls's
// suggestion list open (VS Code then shows only ghost text that extends the selected
// item), and in a file saved with CRLF line ends, after auto-closed `")`.

import { writeFileSync } from "node:fs";
import * as path from "node:path";
import { ghostText, goTo, lineContaining, normalise, openFile, poll } from "./workbench.mjs";

const GHOST_MS = 120_000;

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
  await page.locator(".monaco-editor .view-lines").first().waitFor();
  await page.keyboard.press("End");
  await page.keyboard.press("Enter");
  await page.keyboard.type(text, { delay: 80 });
  const typed = (await lineContaining(page, text)).trim();
  if (!typed.startsWith(text)) {
    throw new Error(`typing did not start a new line: "${typed}"`);
  }
}

async function waitForGhost(page, screenshot, outDir) {
  const ghost = await poll(page, async () => (await ghostText(page)).trim(), GHOST_MS, 1000);
  await page.screenshot({ path: path.join(outDir, screenshot) });
  if (!ghost) {
    throw new Error("no ghost text appeared");
  }
  return ghost;
}

const suggestWidget = (page) => page.locator(".editor-widget.suggest-widget.visible");

/** The label of the suggestion selected in the open list, or "". */
async function selectedSuggestion(page) {
  const row = suggestWidget(page).locator(".monaco-list-row.focused .monaco-icon-label").first();
  return (await row.count()) ? normalise(await row.innerText()).trim().split(/\s/)[0] : "";
}

export async function memberAccessWithSuggestionsOpen(page, outDir) {
  await typeNewLineAfter(page, "queue.go", QUEUE_FRONT_LINE, MEMBER_ACCESS);
  const selected = await poll(page, () => selectedSuggestion(page), 60_000, 500);
  if (!selected) {
    throw new Error("gopls's suggestion list did not open after the member access");
  }
  const ghost = await waitForGhost(page, "ghost-text-member-access.png", outDir);
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
  await page.keyboard.press("Tab");
  const line = await poll(page, async () => {
    const now = (await lineContaining(page, RECEIVER)).trim();
    if (now.length > head.length) {
      return now;
    }
    if ((await ghostText(page)).trim() && !(await suggestWidget(page).count())) {
      await page.keyboard.press("Tab");
    }
    return "";
  }, 15_000, 500);
  await page.screenshot({ path: path.join(outDir, "ghost-text-member-access-accepted.png") });
  if (!line.startsWith(head) || !wellFormed(line)) {
    throw new Error(`line after Tab is "${line}"; selected ${shown.selected}, ghost text "${shown.ghost}"`);
  }
  return `selected ${shown.selected}, line is now: ${line}`;
}

export async function crlfGhostTextReplacesAutoClosed(page, outDir) {
  await typeNewLineAfter(page, "print.go", CRLF_PRINT_LINE, CRLF_PREFIX);
  const eol = normalise(await page.locator(".statusbar-item", { hasText: /^(CRLF|LF)$/ }).first().innerText()).trim();
  if (eol !== "CRLF") {
    throw new Error(`the editor shows ${eol} line ends for a file saved with CRLF`);
  }
  const ghost = await waitForGhost(page, "ghost-text-crlf.png", outDir);
  await page.keyboard.press("Tab");
  const line = await poll(page, async () => {
    const now = (await lineContaining(page, CRLF_PREFIX)).trim();
    return now.length > `${CRLF_PREFIX}")`.length ? now : "";
  }, 15_000, 500);
  await page.screenshot({ path: path.join(outDir, "ghost-text-crlf-accepted.png") });
  if (!line.startsWith(CRLF_PREFIX) || !wellFormed(line)) {
    throw new Error(`line after Tab is "${line}" (ghost text "${ghost}"): the auto-closed ") must not be repeated`);
  }
  return `CRLF file, line is now: ${line}`;
}
