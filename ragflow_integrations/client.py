"""``RAGFlow`` and ``AsyncRAGFlow``: the seed's Python API over RAGFlow's current wire protocol.

Both clients run the same sans-I/O operations (``_core/ops.py``); they differ only in how requests
are sent (``requests`` vs ``httpx``) and how sleeps happen.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator, Mapping, Sequence
from typing import Any, Literal, overload

from ._base_client import AsyncAPIClient, SyncAPIClient
from ._core import ops
from ._core.paging import page_window
from ._core.sse import StreamEvent
from .models import (
    ASYNC_KINDS,
    SYNC_KINDS,
    Agent,
    AsyncAgent,
    AsyncChat,
    Chat,
    Message,
)
from .resources.datasets import AsyncDatasets, Datasets
from .resources.retrieval import AsyncRetrieval, Retrieval
from .resources.system import AsyncSystem, System

__all__ = ["AsyncRAGFlow", "RAGFlow"]


class RAGFlow(System, Datasets, Retrieval, SyncAPIClient):
    """Synchronous client.

    >>> rag = RAGFlow(api_key="ragflow-...", base_url="http://localhost:9380")  # doctest: +SKIP
    >>> ds = rag.create_dataset(name="kb_1")  # doctest: +SKIP
    """

    _kinds = SYNC_KINDS

    def to_async(self, *, http_client: Any = None) -> AsyncRAGFlow:
        """An :class:`AsyncRAGFlow` with this client's configuration (its own connection pool)."""
        return AsyncRAGFlow(**self._twin_config(), http_client=http_client)

    # -- chats ----------------------------------------------------------------------------
    def create_chat(
        self,
        name: str,
        avatar: str = "",
        dataset_ids: Sequence[str] | None = None,
        llm: Any = None,
        prompt: Any = None,
        **native_fields: Any,
    ) -> Chat:
        """Create a chat assistant (seed ``llm``/``prompt`` translated on new servers)."""
        chat: Chat = self._run(
            ops.create_chat(self, name, avatar, dataset_ids, llm, prompt, native_fields)
        )
        return chat

    def get_chat(self, chat_id: str) -> Chat:
        """One chat assistant by id; NotFoundError when missing."""
        chat: Chat = self._run(ops.get_chat(self, chat_id))
        return chat

    def list_chats(
        self,
        page: int = 1,
        page_size: int = 1024,
        orderby: str = "create_time",
        desc: bool = True,
        id: str | None = None,
        name: str | None = None,
    ) -> list[Chat]:
        """Page ``page`` of size ``page_size`` (fetched in server pages of <= 100)."""
        offset, limit = page_window(page, page_size)
        return self._collect(ops.walk_chats(self, offset, limit, orderby, desc, id, name))

    def iter_chats(
        self, orderby: str = "create_time", desc: bool = True, name: str | None = None
    ) -> Iterator[Chat]:
        """Every chat assistant, lazily."""
        return self._iterate(ops.walk_chats(self, 1, None, orderby, desc, None, name))

    def delete_chats(self, ids: Sequence[str] | None = None, *, delete_all: bool = False) -> None:
        """Delete by ids; ``ids=None`` requires ``delete_all=True``; ``[]`` sends nothing."""
        self._run(ops.delete_chats(self, ids, delete_all))

    @overload
    def chat_completion(
        self,
        chat_id: str,
        messages: Any,
        *,
        session_id: str | None = None,
        stream: Literal[False] = False,
        **extra: Any,
    ) -> Message: ...

    @overload
    def chat_completion(
        self,
        chat_id: str,
        messages: Any,
        *,
        session_id: str | None = None,
        stream: Literal[True],
        **extra: Any,
    ) -> Iterator[StreamEvent]: ...

    @overload
    def chat_completion(
        self,
        chat_id: str,
        messages: Any,
        *,
        session_id: str | None = None,
        stream: bool = False,
        **extra: Any,
    ) -> Any: ...

    def chat_completion(
        self,
        chat_id: str,
        messages: Any,
        *,
        session_id: str | None = None,
        stream: bool = False,
        **extra: Any,
    ) -> Any:
        """Native completion: a :class:`Message`, or an iterator of StreamEvents when streaming.

        Without ``session_id`` it is stateless: the whole history is sent and nothing is stored.
        """
        result = self._run(
            ops.chat_completion(
                self, chat_id, messages, session_id=session_id, stream=stream, extra=extra
            )
        )
        return self._stream(result) if stream else result

    @overload
    def openai_chat_completion(
        self,
        chat_id: str,
        messages: Any,
        *,
        stream: Literal[False] = False,
        model: str = "model",
        reference: bool = True,
        metadata_condition: Mapping[str, Any] | None = None,
        **extra: Any,
    ) -> dict[str, Any]: ...

    @overload
    def openai_chat_completion(
        self,
        chat_id: str,
        messages: Any,
        *,
        stream: Literal[True],
        model: str = "model",
        reference: bool = True,
        metadata_condition: Mapping[str, Any] | None = None,
        **extra: Any,
    ) -> Iterator[dict[str, Any]]: ...

    @overload
    def openai_chat_completion(
        self,
        chat_id: str,
        messages: Any,
        *,
        stream: bool = False,
        model: str = "model",
        reference: bool = True,
        metadata_condition: Mapping[str, Any] | None = None,
        **extra: Any,
    ) -> Any: ...

    def openai_chat_completion(
        self,
        chat_id: str,
        messages: Any,
        *,
        stream: bool = False,
        model: str = "model",
        reference: bool = True,
        metadata_condition: Mapping[str, Any] | None = None,
        **extra: Any,
    ) -> Any:
        """The OpenAI-compatible endpoint: a dict, or an iterator of chunk dicts."""
        result = self._run(
            ops.openai_chat_completion(
                chat_id,
                messages,
                stream=stream,
                model=model,
                reference=reference,
                metadata_condition=metadata_condition,
                extra=extra,
            )
        )
        return self._stream(result) if stream else result

    # -- agents ---------------------------------------------------------------------------
    def list_agents(
        self,
        page: int = 1,
        page_size: int = 1024,
        orderby: str = "update_time",
        desc: bool = True,
        id: str | None = None,
        title: str | None = None,
    ) -> list[Agent]:
        """Page ``page`` of size ``page_size`` of agents (template groups left out)."""
        offset, limit = page_window(page, page_size)
        return self._collect(ops.walk_agents(self, offset, limit, orderby, desc, id, title))

    def iter_agents(self, orderby: str = "update_time", desc: bool = True) -> Iterator[Agent]:
        """Every agent, lazily."""
        return self._iterate(ops.walk_agents(self, 1, None, orderby, desc))

    def get_agent(self, agent_id: str) -> Agent:
        """One agent (with its DSL) by id."""
        agent: Agent = self._run(ops.get_agent(self, agent_id))
        return agent

    def create_agent(
        self, title: str, dsl: Mapping[str, Any], description: str | None = None, **extra: Any
    ) -> Agent:
        """Create an agent from its DSL (returns the created agent)."""
        agent: Agent = self._run(ops.create_agent(self, title, dsl, description, extra))
        return agent

    def delete_agent(self, agent_id: str) -> None:
        """Delete one agent."""
        self._run(ops.delete_agent(agent_id))

    @overload
    def agent_completion(
        self,
        agent_id: str,
        question: str,
        *,
        session_id: str | None = None,
        stream: Literal[False] = False,
        inputs: Mapping[str, Any] | None = None,
        **extra: Any,
    ) -> Message: ...

    @overload
    def agent_completion(
        self,
        agent_id: str,
        question: str,
        *,
        session_id: str | None = None,
        stream: Literal[True],
        inputs: Mapping[str, Any] | None = None,
        **extra: Any,
    ) -> Iterator[StreamEvent]: ...

    @overload
    def agent_completion(
        self,
        agent_id: str,
        question: str,
        *,
        session_id: str | None = None,
        stream: bool = False,
        inputs: Mapping[str, Any] | None = None,
        **extra: Any,
    ) -> Any: ...

    def agent_completion(
        self,
        agent_id: str,
        question: str,
        *,
        session_id: str | None = None,
        stream: bool = False,
        inputs: Mapping[str, Any] | None = None,
        **extra: Any,
    ) -> Any:
        """Run an agent: a :class:`Message`, or an iterator of StreamEvents when streaming."""
        result = self._run(
            ops.agent_completion(
                self,
                agent_id,
                question,
                session_id=session_id,
                stream=stream,
                inputs=inputs,
                extra=extra,
            )
        )
        return self._stream(result) if stream else result

    # -- misc -----------------------------------------------------------------------------
    def related_questions(self, question: str) -> list[str]:
        """Search terms related to ``question`` (from the tenant's chat model)."""
        result: list[str] = self._run(ops.related_questions(question))
        return result


class AsyncRAGFlow(AsyncSystem, AsyncDatasets, AsyncRetrieval, AsyncAPIClient):
    """Asynchronous client (httpx); same methods as :class:`RAGFlow`, awaited."""

    _kinds = ASYNC_KINDS

    def to_sync(self, *, session: Any = None) -> RAGFlow:
        """A :class:`RAGFlow` with this client's configuration (its own connection pool)."""
        return RAGFlow(**self._twin_config(), session=session)

    # -- chats ----------------------------------------------------------------------------
    async def create_chat(
        self,
        name: str,
        avatar: str = "",
        dataset_ids: Sequence[str] | None = None,
        llm: Any = None,
        prompt: Any = None,
        **native_fields: Any,
    ) -> AsyncChat:
        """Create a chat assistant (seed ``llm``/``prompt`` translated on new servers)."""
        chat: AsyncChat = await self._run(
            ops.create_chat(self, name, avatar, dataset_ids, llm, prompt, native_fields)
        )
        return chat

    async def get_chat(self, chat_id: str) -> AsyncChat:
        """One chat assistant by id; NotFoundError when missing."""
        chat: AsyncChat = await self._run(ops.get_chat(self, chat_id))
        return chat

    async def list_chats(
        self,
        page: int = 1,
        page_size: int = 1024,
        orderby: str = "create_time",
        desc: bool = True,
        id: str | None = None,
        name: str | None = None,
    ) -> list[AsyncChat]:
        """Page ``page`` of size ``page_size`` (fetched in server pages of <= 100)."""
        offset, limit = page_window(page, page_size)
        return await self._collect(ops.walk_chats(self, offset, limit, orderby, desc, id, name))

    def iter_chats(
        self, orderby: str = "create_time", desc: bool = True, name: str | None = None
    ) -> AsyncIterator[AsyncChat]:
        """Every chat assistant, lazily."""
        return self._iterate(ops.walk_chats(self, 1, None, orderby, desc, None, name))

    async def delete_chats(
        self, ids: Sequence[str] | None = None, *, delete_all: bool = False
    ) -> None:
        """Delete by ids; ``ids=None`` requires ``delete_all=True``; ``[]`` sends nothing."""
        await self._run(ops.delete_chats(self, ids, delete_all))

    @overload
    async def chat_completion(
        self,
        chat_id: str,
        messages: Any,
        *,
        session_id: str | None = None,
        stream: Literal[False] = False,
        **extra: Any,
    ) -> Message: ...

    @overload
    async def chat_completion(
        self,
        chat_id: str,
        messages: Any,
        *,
        session_id: str | None = None,
        stream: Literal[True],
        **extra: Any,
    ) -> AsyncIterator[StreamEvent]: ...

    @overload
    async def chat_completion(
        self,
        chat_id: str,
        messages: Any,
        *,
        session_id: str | None = None,
        stream: bool = False,
        **extra: Any,
    ) -> Any: ...

    async def chat_completion(
        self,
        chat_id: str,
        messages: Any,
        *,
        session_id: str | None = None,
        stream: bool = False,
        **extra: Any,
    ) -> Any:
        """A :class:`Message`, or an async iterator of StreamEvents when streaming."""
        result = await self._run(
            ops.chat_completion(
                self, chat_id, messages, session_id=session_id, stream=stream, extra=extra
            )
        )
        return self._stream(result) if stream else result

    @overload
    async def openai_chat_completion(
        self,
        chat_id: str,
        messages: Any,
        *,
        stream: Literal[False] = False,
        model: str = "model",
        reference: bool = True,
        metadata_condition: Mapping[str, Any] | None = None,
        **extra: Any,
    ) -> dict[str, Any]: ...

    @overload
    async def openai_chat_completion(
        self,
        chat_id: str,
        messages: Any,
        *,
        stream: Literal[True],
        model: str = "model",
        reference: bool = True,
        metadata_condition: Mapping[str, Any] | None = None,
        **extra: Any,
    ) -> AsyncIterator[dict[str, Any]]: ...

    @overload
    async def openai_chat_completion(
        self,
        chat_id: str,
        messages: Any,
        *,
        stream: bool = False,
        model: str = "model",
        reference: bool = True,
        metadata_condition: Mapping[str, Any] | None = None,
        **extra: Any,
    ) -> Any: ...

    async def openai_chat_completion(
        self,
        chat_id: str,
        messages: Any,
        *,
        stream: bool = False,
        model: str = "model",
        reference: bool = True,
        metadata_condition: Mapping[str, Any] | None = None,
        **extra: Any,
    ) -> Any:
        """The OpenAI-compatible endpoint: a dict, or an iterator of chunk dicts."""
        result = await self._run(
            ops.openai_chat_completion(
                chat_id,
                messages,
                stream=stream,
                model=model,
                reference=reference,
                metadata_condition=metadata_condition,
                extra=extra,
            )
        )
        return self._stream(result) if stream else result

    # -- agents ---------------------------------------------------------------------------
    async def list_agents(
        self,
        page: int = 1,
        page_size: int = 1024,
        orderby: str = "update_time",
        desc: bool = True,
        id: str | None = None,
        title: str | None = None,
    ) -> list[AsyncAgent]:
        """Page ``page`` of size ``page_size`` of agents (template groups left out)."""
        offset, limit = page_window(page, page_size)
        return await self._collect(ops.walk_agents(self, offset, limit, orderby, desc, id, title))

    def iter_agents(
        self, orderby: str = "update_time", desc: bool = True
    ) -> AsyncIterator[AsyncAgent]:
        """Every agent, lazily."""
        return self._iterate(ops.walk_agents(self, 1, None, orderby, desc))

    async def get_agent(self, agent_id: str) -> AsyncAgent:
        """One agent (with its DSL) by id."""
        agent: AsyncAgent = await self._run(ops.get_agent(self, agent_id))
        return agent

    async def create_agent(
        self, title: str, dsl: Mapping[str, Any], description: str | None = None, **extra: Any
    ) -> AsyncAgent:
        """Create an agent from its DSL (returns the created agent)."""
        agent: AsyncAgent = await self._run(ops.create_agent(self, title, dsl, description, extra))
        return agent

    async def delete_agent(self, agent_id: str) -> None:
        """Delete one agent."""
        await self._run(ops.delete_agent(agent_id))

    @overload
    async def agent_completion(
        self,
        agent_id: str,
        question: str,
        *,
        session_id: str | None = None,
        stream: Literal[False] = False,
        inputs: Mapping[str, Any] | None = None,
        **extra: Any,
    ) -> Message: ...

    @overload
    async def agent_completion(
        self,
        agent_id: str,
        question: str,
        *,
        session_id: str | None = None,
        stream: Literal[True],
        inputs: Mapping[str, Any] | None = None,
        **extra: Any,
    ) -> AsyncIterator[StreamEvent]: ...

    @overload
    async def agent_completion(
        self,
        agent_id: str,
        question: str,
        *,
        session_id: str | None = None,
        stream: bool = False,
        inputs: Mapping[str, Any] | None = None,
        **extra: Any,
    ) -> Any: ...

    async def agent_completion(
        self,
        agent_id: str,
        question: str,
        *,
        session_id: str | None = None,
        stream: bool = False,
        inputs: Mapping[str, Any] | None = None,
        **extra: Any,
    ) -> Any:
        """Run an agent: a :class:`Message`, or an iterator of StreamEvents when streaming."""
        result = await self._run(
            ops.agent_completion(
                self,
                agent_id,
                question,
                session_id=session_id,
                stream=stream,
                inputs=inputs,
                extra=extra,
            )
        )
        return self._stream(result) if stream else result

    # -- misc -----------------------------------------------------------------------------
    async def related_questions(self, question: str) -> list[str]:
        """Search terms related to ``question`` (from the tenant's chat model)."""
        result: list[str] = await self._run(ops.related_questions(question))
        return result
