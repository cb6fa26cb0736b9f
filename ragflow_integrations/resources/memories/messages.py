"""A memory's messages: add a turn, recent messages, search, list, forget, enable, read one.

RAGFlow stores one turn (a user input and an agent response) as a "raw" message whose content
reads ``"User Input: …\\nAgent Response: …"``; memories of other types also hold messages an LLM
extracts from each turn. Forgetting a message hides it from search and recent messages; it stays
listed. Filters the server applies loosely are made exact here: RAGFlow matches ``session_id`` as
a substring (and v0.24 ignores ``user_id`` in a search), so results are filtered again.

Operations; :class:`MemoryMessage`; :class:`Memory`'s message methods
(:class:`MemoryMessageMethods` and its async twin); the client methods (:class:`MemoryMessages`,
:class:`AsyncMemoryMessages`). Shared with ``memories.py``: :func:`needs_memories` and
:func:`walk_pages`.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Callable, Iterator, Mapping, Sequence
from typing import Any

from pydantic import Field, field_validator

from ..._base_client import AsyncAPIClient, SyncAPIClient
from ..._core.ops import Context, Emit, Op, as_id_list, call, data_of, object_of, seg
from ..._core.paging import PageWalker, page_window
from ..._core.request import make_params
from ..._models import AsyncObject, SyncObject, _Model
from ...errors import NotFoundError, RouteNotFoundError, ServerError

MAX_LIMIT = 100
"""RAGFlow's largest ``limit`` / ``top_n`` / page size for memories."""
_PLAIN = re.compile(r"[\w.@]+(?:-[\w.@]+)*")

# ----------------------------------------------------------------------------------------------
# operations
# ----------------------------------------------------------------------------------------------


def needs_memories(op: Op) -> Op:
    """Run ``op``; a missing route becomes an error naming the RAGFlow version memories need."""
    try:
        return (yield from op)
    except RouteNotFoundError as exc:
        where = f"{exc.method} {exc.path}" if exc.method and exc.path else "the memory routes"
        raise RouteNotFoundError(
            f"Memories need RAGFlow v0.24 or later: this server has no {where} (RAGFlow added "
            "the memory API in v0.24.0). Upgrade the server, or check that base_url points at "
            "RAGFlow's API.",
            **exc.context(),
        ) from exc


def walk_pages(
    ctx: Context,
    kind: str,
    path: str,
    params: Mapping[str, Any],
    unpack: Callable[[Any], tuple[Any, Any]],
    offset: int = 1,
    limit: int | None = None,
) -> Op:
    """Emit the objects of a paged GET listing; ``unpack(data)`` gives (items, total)."""
    walker = PageWalker(offset, limit)
    while (request := walker.next_request()) is not None:
        page, page_size = request
        query = make_params(**params, page=page, page_size=page_size)
        items, total = unpack(data_of((yield call("GET", path, params=query))))
        items = items if isinstance(items, list) else []
        for item in walker.accept(items, total if isinstance(total, int) else None):
            if isinstance(item, Mapping):
                yield Emit(ctx.wrap(kind, dict(item)))


def _limit(value: int, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_LIMIT:
        raise ValueError(f"{name} must be an int from 1 to {MAX_LIMIT} (got {value!r})")
    return value


def _text(value: Any, name: str) -> str:
    if not isinstance(value, str):
        raise TypeError(f"{name} must be a str (got {type(value).__name__} {value!r:.40})")
    return value


def _memory_ids(memory_ids: Sequence[str]) -> list[str]:
    ids = as_id_list(memory_ids, "memory_ids", "memory id")
    if not ids:
        raise ValueError("memory_ids must name at least one memory")
    return ids


def _message_path(memory_id: str, message_id: int | str) -> str:
    if isinstance(message_id, bool) or not isinstance(message_id, (int, str)):
        raise TypeError(f"message_id must be an int (got {type(message_id).__name__})")
    if not str(message_id).isdigit():
        raise ValueError(f"message_id must be a message's number (got {message_id!r})")
    return f"/messages/{seg(memory_id, 'memory_id')}:{int(message_id)}"


def server_session_filter(session_id: str | None) -> str | None:
    """The session id to send, if RAGFlow can match it: it puts the id in an Elasticsearch
    ``query_string`` (``*id*``), where spaces, ``:``, ``/``, quotes … are query syntax. Other
    ids are left to the client's exact filter."""
    return session_id if session_id and _PLAIN.fullmatch(session_id) else None


def _exact(
    agent_id: str | None, session_id: str | None, user_id: str | None
) -> Callable[[Mapping[str, Any]], bool]:
    pairs = (("agent_id", agent_id), ("session_id", session_id), ("user_id", user_id))

    def keep(item: Mapping[str, Any]) -> bool:
        return all(not want or str(item.get(key)) == want for key, want in pairs)

    return keep


def add_message(
    memory_ids: Sequence[str],
    agent_id: str,
    session_id: str,
    user_input: str,
    agent_response: str,
    user_id: str | None = None,
) -> Op:
    body: dict[str, Any] = {
        "memory_id": _memory_ids(memory_ids),
        "agent_id": _text(agent_id, "agent_id"),
        "session_id": _text(session_id, "session_id"),
        "user_input": _text(user_input, "user_input"),
        "agent_response": _text(agent_response, "agent_response"),
    }
    if user_id is not None:
        body["user_id"] = _text(user_id, "user_id")
    try:
        yield call("POST", "/messages", json=body)
    except ServerError as exc:  # RAGFlow says "Memory not found." with code 500
        if "not found" not in exc.message.lower():
            raise
        raise NotFoundError(
            f"{exc.message} None of the memories {body['memory_id']} exists: check the ids.",
            **exc.context(),
        ) from exc


def recent_messages(
    ctx: Context,
    memory_ids: Sequence[str],
    agent_id: str | None = None,
    session_id: str | None = None,
    limit: int = 10,
    user_id: str | None = None,
) -> Op:
    """Newest first. Asks again for RAGFlow's maximum when the exact filter dropped some."""
    ids = _memory_ids(memory_ids)
    keep = _exact(agent_id, session_id, user_id)
    ask = _limit(limit, "limit")
    while True:
        session = server_session_filter(session_id)
        params = make_params(memory_id=ids, agent_id=agent_id, session_id=session, limit=ask)
        response = yield call("GET", "/messages", params=params)
        items = [m for m in data_of(response) or [] if isinstance(m, Mapping)]
        kept = [m for m in items if keep(m)]
        if len(kept) >= limit or len(items) < ask or ask == MAX_LIMIT:
            return [ctx.wrap("memory_message", dict(m)) for m in kept[:limit]]
        ask = MAX_LIMIT


def search_messages(
    ctx: Context,
    query: str,
    memory_ids: Sequence[str],
    agent_id: str | None = None,
    session_id: str | None = None,
    user_id: str | None = None,
    similarity_threshold: float = 0.2,
    keywords_similarity_weight: float = 0.7,
    top_n: int = 5,
) -> Op:
    params = make_params(
        query=_text(query, "query"),
        memory_id=_memory_ids(memory_ids),
        agent_id=agent_id,
        session_id=server_session_filter(session_id),
        user_id=user_id,
        similarity_threshold=similarity_threshold,
        keywords_similarity_weight=keywords_similarity_weight,
        top_n=_limit(top_n, "top_n"),
    )
    response = yield call("GET", "/messages/search", params=params)
    keep = _exact(agent_id, session_id, user_id)
    items = [m for m in data_of(response) or [] if isinstance(m, Mapping) and keep(m)]
    return [ctx.wrap("memory_message", dict(m)) for m in items]


def _message_page(data: Any) -> tuple[Any, Any]:
    messages = data.get("messages") if isinstance(data, Mapping) else None
    messages = messages if isinstance(messages, Mapping) else {}
    return messages.get("message_list"), messages.get("total_count")


def walk_memory_messages(
    ctx: Context,
    memory_id: str,
    agent_id: str | Sequence[str] | None = None,
    keywords: str | None = None,
    offset: int = 1,
    limit: int | None = None,
) -> Op:
    agents = [agent_id] if isinstance(agent_id, str) else list(agent_id or [])
    params = {"agent_id": agents or None, "keywords": keywords}
    path = f"/memories/{seg(memory_id, 'memory_id')}"
    return (
        yield from walk_pages(ctx, "memory_message", path, params, _message_page, offset, limit)
    )


def forget_message(memory_id: str, message_id: int | str) -> Op:
    yield call("DELETE", _message_path(memory_id, message_id))


def update_message_status(memory_id: str, message_id: int | str, status: bool) -> Op:
    if not isinstance(status, bool):
        raise TypeError(f"status must be True or False (got {status!r})")
    yield call("PUT", _message_path(memory_id, message_id), json={"status": status})


def get_message_content(ctx: Context, memory_id: str, message_id: int | str) -> Op:
    response = yield call("GET", _message_path(memory_id, message_id) + "/content")
    return ctx.wrap("memory_message", object_of(response, "a message"))


# ----------------------------------------------------------------------------------------------
# objects
# ----------------------------------------------------------------------------------------------

_EMPTY = ("None", "-", "")


class MemoryMessage(_Model):
    """A message of a memory: a raw turn (``message_type="raw"``) or one extracted from it.

    ``content`` is absent in listings (read it with ``get_message_content``), ``content_embed``
    only comes with the content route, and ``extract`` holds, in a listing, the messages
    extracted from a raw one. RAGFlow's ``"None"`` strings read as ``None`` here.
    """

    message_id: int = 0
    message_type: str = "raw"
    source_id: int | None = None
    memory_id: str = ""
    user_id: str | None = ""
    agent_id: str | None = ""
    session_id: str | None = ""
    valid_at: str | None = None
    invalid_at: str | None = None
    forget_at: str | None = None
    status: bool = True
    content: str | None = None
    content_embed: list[float] | None = None
    agent_name: str | None = None
    extract: list[MemoryMessage] = Field(default_factory=list)
    task: dict[str, Any] | None = None

    @field_validator("source_id", "invalid_at", "forget_at", mode="before")
    @classmethod
    def _none_text(cls, value: Any) -> Any:
        return None if value in _EMPTY or value == 0 else value

    @property
    def forgotten(self) -> bool:
        """Whether the message was forgotten (hidden from search and recent messages)."""
        return bool(self.forget_at)


class MemoryMessageMethods(SyncObject):
    """:class:`Memory`'s message methods: the client's, for this memory."""

    def add_message(
        self,
        agent_id: str,
        session_id: str,
        user_input: str,
        agent_response: str,
        user_id: str | None = None,
    ) -> None:
        """Store one turn in this memory."""
        self._c.add_message([self.id], agent_id, session_id, user_input, agent_response, user_id)

    def list_messages(
        self,
        agent_id: str | Sequence[str] | None = None,
        keywords: str | None = None,
        page: int = 1,
        page_size: int = 50,
    ) -> list[MemoryMessage]:
        """:meth:`RAGFlow.list_memory_messages` of this memory."""
        return self._c.list_memory_messages(self.id, agent_id, keywords, page, page_size)

    def iter_messages(
        self, agent_id: str | Sequence[str] | None = None, keywords: str | None = None
    ) -> Iterator[MemoryMessage]:
        """:meth:`RAGFlow.iter_memory_messages` of this memory."""
        return self._c.iter_memory_messages(self.id, agent_id, keywords)

    def get_recent_messages(self, **kwargs: Any) -> list[MemoryMessage]:
        """:meth:`RAGFlow.get_recent_messages` of this memory."""
        return self._c.get_recent_messages([self.id], **kwargs)

    def search_messages(self, query: str, **kwargs: Any) -> list[MemoryMessage]:
        """:meth:`RAGFlow.search_messages` in this memory."""
        return self._c.search_messages(query, [self.id], **kwargs)

    def forget_message(self, message_id: int) -> None:
        """:meth:`RAGFlow.forget_message` in this memory."""
        self._c.forget_message(self.id, message_id)

    def update_message_status(self, message_id: int, status: bool) -> None:
        """:meth:`RAGFlow.update_message_status` in this memory."""
        self._c.update_message_status(self.id, message_id, status)

    def get_message_content(self, message_id: int) -> MemoryMessage:
        """:meth:`RAGFlow.get_message_content` in this memory."""
        return self._c.get_message_content(self.id, message_id)


class AsyncMemoryMessageMethods(AsyncObject):
    """Async twin of :class:`MemoryMessageMethods`."""

    async def add_message(
        self,
        agent_id: str,
        session_id: str,
        user_input: str,
        agent_response: str,
        user_id: str | None = None,
    ) -> None:
        """Store one turn in this memory."""
        await self._c.add_message(
            [self.id], agent_id, session_id, user_input, agent_response, user_id
        )

    async def list_messages(
        self,
        agent_id: str | Sequence[str] | None = None,
        keywords: str | None = None,
        page: int = 1,
        page_size: int = 50,
    ) -> list[MemoryMessage]:
        """:meth:`AsyncRAGFlow.list_memory_messages` of this memory."""
        return await self._c.list_memory_messages(self.id, agent_id, keywords, page, page_size)

    def iter_messages(
        self, agent_id: str | Sequence[str] | None = None, keywords: str | None = None
    ) -> AsyncIterator[MemoryMessage]:
        """:meth:`AsyncRAGFlow.iter_memory_messages` of this memory."""
        return self._c.iter_memory_messages(self.id, agent_id, keywords)

    async def get_recent_messages(self, **kwargs: Any) -> list[MemoryMessage]:
        """:meth:`AsyncRAGFlow.get_recent_messages` of this memory."""
        return await self._c.get_recent_messages([self.id], **kwargs)

    async def search_messages(self, query: str, **kwargs: Any) -> list[MemoryMessage]:
        """:meth:`AsyncRAGFlow.search_messages` in this memory."""
        return await self._c.search_messages(query, [self.id], **kwargs)

    async def forget_message(self, message_id: int) -> None:
        """:meth:`AsyncRAGFlow.forget_message` in this memory."""
        await self._c.forget_message(self.id, message_id)

    async def update_message_status(self, message_id: int, status: bool) -> None:
        """:meth:`AsyncRAGFlow.update_message_status` in this memory."""
        await self._c.update_message_status(self.id, message_id, status)

    async def get_message_content(self, message_id: int) -> MemoryMessage:
        """:meth:`AsyncRAGFlow.get_message_content` in this memory."""
        return await self._c.get_message_content(self.id, message_id)


# ----------------------------------------------------------------------------------------------
# client methods
# ----------------------------------------------------------------------------------------------


class MemoryMessages(SyncAPIClient):
    """``RAGFlow``'s message methods (RAGFlow v0.24+)."""

    def add_message(
        self,
        memory_ids: Sequence[str],
        agent_id: str,
        session_id: str,
        user_input: str,
        agent_response: str,
        user_id: str | None = None,
    ) -> None:
        """Store one turn in each memory of ``memory_ids`` (sent once, never retried after it
        reached the server: a retry could store the turn twice)."""
        op = add_message(memory_ids, agent_id, session_id, user_input, agent_response, user_id)
        self._run(needs_memories(op))

    def get_recent_messages(
        self,
        memory_ids: Sequence[str],
        agent_id: str | None = None,
        session_id: str | None = None,
        limit: int = 10,
        user_id: str | None = None,
    ) -> list[MemoryMessage]:
        """The newest ``limit`` (≤ 100) messages not forgotten, newest first, of every type."""
        op = recent_messages(self, memory_ids, agent_id, session_id, limit, user_id)
        messages: list[MemoryMessage] = self._run(needs_memories(op))
        return messages

    def search_messages(
        self,
        query: str,
        memory_ids: Sequence[str],
        agent_id: str | None = None,
        session_id: str | None = None,
        user_id: str | None = None,
        similarity_threshold: float = 0.2,
        keywords_similarity_weight: float = 0.7,
        top_n: int = 5,
    ) -> list[MemoryMessage]:
        """Enabled, not forgotten messages matching ``query``: at most ``top_n`` (≤ 100)."""
        op = search_messages(
            self,
            query,
            memory_ids,
            agent_id,
            session_id,
            user_id,
            similarity_threshold,
            keywords_similarity_weight,
            top_n,
        )
        messages: list[MemoryMessage] = self._run(needs_memories(op))
        return messages

    def list_memory_messages(
        self,
        memory_id: str,
        agent_id: str | Sequence[str] | None = None,
        keywords: str | None = None,
        page: int = 1,
        page_size: int = 50,
    ) -> list[MemoryMessage]:
        """Page ``page`` of a memory's raw messages, newest first, forgotten ones included, each
        with its ``extract`` and without content; ``keywords`` matches part of a session id."""
        offset, limit = page_window(page, page_size)
        op = walk_memory_messages(self, memory_id, agent_id, keywords, offset, limit)
        return self._collect(needs_memories(op))

    def iter_memory_messages(
        self,
        memory_id: str,
        agent_id: str | Sequence[str] | None = None,
        keywords: str | None = None,
    ) -> Iterator[MemoryMessage]:
        """Every raw message of a memory, lazily (as :meth:`list_memory_messages`)."""
        return self._iterate(
            needs_memories(walk_memory_messages(self, memory_id, agent_id, keywords))
        )

    def forget_message(self, memory_id: str, message_id: int) -> None:
        """Forget a message: hidden from search and recent messages, still listed."""
        self._run(needs_memories(forget_message(memory_id, message_id)))

    def update_message_status(self, memory_id: str, message_id: int, status: bool) -> None:
        """Enable (``True``) or disable (``False``) a message for search."""
        self._run(needs_memories(update_message_status(memory_id, message_id, status)))

    def get_message_content(self, memory_id: str, message_id: int) -> MemoryMessage:
        """One message with its ``content`` and ``content_embed``."""
        op = get_message_content(self, memory_id, message_id)
        message: MemoryMessage = self._run(needs_memories(op))
        return message


class AsyncMemoryMessages(AsyncAPIClient):
    """``AsyncRAGFlow``'s message methods (RAGFlow v0.24+)."""

    async def add_message(
        self,
        memory_ids: Sequence[str],
        agent_id: str,
        session_id: str,
        user_input: str,
        agent_response: str,
        user_id: str | None = None,
    ) -> None:
        """Store one turn in each memory of ``memory_ids`` (sent once, never retried)."""
        op = add_message(memory_ids, agent_id, session_id, user_input, agent_response, user_id)
        await self._run(needs_memories(op))

    async def get_recent_messages(
        self,
        memory_ids: Sequence[str],
        agent_id: str | None = None,
        session_id: str | None = None,
        limit: int = 10,
        user_id: str | None = None,
    ) -> list[MemoryMessage]:
        """The newest ``limit`` (≤ 100) messages not forgotten, newest first, of every type."""
        op = recent_messages(self, memory_ids, agent_id, session_id, limit, user_id)
        messages: list[MemoryMessage] = await self._run(needs_memories(op))
        return messages

    async def search_messages(
        self,
        query: str,
        memory_ids: Sequence[str],
        agent_id: str | None = None,
        session_id: str | None = None,
        user_id: str | None = None,
        similarity_threshold: float = 0.2,
        keywords_similarity_weight: float = 0.7,
        top_n: int = 5,
    ) -> list[MemoryMessage]:
        """Enabled, not forgotten messages matching ``query``: at most ``top_n`` (≤ 100)."""
        op = search_messages(
            self,
            query,
            memory_ids,
            agent_id,
            session_id,
            user_id,
            similarity_threshold,
            keywords_similarity_weight,
            top_n,
        )
        messages: list[MemoryMessage] = await self._run(needs_memories(op))
        return messages

    async def list_memory_messages(
        self,
        memory_id: str,
        agent_id: str | Sequence[str] | None = None,
        keywords: str | None = None,
        page: int = 1,
        page_size: int = 50,
    ) -> list[MemoryMessage]:
        """Page ``page`` of a memory's raw messages (see :meth:`RAGFlow.list_memory_messages`)."""
        offset, limit = page_window(page, page_size)
        op = walk_memory_messages(self, memory_id, agent_id, keywords, offset, limit)
        return await self._collect(needs_memories(op))

    def iter_memory_messages(
        self,
        memory_id: str,
        agent_id: str | Sequence[str] | None = None,
        keywords: str | None = None,
    ) -> AsyncIterator[MemoryMessage]:
        """Every raw message of a memory, lazily."""
        return self._iterate(
            needs_memories(walk_memory_messages(self, memory_id, agent_id, keywords))
        )

    async def forget_message(self, memory_id: str, message_id: int) -> None:
        """Forget a message: hidden from search and recent messages, still listed."""
        await self._run(needs_memories(forget_message(memory_id, message_id)))

    async def update_message_status(self, memory_id: str, message_id: int, status: bool) -> None:
        """Enable (``True``) or disable (``False``) a message for search."""
        await self._run(needs_memories(update_message_status(memory_id, message_id, status)))

    async def get_message_content(self, memory_id: str, message_id: int) -> MemoryMessage:
        """One message with its ``content`` and ``content_embed``."""
        op = get_message_content(self, memory_id, message_id)
        message: MemoryMessage = await self._run(needs_memories(op))
        return message
