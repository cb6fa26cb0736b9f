"""The objects the client returns: pydantic v2 models bound to their client.

Every model accepts unknown fields (``extra="allow"``), tolerates missing ones, and offers the
seed's attribute names next to the current ones. Methods call back into the client that made the
object (kept in a private attribute, excluded from ``repr`` and ``model_dump``). Sync objects
(``DataSet`` …) come from :class:`~ragflow_integrations.RAGFlow`, async twins (``AsyncDataSet`` …)
from :class:`~ragflow_integrations.AsyncRAGFlow`; both share the same fields.

Each object is defined with its API group in ``resources/`` (``resources/datasets.py`` holds
``DataSet`` …); this module gathers them, and maps the kinds operations build (``ctx.wrap``) to
the sync and the async classes.
"""

from __future__ import annotations

from ._core.sse import StreamEvent
from ._models import _Model
from .resources.agents import Agent, AgentVersion, AsyncAgent
from .resources.chats import AsyncChat, AsyncMessage, AsyncSession, Chat, Message, Session
from .resources.chunks import AsyncChunk, Chunk
from .resources.dataset_indexes import IndexTask
from .resources.datasets import AsyncDataSet, DataSet
from .resources.documents import (
    AsyncDocument,
    AutoMetadataConfig,
    Document,
    MetadataFieldSummary,
    MetadataUpdateResult,
)
from .resources.documents import ParserConfig as ParserConfig  # importable from here, as before
from .resources.documents import ProgressCallback as ProgressCallback
from .resources.llm_models import LLMModel
from .resources.memories import AsyncMemory, Memory, MemoryMessage
from .resources.retrieval import RetrievalResult

__all__ = [
    "Agent",
    "AgentVersion",
    "AsyncAgent",
    "AsyncChat",
    "AsyncChunk",
    "AsyncDataSet",
    "AsyncDocument",
    "AsyncMemory",
    "AsyncMessage",
    "AsyncSession",
    "AutoMetadataConfig",
    "Chat",
    "Chunk",
    "DataSet",
    "Document",
    "IndexTask",
    "LLMModel",
    "Memory",
    "MemoryMessage",
    "Message",
    "MetadataFieldSummary",
    "MetadataUpdateResult",
    "RetrievalResult",
    "Session",
    "StreamEvent",
]

SYNC_KINDS: dict[str, type[_Model]] = {
    "dataset": DataSet,
    "document": Document,
    "chunk": Chunk,
    "chat": Chat,
    "session": Session,
    "agent": Agent,
    "message": Message,
    "llm_model": LLMModel,
    "memory": Memory,
    "memory_message": MemoryMessage,
}
ASYNC_KINDS: dict[str, type[_Model]] = {
    "dataset": AsyncDataSet,
    "document": AsyncDocument,
    "chunk": AsyncChunk,
    "chat": AsyncChat,
    "session": AsyncSession,
    "agent": AsyncAgent,
    "message": AsyncMessage,
    "llm_model": LLMModel,
    "memory": AsyncMemory,
    "memory_message": MemoryMessage,
}
