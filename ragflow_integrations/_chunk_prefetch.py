"""Documents with their chunks, the chunk requests of the next documents sent ahead (private).

Shared by the async paths of the LangChain loader and the LlamaIndex reader. Reading a dataset
back costs one chunk request (or more) per document; one after another, 300 documents at 20 ms
of latency take over 6 s. Here the first page of chunks of up to :data:`ASYNC_WINDOW` following
documents is requested while the current one is read. Documents come out in their listing
order, and memory stays bounded: at most one page (:data:`CHUNK_PAGE` chunks) per document
ahead, whatever the size of the dataset or of a document (a document's later pages are fetched
as it is read).

The sync paths read one document after another: a thread pool would overlap them too, but
``requests``-level tools such as vcrpy (cassette replay) are not thread-safe, and users of the
sync API get the overlap from ``alazy_load`` / ``aload_data``.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import AsyncIterable, AsyncIterator

from . import AsyncChunk, AsyncDocument

__all__ = ["ASYNC_WINDOW", "CHUNK_PAGE", "adocuments_with_chunks"]

CHUNK_PAGE = 100
"""Chunks per request (RAGFlow's page size cap)."""
ASYNC_WINDOW = 16
"""Documents whose first chunk page is requested ahead."""


async def adocuments_with_chunks(
    documents: AsyncIterable[AsyncDocument], *, window: int | None = None
) -> AsyncIterator[tuple[AsyncDocument, AsyncIterator[AsyncChunk]]]:
    """Each document with an async iterator over its chunks, in order, with the first chunk page
    of up to ``window`` (default :data:`ASYNC_WINDOW`) following documents requested ahead (tasks
    of the running loop, cancelled when the caller stops early)."""
    window = max(1, ASYNC_WINDOW if window is None else window)
    ahead: deque[tuple[AsyncDocument, asyncio.Task[list[AsyncChunk]]]] = deque()
    try:
        async for document in documents:
            first = asyncio.ensure_future(document.list_chunks(offset=1, limit=CHUNK_PAGE))
            ahead.append((document, first))
            if len(ahead) > window:
                current, task = ahead.popleft()
                yield current, _apages(current, await task)
        while ahead:
            current, task = ahead.popleft()
            yield current, _apages(current, await task)
    finally:  # also when the caller stops early or a request failed: no task left running
        for _, pending in ahead:
            pending.cancel()
        await asyncio.gather(*(pending for _, pending in ahead), return_exceptions=True)


async def _apages(document: AsyncDocument, first: list[AsyncChunk]) -> AsyncIterator[AsyncChunk]:
    page = first
    offset = 1
    while True:
        for chunk in page:
            yield chunk
        if len(page) < CHUNK_PAGE:
            return
        offset += CHUNK_PAGE
        page = await document.list_chunks(offset=offset, limit=CHUNK_PAGE)
