"""The objects the client returns: pydantic v2 models bound to their client.

Every model accepts unknown fields (``extra="allow"``), tolerates missing ones, and offers the
seed's attribute names next to the current ones. Methods call back into the client that made the
object (kept in a private attribute, excluded from ``repr`` and ``model_dump``). Sync objects
(``DataSet`` …) come from :class:`~ragflow_integrations.RAGFlow`, async twins (``AsyncDataSet`` …)
from :class:`~ragflow_integrations.AsyncRAGFlow`; both share the same fields.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Iterator, Sequence
from typing import TYPE_CHECKING, Any, Literal, overload

from ._core import ops
from ._core.paging import page_window
from ._core.sse import StreamEvent
from ._models import _Model
from .resources.chats import AsyncChat, AsyncSession, Chat, Message, Session
from .resources.chunks import AsyncChunk, Chunk
from .resources.datasets import AsyncDataSet, DataSet
from .resources.documents import (
    AsyncDocument,
    Document,
)
from .resources.retrieval import RetrievalResult

if TYPE_CHECKING:
    from .client import AsyncRAGFlow, RAGFlow

logger = logging.getLogger("ragflow_integrations")

__all__ = [
    "Agent",
    "AsyncAgent",
    "AsyncChat",
    "AsyncChunk",
    "AsyncDataSet",
    "AsyncDocument",
    "AsyncSession",
    "Chat",
    "Chunk",
    "DataSet",
    "Document",
    "Message",
    "RetrievalResult",
    "Session",
    "StreamEvent",
]


# ----------------------------------------------------------------------------------------------
# fields (shared by sync and async classes)
# ----------------------------------------------------------------------------------------------


class _AgentFields(_Model):
    id: str = ""
    title: str | None = ""
    description: str | None = None
    avatar: str | None = None
    canvas_type: str | None = None
    dsl: Any = None


# ----------------------------------------------------------------------------------------------
# sync objects
# ----------------------------------------------------------------------------------------------


class Agent(_AgentFields):
    """An agent (canvas)."""

    @property
    def _c(self) -> RAGFlow:
        client: RAGFlow = self._require_client()
        return client

    def create_session(self, **kwargs: Any) -> Session:
        """Create a session."""
        session: Session = self._c._run(ops.create_agent_session(self._c, self.id, kwargs))
        return session

    def list_sessions(
        self,
        page: int = 1,
        page_size: int = 1024,
        orderby: str = "update_time",
        desc: bool = True,
        id: str | None = None,
    ) -> list[Session]:
        """Page ``page`` of size ``page_size`` of sessions."""
        offset, limit = page_window(page, page_size)
        return self._c._collect(
            ops.walk_agent_sessions(self._c, self.id, offset, limit, orderby, desc, id)
        )

    def iter_sessions(self, orderby: str = "update_time", desc: bool = True) -> Iterator[Session]:
        """Every session, lazily."""
        return self._c._iterate(ops.walk_agent_sessions(self._c, self.id, 1, None, orderby, desc))

    def delete_sessions(
        self, ids: Sequence[str] | None = None, *, delete_all: bool = False
    ) -> None:
        """Delete by ids; ``ids=None`` requires ``delete_all=True``; ``[]`` sends nothing."""
        self._c._run(ops.delete_agent_sessions(self._c, self.id, ids, delete_all))

    @overload
    def ask(
        self,
        question: str,
        stream: Literal[False] = False,
        session_id: str | None = None,
        **kwargs: Any,
    ) -> Message: ...

    @overload
    def ask(
        self, question: str, stream: Literal[True], session_id: str | None = None, **kwargs: Any
    ) -> Iterator[Message]: ...

    @overload
    def ask(
        self, question: str, stream: bool = False, session_id: str | None = None, **kwargs: Any
    ) -> Any: ...

    def ask(
        self, question: str, stream: bool = False, session_id: str | None = None, **kwargs: Any
    ) -> Any:
        """One :class:`Message` (``stream=False``) or an iterator of growing Messages."""
        plan_or_msg = self._c._run(
            ops.agent_completion(
                self._c,
                self.id,
                question,
                session_id=session_id,
                stream=stream,
                as_message=True,
                inputs=kwargs.pop("inputs", None),
                extra=kwargs,
            )
        )
        return self._c._stream(plan_or_msg) if stream else plan_or_msg


# ----------------------------------------------------------------------------------------------
# async objects
# ----------------------------------------------------------------------------------------------


class AsyncAgent(_AgentFields):
    """Async twin of :class:`Agent`."""

    @property
    def _c(self) -> AsyncRAGFlow:
        client: AsyncRAGFlow = self._require_client()
        return client

    async def create_session(self, **kwargs: Any) -> AsyncSession:
        """Create a session."""
        session: AsyncSession = await self._c._run(
            ops.create_agent_session(self._c, self.id, kwargs)
        )
        return session

    async def list_sessions(
        self,
        page: int = 1,
        page_size: int = 1024,
        orderby: str = "update_time",
        desc: bool = True,
        id: str | None = None,
    ) -> list[AsyncSession]:
        """Page ``page`` of size ``page_size`` of sessions."""
        offset, limit = page_window(page, page_size)
        return await self._c._collect(
            ops.walk_agent_sessions(self._c, self.id, offset, limit, orderby, desc, id)
        )

    def iter_sessions(
        self, orderby: str = "update_time", desc: bool = True
    ) -> AsyncIterator[AsyncSession]:
        """Every session, lazily."""
        return self._c._iterate(ops.walk_agent_sessions(self._c, self.id, 1, None, orderby, desc))

    async def delete_sessions(
        self, ids: Sequence[str] | None = None, *, delete_all: bool = False
    ) -> None:
        """Delete by ids; ``ids=None`` requires ``delete_all=True``; ``[]`` sends nothing."""
        await self._c._run(ops.delete_agent_sessions(self._c, self.id, ids, delete_all))

    @overload
    async def ask(
        self,
        question: str,
        stream: Literal[False] = False,
        session_id: str | None = None,
        **kwargs: Any,
    ) -> Message: ...

    @overload
    async def ask(
        self, question: str, stream: Literal[True], session_id: str | None = None, **kwargs: Any
    ) -> AsyncIterator[Message]: ...

    @overload
    async def ask(
        self, question: str, stream: bool = False, session_id: str | None = None, **kwargs: Any
    ) -> Any: ...

    async def ask(
        self, question: str, stream: bool = False, session_id: str | None = None, **kwargs: Any
    ) -> Any:
        """One :class:`Message` (``stream=False``) or an iterator of growing Messages."""
        plan_or_msg = await self._c._run(
            ops.agent_completion(
                self._c,
                self.id,
                question,
                session_id=session_id,
                stream=stream,
                as_message=True,
                inputs=kwargs.pop("inputs", None),
                extra=kwargs,
            )
        )
        return self._c._stream(plan_or_msg) if stream else plan_or_msg


SYNC_KINDS: dict[str, type[_Model]] = {
    "dataset": DataSet,
    "document": Document,
    "chunk": Chunk,
    "chat": Chat,
    "session": Session,
    "agent": Agent,
    "message": Message,
}
ASYNC_KINDS: dict[str, type[_Model]] = {
    "dataset": AsyncDataSet,
    "document": AsyncDocument,
    "chunk": AsyncChunk,
    "chat": AsyncChat,
    "session": AsyncSession,
    "agent": AsyncAgent,
    "message": Message,
}
