"""`textDocument/inlineCompletion`: the editor's position → the local model → ghost text."""

from __future__ import annotations

import asyncio
import threading

from lsprotocol import types

from .completion import CompletionRequest, CompletionService
from .documents import DocumentStore

# Other open files give the model names and types it cannot see in the current file;
# a couple of them is what fits the token budget.
_EXTRA_CONTEXT_FILES = 2


async def complete_inline(
    service: CompletionService, documents: DocumentStore, params: types.InlineCompletionParams
) -> types.InlineCompletionList | None:
    uri = params.text_document.uri
    doc = documents.get(uri)
    if doc is None:
        return None
    others = [(d.uri, d.text) for d in documents.all() if d.uri != uri and d.language_id == doc.language_id]
    request = CompletionRequest(
        uri, doc.text, params.position.line, params.position.character, others[:_EXTRA_CONTEXT_FILES]
    )
    cancel = threading.Event()
    loop = asyncio.get_running_loop()
    try:
        result = await loop.run_in_executor(None, service.complete, request, cancel)
    except asyncio.CancelledError:  # $/cancelRequest or a newer keystroke
        cancel.set()
        raise
    if not result.text:
        return types.InlineCompletionList(items=[])
    here = types.Range(params.position, params.position)
    return types.InlineCompletionList(items=[types.InlineCompletionItem(insert_text=result.text, range=here)])
