"""``RAGFlow`` and ``AsyncRAGFlow``: the seed's Python API over RAGFlow's current wire protocol.

Both clients run the same sans-I/O operations (``_core/ops.py``); they differ only in how requests
are sent (``requests`` vs ``httpx``) and how sleeps happen.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator, Mapping
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
    Message,
)
from .resources.chats import (
    AsyncChatCompletions,
    AsyncChats,
    AsyncOpenAICompletions,
    ChatCompletions,
    Chats,
    OpenAICompletions,
)
from .resources.datasets import AsyncDatasets, Datasets
from .resources.retrieval import AsyncRetrieval, Retrieval
from .resources.system import AsyncSystem, System

__all__ = ["AsyncRAGFlow", "RAGFlow"]


class RAGFlow(
    System, Datasets, Retrieval, Chats, ChatCompletions, OpenAICompletions, SyncAPIClient
):
    """Synchronous client.

    >>> rag = RAGFlow(api_key="ragflow-...", base_url="http://localhost:9380")  # doctest: +SKIP
    >>> ds = rag.create_dataset(name="kb_1")  # doctest: +SKIP
    """

    _kinds = SYNC_KINDS

    def to_async(self, *, http_client: Any = None) -> AsyncRAGFlow:
        """An :class:`AsyncRAGFlow` with this client's configuration (its own connection pool)."""
        return AsyncRAGFlow(**self._twin_config(), http_client=http_client)

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


class AsyncRAGFlow(
    AsyncSystem,
    AsyncDatasets,
    AsyncRetrieval,
    AsyncChats,
    AsyncChatCompletions,
    AsyncOpenAICompletions,
    AsyncAPIClient,
):
    """Asynchronous client (httpx); same methods as :class:`RAGFlow`, awaited."""

    _kinds = ASYNC_KINDS

    def to_sync(self, *, session: Any = None) -> RAGFlow:
        """A :class:`RAGFlow` with this client's configuration (its own connection pool)."""
        return RAGFlow(**self._twin_config(), session=session)

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
