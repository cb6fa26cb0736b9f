"""LangChain chat history kept in a RAGFlow memory (RAGFlow v0.24+).

RAGFlow stores a conversation as turns: a user input and an agent response, one "raw" message
each, whose content reads ``"User Input: {user input}\\nAgent Response: {agent response}"``. A
human message followed by an AI message becomes one such turn (what RAGFlow's own agents write,
searchable and readable in its UI); a lone human or AI message is a turn with the other side
empty. Other messages are kept exactly in a tagged turn: a system message as user input
``@langchain:system`` and its text as the response; anything else (tool messages, tool calls,
non-text content, names) as ``@langchain:json`` and LangChain's JSON form of the message.
Model metadata (``id``, ``response_metadata``, ``usage_metadata``) is not stored.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Sequence
from typing import Any

from langchain_core.chat_history import BaseChatMessageHistory
from langchain_core.messages import (
    AIMessage,
    BaseMessage,
    HumanMessage,
    SystemMessage,
    message_to_dict,
    messages_from_dict,
)
from pydantic import SecretStr

from ragflow_integrations import AsyncRAGFlow, MemoryMessage, RAGFlow
from ragflow_integrations.langchain._client import ClientFactory
from ragflow_integrations.resources.memories.messages import MAX_LIMIT, server_session_filter

PREFIX = "User Input: "
SEPARATOR = "\nAgent Response: "
TAG = "@langchain:"
_CONCURRENCY = 8

# ----------------------------------------------------------------------------------------------
# the message <-> turn codec
# ----------------------------------------------------------------------------------------------


def _plain(message: BaseMessage, kind: type[BaseMessage]) -> bool:
    """A ``kind`` message (or its chunk) with only non-empty text: it reads back the same."""
    if not isinstance(message, kind) or not isinstance(message.content, str):
        return False
    if not message.content or message.name or message.additional_kwargs:
        return False
    calls = isinstance(message, AIMessage) and (message.tool_calls or message.invalid_tool_calls)
    return not calls


def _human(message: BaseMessage) -> bool:
    text = message.content
    return (
        _plain(message, HumanMessage)
        and isinstance(text, str)
        and SEPARATOR not in text
        and not text.startswith(TAG)
    )


def to_turns(messages: Sequence[BaseMessage]) -> list[tuple[str, str]]:
    """(user input, agent response) pairs that store ``messages`` in order."""
    turns: list[tuple[str, str]] = []
    i = 0
    while i < len(messages):
        message = messages[i]
        following = messages[i + 1] if i + 1 < len(messages) else None
        if _human(message) and following is not None and _plain(following, AIMessage):
            turns.append((str(message.content), str(following.content)))
            i += 2
            continue
        if _human(message):
            turns.append((str(message.content), ""))
        elif _plain(message, AIMessage):
            turns.append(("", str(message.content)))
        elif _plain(message, SystemMessage):
            turns.append((TAG + "system", str(message.content)))
        else:
            turns.append((TAG + "json", json.dumps(message_to_dict(message), ensure_ascii=False)))
        i += 1
    return turns


def from_content(content: str) -> list[BaseMessage]:
    """The messages a raw message's content holds (the inverse of :func:`to_turns`)."""
    if not content.startswith(PREFIX):
        return [HumanMessage(content=content)] if content else []
    user, found, agent = content[len(PREFIX) :].partition(SEPARATOR)
    if not found:
        return [HumanMessage(content=user)] if user else []
    if user == TAG + "system":
        return [SystemMessage(content=agent)]
    if user == TAG + "json":
        try:
            return list(messages_from_dict([json.loads(agent)]))
        except (ValueError, KeyError, TypeError):
            pass  # not ours after all: read it as text
    out: list[BaseMessage] = []
    if user:
        out.append(HumanMessage(content=user))
    if agent:
        out.append(AIMessage(content=agent))
    return out


# ----------------------------------------------------------------------------------------------
# the history
# ----------------------------------------------------------------------------------------------


class RAGFlowChatMessageHistory(BaseChatMessageHistory):
    """A LangChain chat history stored in a RAGFlow memory, one history per ``session_id``.

    Messages are the session's turns in the memory (written by ``agent_id``, and by ``user_id``
    when given), oldest first; ``clear()`` forgets them (RAGFlow keeps forgotten messages listed
    but never returns them to searches or histories). Every method has a native async twin.
    The memory itself is made with ``RAGFlow.create_memory`` (type ``raw`` is enough).

    Example:
        .. code-block:: python

            history = RAGFlowChatMessageHistory("<memory id>", session_id="user-42")
            history.add_messages([HumanMessage("Hi"), AIMessage("Hello!")])
            history.messages  # [HumanMessage("Hi"), AIMessage("Hello!")]
    """

    def __init__(
        self,
        memory_id: str,
        session_id: str,
        *,
        agent_id: str = "langchain",
        user_id: str | None = None,
        client: RAGFlow | None = None,
        async_client: AsyncRAGFlow | None = None,
        api_key: SecretStr | str | None = None,
        base_url: str | None = None,
        timeout: float | None = None,
        max_retries: int | None = None,
        verify: bool | str = True,
    ) -> None:
        for name, value in (("memory_id", memory_id), ("session_id", session_id)):
            if not isinstance(value, str) or not value:
                raise ValueError(f"{name} must be a non-empty str (got {value!r})")
        if not isinstance(agent_id, str) or not agent_id:
            raise ValueError(f"agent_id must be a non-empty str (got {agent_id!r})")
        self.memory_id = memory_id
        self.session_id = session_id
        self.agent_id = agent_id
        self.user_id = user_id
        self._clients = ClientFactory(
            client=client,
            async_client=async_client,
            api_key=api_key,
            base_url=base_url,
            timeout=timeout,
            max_retries=max_retries,
            verify=verify,
        )

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(memory_id={self.memory_id!r}, "
            f"session_id={self.session_id!r}, agent_id={self.agent_id!r})"
        )

    # -- reading ------------------------------------------------------------------------------
    def _mine(self, message: MemoryMessage) -> bool:
        return (
            message.message_type == "raw"
            and message.session_id == self.session_id
            and message.agent_id == self.agent_id
            and (self.user_id is None or message.user_id == self.user_id)
            and not message.forgotten
        )

    def _listing_args(self) -> dict[str, Any]:
        return {"agent_id": self.agent_id, "keywords": server_session_filter(self.session_id)}

    def _recent_args(self) -> dict[str, Any]:
        return {
            "agent_id": self.agent_id,
            "session_id": self.session_id,
            "limit": MAX_LIMIT,
            "user_id": self.user_id,
        }

    @staticmethod
    def _decode(ids: list[int], contents: dict[int, str]) -> list[BaseMessage]:
        return [m for message_id in sorted(ids) for m in from_content(contents[message_id])]

    @property
    def messages(self) -> list[BaseMessage]:  # type: ignore[override]
        """The session's messages, oldest first: the session's turns are listed (pages of 100),
        the newest 100 read in one request and any older ones one by one."""
        client = self._clients.sync
        listed = client.iter_memory_messages(self.memory_id, **self._listing_args())
        ids = [m.message_id for m in listed if self._mine(m)]
        recent = client.get_recent_messages([self.memory_id], **self._recent_args())
        contents = {m.message_id: m.content or "" for m in recent}
        for message_id in ids:
            if message_id not in contents:
                message = client.get_message_content(self.memory_id, message_id)
                contents[message_id] = message.content or ""
        return self._decode(ids, contents)

    async def aget_messages(self) -> list[BaseMessage]:
        """Async :attr:`messages` (the listing and the recent read overlap, so do older reads)."""
        client = self._clients.async_

        async def listed() -> list[int]:
            found = client.iter_memory_messages(self.memory_id, **self._listing_args())
            return [m.message_id async for m in found if self._mine(m)]

        ids, recent = await asyncio.gather(
            listed(), client.get_recent_messages([self.memory_id], **self._recent_args())
        )
        contents = {m.message_id: m.content or "" for m in recent}
        missing = [i for i in ids if i not in contents]
        gate = asyncio.Semaphore(_CONCURRENCY)

        async def read(message_id: int) -> MemoryMessage:
            async with gate:
                return await client.get_message_content(self.memory_id, message_id)

        for message in await asyncio.gather(*(read(i) for i in missing)):
            contents[message.message_id] = message.content or ""
        return self._decode(ids, contents)

    # -- writing ------------------------------------------------------------------------------
    def add_messages(self, messages: Sequence[BaseMessage]) -> None:
        """Store the messages in order (one request per turn, never retried once sent)."""
        client = self._clients.sync
        for user_input, agent_response in to_turns(messages):
            client.add_message(
                [self.memory_id],
                self.agent_id,
                self.session_id,
                user_input,
                agent_response,
                self.user_id,
            )

    async def aadd_messages(self, messages: Sequence[BaseMessage]) -> None:
        """Async :meth:`add_messages` (turns are sent one after the other, to keep their order)."""
        client = self._clients.async_
        for user_input, agent_response in to_turns(messages):
            await client.add_message(
                [self.memory_id],
                self.agent_id,
                self.session_id,
                user_input,
                agent_response,
                self.user_id,
            )

    def _to_forget(self, listed: list[MemoryMessage]) -> list[int]:
        ids: list[int] = []
        for message in listed:
            if self._mine(message):
                ids.append(message.message_id)
                ids += [e.message_id for e in message.extract if not e.forgotten]
        return ids

    def clear(self) -> None:
        """Forget the session's messages (and what RAGFlow extracted from them)."""
        client = self._clients.sync
        listed = list(client.iter_memory_messages(self.memory_id, **self._listing_args()))
        for message_id in self._to_forget(listed):
            client.forget_message(self.memory_id, message_id)

    async def aclear(self) -> None:
        """Async :meth:`clear` (the forget requests overlap)."""
        client = self._clients.async_
        found = client.iter_memory_messages(self.memory_id, **self._listing_args())
        listed = [m async for m in found]
        gate = asyncio.Semaphore(_CONCURRENCY)

        async def forget(message_id: int) -> None:
            async with gate:
                await client.forget_message(self.memory_id, message_id)

        await asyncio.gather(*(forget(i) for i in self._to_forget(listed)))
