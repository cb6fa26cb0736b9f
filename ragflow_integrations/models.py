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
from .resources.agents import Agent, AsyncAgent
from .resources.chats import AsyncChat, AsyncSession, Chat, Message, Session
from .resources.chunks import AsyncChunk, Chunk
from .resources.datasets import AsyncDataSet, DataSet
from .resources.documents import AsyncDocument, Document
from .resources.documents import ParserConfig as ParserConfig  # importable from here, as before
from .resources.documents import ProgressCallback as ProgressCallback
from .resources.memories import AsyncMemory, Memory, MemoryMessage
from .resources.retrieval import RetrievalResult

__all__ = [
    "Agent",
    "AsyncAgent",
    "AsyncChat",
    "AsyncChunk",
    "AsyncDataSet",
    "AsyncDocument",
    "AsyncMemory",
    "AsyncSession",
    "Chat",
    "Chunk",
    "DataSet",
    "Document",
    "Memory",
    "MemoryMessage",
    "Message",
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
    "message": Message,
    "memory": AsyncMemory,
    "memory_message": MemoryMessage,
}
