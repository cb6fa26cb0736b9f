"""``RAGFlow`` and ``AsyncRAGFlow``: the seed's Python API over RAGFlow's current wire protocol.

Both clients run the same sans-I/O operations (``_core/ops.py``); they differ only in how requests
are sent (``requests`` vs ``httpx``) and how sleeps happen (the drivers in ``_base_client.py``).
Their methods come from one mixin per API group (``resources/``), composed here, so that
``client.create_dataset(...)`` stays flat as in the seed.
"""

from __future__ import annotations

from typing import Any

from ._base_client import DEFAULT_BASE_URL as DEFAULT_BASE_URL
from ._base_client import AsyncAPIClient, SyncAPIClient
from ._core.features import ServerFeatures as ServerFeatures
from ._core.request import DEFAULT_CONNECT_TIMEOUT as DEFAULT_CONNECT_TIMEOUT
from ._core.request import DEFAULT_READ_TIMEOUT as DEFAULT_READ_TIMEOUT
from ._core.sse import StreamEvent as StreamEvent
from .errors import RAGFlowError as RAGFlowError
from .models import ASYNC_KINDS, SYNC_KINDS
from .models import Agent as Agent
from .models import AsyncAgent as AsyncAgent
from .models import AsyncChat as AsyncChat
from .models import AsyncChunk as AsyncChunk
from .models import AsyncDataSet as AsyncDataSet
from .models import Chat as Chat
from .models import Chunk as Chunk
from .models import DataSet as DataSet
from .models import Document as Document
from .models import Message as Message
from .models import RetrievalResult as RetrievalResult
from .resources.agents import (
    AgentCompletions,
    Agents,
    AgentVersionsAPI,
    AsyncAgentCompletions,
    AsyncAgents,
    AsyncAgentVersionsAPI,
)
from .resources.chats import (
    AsyncChatCompletions,
    AsyncChatMessages,
    AsyncChats,
    AsyncOpenAICompletions,
    ChatCompletions,
    ChatMessages,
    Chats,
    OpenAICompletions,
)
from .resources.datasets import DEFAULT_SEED_EMBEDDING as DEFAULT_SEED_EMBEDDING
from .resources.datasets import AsyncDatasets, Datasets
from .resources.llm_models import AsyncModels, Models
from .resources.memories import AsyncMemories, AsyncMemoryMessages, Memories, MemoryMessages
from .resources.retrieval import AsyncRetrieval, Retrieval
from .resources.system import AsyncSystem, System

# The names imported ``as`` themselves stay importable from here, as before the client was split
# by API group (models, constants, StreamEvent, ServerFeatures, RAGFlowError).
__all__ = ["AsyncRAGFlow", "RAGFlow"]


class RAGFlow(
    System,
    Datasets,
    Retrieval,
    Chats,
    ChatCompletions,
    ChatMessages,
    OpenAICompletions,
    Agents,
    AgentCompletions,
    AgentVersionsAPI,
    Models,
    Memories,
    MemoryMessages,
    SyncAPIClient,
):
    """Synchronous client.

    >>> rag = RAGFlow(api_key="ragflow-...", base_url="http://localhost:9380")  # doctest: +SKIP
    >>> ds = rag.create_dataset(name="kb_1")  # doctest: +SKIP
    """

    _kinds = SYNC_KINDS

    def to_async(self, *, http_client: Any = None) -> AsyncRAGFlow:
        """An :class:`AsyncRAGFlow` with this client's configuration (its own connection pool)."""
        return AsyncRAGFlow(**self._twin_config(), http_client=http_client)


class AsyncRAGFlow(
    AsyncSystem,
    AsyncDatasets,
    AsyncRetrieval,
    AsyncChats,
    AsyncChatCompletions,
    AsyncChatMessages,
    AsyncOpenAICompletions,
    AsyncAgents,
    AsyncAgentCompletions,
    AsyncAgentVersionsAPI,
    AsyncModels,
    AsyncMemories,
    AsyncMemoryMessages,
    AsyncAPIClient,
):
    """Asynchronous client (httpx); same methods as :class:`RAGFlow`, awaited."""

    _kinds = ASYNC_KINDS

    def to_sync(self, *, session: Any = None) -> RAGFlow:
        """A :class:`RAGFlow` with this client's configuration (its own connection pool)."""
        return RAGFlow(**self._twin_config(), session=session)
