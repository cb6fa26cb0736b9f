"""Memories: create, list, read, update and delete them (``/memories``, RAGFlow v0.24+).

Operations; :class:`Memory` / :class:`AsyncMemory` (their message methods come from
``messages.py``); the client methods :class:`Memories` / :class:`AsyncMemories`. On a server
without memories (RAGFlow before v0.24) every method raises :class:`RouteNotFoundError` saying so.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator, Mapping, Sequence
from typing import Any

from pydantic import Field

from ..._base_client import AsyncAPIClient, SyncAPIClient
from ..._core.ops import Context, Op, as_id_list, call, merge_update, object_of, seg
from ..._core.paging import page_window
from ..._models import _Model
from .messages import (
    AsyncMemoryMessageMethods,
    MemoryMessageMethods,
    _text,
    needs_memories,
    walk_pages,
)

# ----------------------------------------------------------------------------------------------
# operations
# ----------------------------------------------------------------------------------------------


def create_memory(
    ctx: Context, name: str, memory_type: Sequence[str], embd_id: str, llm_id: str
) -> Op:
    body = {
        "name": _text(name, "name"),
        "memory_type": as_id_list(memory_type, "memory_type", "memory type"),
        "embd_id": _text(embd_id, "embd_id"),
        "llm_id": _text(llm_id, "llm_id"),
    }
    response = yield call("POST", "/memories", json=body)
    return ctx.wrap("memory", object_of(response, "the created memory"))


def _memory_page(data: Any) -> tuple[Any, Any]:
    data = data if isinstance(data, Mapping) else {}
    return data.get("memory_list"), data.get("total_count")


def walk_memories(
    ctx: Context,
    offset: int = 1,
    limit: int | None = None,
    memory_type: Sequence[str] | None = None,
    storage_type: str | None = None,
    keywords: str | None = None,
) -> Op:
    types = as_id_list(memory_type, "memory_type", "memory type") if memory_type else None
    params = {
        "memory_type": ",".join(types) if types else None,  # the server reads one value
        "storage_type": storage_type,
        "keywords": keywords,
    }
    return (yield from walk_pages(ctx, "memory", "/memories", params, _memory_page, offset, limit))


def get_memory(ctx: Context, memory_id: str) -> Op:
    response = yield call("GET", f"/memories/{seg(memory_id, 'memory_id')}/config")
    return ctx.wrap("memory", object_of(response, "a memory"))


def update_memory(memory_id: str, update_message: Mapping[str, Any]) -> Op:
    body = merge_update(update_message)
    if not body:
        return {}
    response = yield call("PUT", f"/memories/{seg(memory_id, 'memory_id')}", json=body)
    data = object_of(response, "the updated memory")
    # an update answers without the owner's name: keep the one the object has
    return {k: v for k, v in data.items() if not (k == "owner_name" and v is None)}


def delete_memory(memory_id: str) -> Op:
    yield call("DELETE", f"/memories/{seg(memory_id, 'memory_id')}")


# ----------------------------------------------------------------------------------------------
# objects
# ----------------------------------------------------------------------------------------------


class _MemoryFields(_Model):
    id: str = ""
    name: str = ""
    avatar: str | None = None
    tenant_id: str | None = None
    owner_name: str | None = None
    memory_type: list[str] = Field(default_factory=lambda: ["raw"])
    storage_type: str | None = "table"
    embd_id: str | None = ""
    llm_id: str | None = ""
    permissions: str | None = "me"
    description: str | None = None
    memory_size: int | None = None
    forgetting_policy: str | None = "FIFO"
    temperature: float | None = None
    system_prompt: str | None = None
    user_prompt: str | None = None
    create_time: Any = None
    update_time: Any = None


class Memory(_MemoryFields, MemoryMessageMethods):
    """A memory: a store of conversation turns with search, recent messages and forgetting."""

    def update(self, update_message: Mapping[str, Any]) -> Memory:
        """Change settings (``name``, ``description``, ``memory_size``, ``temperature``,
        ``permissions``, ``system_prompt``, ``user_prompt`` …); refreshes and returns self."""
        self._merge(self._c._run(needs_memories(update_memory(self.id, update_message))))
        return self

    def delete(self) -> None:
        """Delete this memory and its messages."""
        self._c.delete_memory(self.id)


class AsyncMemory(_MemoryFields, AsyncMemoryMessageMethods):
    """Async twin of :class:`Memory`."""

    async def update(self, update_message: Mapping[str, Any]) -> AsyncMemory:
        """Change settings; refreshes and returns self."""
        self._merge(await self._c._run(needs_memories(update_memory(self.id, update_message))))
        return self

    async def delete(self) -> None:
        """Delete this memory and its messages."""
        await self._c.delete_memory(self.id)


# ----------------------------------------------------------------------------------------------
# client methods
# ----------------------------------------------------------------------------------------------


class Memories(SyncAPIClient):
    """``RAGFlow``'s memory methods (RAGFlow v0.24+)."""

    def create_memory(
        self, name: str, memory_type: Sequence[str], embd_id: str, llm_id: str
    ) -> Memory:
        """Create a memory. ``memory_type``: some of ``raw``, ``semantic``, ``episodic``,
        ``procedural``; ``embd_id`` / ``llm_id``: the models that embed and extract (a taken name
        gets ``(1)`` appended)."""
        op = create_memory(self, name, memory_type, embd_id, llm_id)
        memory: Memory = self._run(needs_memories(op))
        return memory

    def list_memories(
        self,
        page: int = 1,
        page_size: int = 30,
        memory_type: Sequence[str] | None = None,
        storage_type: str | None = None,
        keywords: str | None = None,
    ) -> list[Memory]:
        """Page ``page`` of memories, most recently updated first (``memory_type``: having any
        of these types; ``keywords``: part of the name)."""
        offset, limit = page_window(page, page_size)
        op = walk_memories(self, offset, limit, memory_type, storage_type, keywords)
        return self._collect(needs_memories(op))

    def iter_memories(
        self,
        memory_type: Sequence[str] | None = None,
        storage_type: str | None = None,
        keywords: str | None = None,
    ) -> Iterator[Memory]:
        """Every memory, lazily (filters as :meth:`list_memories`)."""
        op = walk_memories(self, 1, None, memory_type, storage_type, keywords)
        return self._iterate(needs_memories(op))

    def get_memory(self, memory_id: str) -> Memory:
        """One memory with its settings (``GET /memories/{id}/config``)."""
        memory: Memory = self._run(needs_memories(get_memory(self, memory_id)))
        return memory

    def delete_memory(self, memory_id: str) -> None:
        """Delete a memory and its messages."""
        self._run(needs_memories(delete_memory(memory_id)))


class AsyncMemories(AsyncAPIClient):
    """``AsyncRAGFlow``'s memory methods (RAGFlow v0.24+)."""

    async def create_memory(
        self, name: str, memory_type: Sequence[str], embd_id: str, llm_id: str
    ) -> AsyncMemory:
        """Create a memory (see :meth:`RAGFlow.create_memory`)."""
        op = create_memory(self, name, memory_type, embd_id, llm_id)
        memory: AsyncMemory = await self._run(needs_memories(op))
        return memory

    async def list_memories(
        self,
        page: int = 1,
        page_size: int = 30,
        memory_type: Sequence[str] | None = None,
        storage_type: str | None = None,
        keywords: str | None = None,
    ) -> list[AsyncMemory]:
        """Page ``page`` of memories, most recently updated first."""
        offset, limit = page_window(page, page_size)
        op = walk_memories(self, offset, limit, memory_type, storage_type, keywords)
        return await self._collect(needs_memories(op))

    def iter_memories(
        self,
        memory_type: Sequence[str] | None = None,
        storage_type: str | None = None,
        keywords: str | None = None,
    ) -> AsyncIterator[AsyncMemory]:
        """Every memory, lazily."""
        op = walk_memories(self, 1, None, memory_type, storage_type, keywords)
        return self._iterate(needs_memories(op))

    async def get_memory(self, memory_id: str) -> AsyncMemory:
        """One memory with its settings (``GET /memories/{id}/config``)."""
        memory: AsyncMemory = await self._run(needs_memories(get_memory(self, memory_id)))
        return memory

    async def delete_memory(self, memory_id: str) -> None:
        """Delete a memory and its messages."""
        await self._run(needs_memories(delete_memory(memory_id)))
