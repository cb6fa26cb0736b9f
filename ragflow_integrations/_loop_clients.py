"""One :class:`AsyncRAGFlow` per running event loop, each closed when its loop shuts down.

Shared by the LangChain and LlamaIndex adapters (which may not import each other). An
``httpx.AsyncClient`` pool cannot move between event loops, so a component used from several
loops (``asyncio.run(component.ainvoke(...))`` in a loop, a notebook after a script) needs a
client per loop, and each must be closed inside its own loop or its sockets leak.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from collections.abc import AsyncGenerator, Callable

from .client import AsyncRAGFlow

logger = logging.getLogger("ragflow_integrations")

__all__ = ["PerLoopAsyncClients"]


class PerLoopAsyncClients:
    """Builds an async client (with ``make``) the first time each running loop asks for one.

    Each client is closed when its loop shuts down its async generators (``asyncio.run`` and
    pytest-asyncio do). A loop closed without that step has its client dropped on the next use
    from another loop: its connections belong to the dead loop and cannot be closed from here.
    """

    def __init__(self, make: Callable[[], AsyncRAGFlow]) -> None:
        self._make = make
        self._clients: dict[asyncio.AbstractEventLoop, _LoopClient] = {}
        self._lock = threading.Lock()

    def get(self, loop: asyncio.AbstractEventLoop) -> AsyncRAGFlow:
        """The client of ``loop`` (the running loop), built on first use."""
        entry = self._clients.get(loop)
        if entry is None:
            with self._lock:
                entry = self._clients.get(loop)
                if entry is None:
                    for old in [old for old in self._clients if old.is_closed()]:
                        del self._clients[old]
                    entry = _LoopClient(self._make())
                    self._clients[loop] = entry
        return entry.client


class _LoopClient:
    """An async client made for one event loop, closed when that loop shuts down.

    The closing is an async generator started here and left suspended: the loop tracks it, and
    ``loop.shutdown_asyncgens()`` (run by ``asyncio.run`` before closing the loop) resumes it
    while the loop still runs, so ``aclose()`` closes the connections in their own loop.
    """

    __slots__ = ("_closer", "client")

    def __init__(self, client: AsyncRAGFlow) -> None:
        self.client = client
        self._closer = _close_at_shutdown(client)
        step = self._closer.asend(None)  # registers it with the running loop; runs to `yield`
        with contextlib.suppress(StopIteration):
            step.send(None)


async def _close_at_shutdown(client: AsyncRAGFlow) -> AsyncGenerator[None, None]:
    try:
        yield
    finally:
        try:
            await client.aclose()
        except Exception:  # best effort at loop shutdown
            logger.debug("could not close a RAGFlow client at event loop shutdown", exc_info=True)
