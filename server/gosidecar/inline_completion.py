"""`textDocument/inlineCompletion`: the editor's position → the local model → ghost text.

A thin adapter: the completion service returns the text and the range it replaces. The
one thing decided here is the editor's suggestion list: while it is open, VS Code shows
ghost text only if it extends the selected item (`selectedCompletionInfo`: the same
range start, a text that starts with the item's). So the model completes the document
as it will be with the item accepted, and the ghost text is the item followed by that.
"""

from __future__ import annotations

import asyncio
import re
import threading
from dataclasses import replace

from lsprotocol import types

from .completion import CompletionService
from .completion.cursor import Edit
from .completion.prefetch import completion_request
from .documents import DocumentStore, offset_at, position_at

# The editor runs an item's command once the user accepts it; the extension's command
# sends `goSidecar/inlineCompletionAccepted` back, which the history counts.
ACCEPTED_COMMAND = types.Command(title="Ghost text accepted", command="goSidecar.inlineCompletionAccepted")
_WORD_JOIN = re.compile(r"\w\w")


async def complete_inline(
    service: CompletionService, documents: DocumentStore, params: types.InlineCompletionParams
) -> types.InlineCompletionList | None:
    # The same request as the KV cache warming builds for this position (same prompt, cache reused).
    request = completion_request(documents, params.text_document.uri, params.position.line, params.position.character)
    if request is None:
        return None
    selected = params.context.selected_completion_info
    if selected is not None:
        text, position = with_item_accepted(request.text, selected)
        request = replace(request, text=text, line=position.line, character=position.character, gopls_text=False)
    cancel = threading.Event()
    loop = asyncio.get_running_loop()
    try:
        result = await loop.run_in_executor(None, service.complete, request, cancel)
    except asyncio.CancelledError:  # $/cancelRequest or a newer keystroke
        cancel.set()
        raise
    edit = result.edit
    if edit is None or not edit.text:
        return types.InlineCompletionList(items=[])
    item = _item(edit) if selected is None else extending_item(selected, edit)
    return types.InlineCompletionList(items=[item] if item is not None else [])


def with_item_accepted(text: str, selected: types.SelectedCompletionInfo) -> tuple[str, types.Position]:
    """The document as it will be once the selected item is accepted, and the cursor after the item."""
    start = offset_at(text, _position(selected.range.start))
    end = offset_at(text, _position(selected.range.end))
    accepted = text[:start] + selected.text + text[end:]
    return accepted, types.Position(*position_at(accepted, start + len(selected.text)))


def extending_item(selected: types.SelectedCompletionInfo, edit: Edit) -> types.InlineCompletionItem | None:
    """The ghost text for `edit`, made in the document with the item accepted, in the real one.

    None when the model went on with the item's own word (`PushBack` → `PushBackList`): the
    user chose that identifier, a different one would be a wrong suggestion.
    """
    if _WORD_JOIN.fullmatch(selected.text[-1:] + edit.text[:1]):
        return None
    # What follows the cursor in that document is what follows the item's range in this one.
    end = selected.range.end
    replaced = types.Position(end.line, end.character + edit.end[1] - edit.start[1])
    return types.InlineCompletionItem(
        insert_text=selected.text + edit.text,
        range=types.Range(selected.range.start, replaced),
        command=ACCEPTED_COMMAND,
    )


def _item(edit: Edit) -> types.InlineCompletionItem:
    return types.InlineCompletionItem(
        insert_text=edit.text,
        range=types.Range(types.Position(*edit.start), types.Position(*edit.end)),
        command=ACCEPTED_COMMAND,
    )


def _position(position: types.Position) -> dict[str, int]:
    return {"line": position.line, "character": position.character}
