"""The objects the client returns: pydantic v2 models bound to their client.

Every model accepts unknown fields (``extra="allow"``), tolerates missing ones, and offers the
seed's attribute names next to the current ones. Methods call back into the client that made the
object (kept in a private attribute, excluded from ``repr`` and ``model_dump``). Sync objects
(``DataSet`` …) come from :class:`~ragflow_integrations.RAGFlow`, async twins (``AsyncDataSet`` …)
from :class:`~ragflow_integrations.AsyncRAGFlow`; both share the same fields.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any, ClassVar, Literal, overload

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    model_validator,
)

from ._core import ops
from ._core.paging import page_window
from ._core.sse import StreamEvent
from ._models import _Model
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


class _ChatLLM(BaseModel):
    """The seed's ``Chat.LLM`` settings (``llm_id``/``llm_setting`` on new servers)."""

    model_config = ConfigDict(extra="allow", protected_namespaces=())
    model_name: str | None = None
    temperature: float | None = None
    top_p: float | None = None
    presence_penalty: float | None = None
    frequency_penalty: float | None = None
    max_tokens: int | None = None

    @model_validator(mode="before")
    @classmethod
    def _seed_names(cls, data: Any) -> Any:
        if isinstance(data, Mapping) and "max_token" in data:
            data = dict(data)
            value = data.pop("max_token")
            if data.get("max_tokens") is None:
                data["max_tokens"] = value
        return data

    @property
    def max_token(self) -> int | None:
        """The seed's name for :attr:`max_tokens`."""
        return self.max_tokens

    @max_token.setter
    def max_token(self, value: int | None) -> None:
        self.max_tokens = value


class _ChatPrompt(BaseModel):
    """The seed's ``Chat.Prompt`` settings (translated to flat fields on new servers)."""

    model_config = ConfigDict(extra="allow")
    similarity_threshold: float | None = None
    keywords_similarity_weight: float | None = None
    top_n: int | None = None
    variables: list[Any] | None = None
    rerank_model: str | None = None
    empty_response: str | None = None
    opener: str | None = None
    show_quote: bool | None = None
    prompt: str | None = None


class _ChatFields(_Model):
    id: str = ""
    name: str = ""
    avatar: str | None = ""
    icon: str | None = ""
    description: str | None = None
    dataset_ids: list[str] = Field(default_factory=list)
    llm: _ChatLLM | None = None
    prompt: _ChatPrompt | None = None
    llm_id: str | None = None
    llm_setting: dict[str, Any] = Field(default_factory=dict)
    prompt_config: dict[str, Any] = Field(default_factory=dict)
    similarity_threshold: float | None = None
    vector_similarity_weight: float | None = None
    top_n: int | None = None
    top_k: int | None = None
    rerank_id: str | None = None

    LLM: ClassVar[type[_ChatLLM]] = _ChatLLM
    Prompt: ClassVar[type[_ChatPrompt]] = _ChatPrompt

    @model_validator(mode="before")
    @classmethod
    def _both_forms(cls, data: Any) -> Any:
        if not isinstance(data, Mapping):
            return data
        data = dict(data)
        if data.get("datasets") and not data.get("dataset_ids"):
            data["dataset_ids"] = [
                d.get("id") for d in data["datasets"] if isinstance(d, Mapping) and d.get("id")
            ]
        for key in ("dataset_ids", "llm_setting", "prompt_config"):
            if data.get(key) is None:
                data.pop(key, None)
        icon, avatar = data.get("icon"), data.get("avatar")
        data.setdefault("avatar", icon or "")
        data.setdefault("icon", avatar or "")
        llm, prompt = data.get("llm"), data.get("prompt")
        setting = dict(data.get("llm_setting") or {})
        config = dict(data.get("prompt_config") or {})
        if llm is None and (data.get("llm_id") or setting):
            data["llm"] = {"model_name": data.get("llm_id"), **setting}
        elif isinstance(llm, Mapping):
            data.setdefault("llm_id", llm.get("model_name"))
            data.setdefault("llm_setting", {k: v for k, v in llm.items() if k != "model_name"})
        if prompt is None and (config or data.get("top_n") is not None):
            vsw = data.get("vector_similarity_weight")
            data["prompt"] = {
                "similarity_threshold": data.get("similarity_threshold"),
                "keywords_similarity_weight": None if vsw is None else round(1 - vsw, 10),
                "top_n": data.get("top_n"),
                "variables": config.get("parameters"),
                "rerank_model": data.get("rerank_id"),
                "empty_response": config.get("empty_response"),
                "opener": config.get("prologue"),
                "show_quote": config.get("quote"),
                "prompt": config.get("system"),
            }
        elif isinstance(prompt, Mapping):
            data.setdefault(
                "prompt_config",
                {
                    k2: prompt[k1]
                    for k1, k2 in (
                        ("opener", "prologue"),
                        ("show_quote", "quote"),
                        ("prompt", "system"),
                        ("variables", "parameters"),
                        ("empty_response", "empty_response"),
                    )
                    if prompt.get(k1) is not None
                },
            )
            for k1, k2 in (
                ("similarity_threshold", "similarity_threshold"),
                ("top_n", "top_n"),
                ("rerank_model", "rerank_id"),
            ):
                if prompt.get(k1) is not None:
                    data.setdefault(k2, prompt[k1])
            if prompt.get("keywords_similarity_weight") is not None:
                data.setdefault(
                    "vector_similarity_weight", round(1 - prompt["keywords_similarity_weight"], 10)
                )
        return data

    def get_prologue(self) -> str:
        """The assistant's opening message (``prompt_config.prologue`` / seed ``prompt.opener``)."""
        prologue = self.prompt_config.get("prologue")
        if not prologue and self.prompt is not None:
            prologue = self.prompt.opener
        return str(prologue or "")


class Message(_Model):
    """An answer (or one streamed step of it: ``content`` is the whole answer so far)."""

    id: str | None = None
    role: str = "assistant"
    content: str = ""
    delta: str = ""
    reasoning: str = ""
    reasoning_delta: str = ""
    reference: list[Chunk] = Field(default_factory=list)
    doc_aggs: list[Any] = Field(default_factory=list)
    session_id: str | None = None
    final: bool = True
    usage: dict[str, Any] | None = None


class _SessionFields(_Model):
    id: str = ""
    name: str = ""
    chat_id: str | None = None
    agent_id: str | None = None
    messages: list[Any] = Field(default_factory=list)

    @model_validator(mode="before")
    @classmethod
    def _seed_names(cls, data: Any) -> Any:
        if isinstance(data, Mapping):
            data = dict(data)
            if "message" in data and not data.get("messages"):
                data["messages"] = data.pop("message")
            if data.get("messages") is None:
                data.pop("messages", None)
        return data

    @property
    def message(self) -> list[Any]:
        """The seed's name for :attr:`messages` (agent sessions use it on the wire)."""
        return self.messages


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


class Chat(_ChatFields):
    """A chat assistant."""

    @property
    def _c(self) -> RAGFlow:
        client: RAGFlow = self._require_client()
        return client

    def update(self, update_message: Mapping[str, Any]) -> Chat:
        """Update (seed nested ``llm``/``prompt``/``avatar`` accepted); refreshes self."""
        data = self._c._run(ops.update_chat(self.id, update_message))
        self._merge(data if data else ops.merge_update(update_message))
        return self

    def create_session(self, name: str = "New session", **extra: Any) -> Session:
        """Create a session."""
        session: Session = self._c._run(ops.create_session(self._c, self.id, name, extra))
        return session

    def list_sessions(
        self,
        page: int = 1,
        page_size: int = 1024,
        orderby: str = "create_time",
        desc: bool = True,
        id: str | None = None,
        name: str | None = None,
    ) -> list[Session]:
        """Page ``page`` of size ``page_size`` of sessions."""
        offset, limit = page_window(page, page_size)
        return self._c._collect(
            ops.walk_sessions(self._c, self.id, offset, limit, orderby, desc, id, name)
        )

    def iter_sessions(
        self, orderby: str = "create_time", desc: bool = True, name: str | None = None
    ) -> Iterator[Session]:
        """Every session, lazily."""
        return self._c._iterate(
            ops.walk_sessions(self._c, self.id, 1, None, orderby, desc, None, name)
        )

    def delete_sessions(
        self, ids: Sequence[str] | None = None, *, delete_all: bool = False
    ) -> None:
        """Delete by ids; ``ids=None`` requires ``delete_all=True``; ``[]`` sends nothing."""
        self._c._run(ops.delete_sessions(self._c, self.id, ids, delete_all))

    def completion(
        self, messages: Any, *, stream: bool = False, session_id: str | None = None, **extra: Any
    ) -> Any:
        """:meth:`RAGFlow.chat_completion` for this chat."""
        return self._c.chat_completion(
            self.id, messages, session_id=session_id, stream=stream, **extra
        )


class Session(_SessionFields):
    """A chat or agent session."""

    @property
    def _c(self) -> RAGFlow:
        client: RAGFlow = self._require_client()
        return client

    def update(self, update_message: Mapping[str, Any]) -> Session:
        """Rename the session (a ``name`` key); refreshes self."""
        if not self.chat_id:
            raise NotImplementedError("Agent sessions cannot be renamed through the API")
        self._merge(self._c._run(ops.update_session(self.chat_id, self.id, update_message)))
        return self

    @overload
    def ask(self, question: str = "", stream: Literal[False] = False, **kwargs: Any) -> Message: ...

    @overload
    def ask(self, question: str, stream: Literal[True], **kwargs: Any) -> Iterator[Message]: ...

    @overload
    def ask(
        self, question: str = "", *, stream: Literal[True], **kwargs: Any
    ) -> Iterator[Message]: ...

    @overload
    def ask(self, question: str = "", stream: bool = False, **kwargs: Any) -> Any: ...

    def ask(self, question: str = "", stream: bool = False, **kwargs: Any) -> Any:
        """One :class:`Message` (``stream=False``) or an iterator of growing Messages."""
        if self.agent_id:
            plan_or_msg = self._c._run(
                ops.agent_completion(
                    self._c,
                    self.agent_id,
                    question,
                    session_id=self.id,
                    stream=stream,
                    as_message=True,
                    inputs=kwargs.pop("inputs", None),
                    extra=kwargs,
                )
            )
        else:
            plan_or_msg = self._c._run(
                ops.chat_completion(
                    self._c,
                    str(self.chat_id),
                    question,
                    session_id=self.id,
                    stream=stream,
                    as_message=True,
                    extra=kwargs,
                )
            )
        return self._c._stream(plan_or_msg) if stream else plan_or_msg


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


class AsyncChat(_ChatFields):
    """Async twin of :class:`Chat`."""

    @property
    def _c(self) -> AsyncRAGFlow:
        client: AsyncRAGFlow = self._require_client()
        return client

    async def update(self, update_message: Mapping[str, Any]) -> AsyncChat:
        """Update (seed nested ``llm``/``prompt``/``avatar`` accepted); refreshes self."""
        data = await self._c._run(ops.update_chat(self.id, update_message))
        self._merge(data if data else ops.merge_update(update_message))
        return self

    async def create_session(self, name: str = "New session", **extra: Any) -> AsyncSession:
        """Create a session."""
        session: AsyncSession = await self._c._run(
            ops.create_session(self._c, self.id, name, extra)
        )
        return session

    async def list_sessions(
        self,
        page: int = 1,
        page_size: int = 1024,
        orderby: str = "create_time",
        desc: bool = True,
        id: str | None = None,
        name: str | None = None,
    ) -> list[AsyncSession]:
        """Page ``page`` of size ``page_size`` of sessions."""
        offset, limit = page_window(page, page_size)
        return await self._c._collect(
            ops.walk_sessions(self._c, self.id, offset, limit, orderby, desc, id, name)
        )

    def iter_sessions(
        self, orderby: str = "create_time", desc: bool = True, name: str | None = None
    ) -> AsyncIterator[AsyncSession]:
        """Every session, lazily."""
        return self._c._iterate(
            ops.walk_sessions(self._c, self.id, 1, None, orderby, desc, None, name)
        )

    async def delete_sessions(
        self, ids: Sequence[str] | None = None, *, delete_all: bool = False
    ) -> None:
        """Delete by ids; ``ids=None`` requires ``delete_all=True``; ``[]`` sends nothing."""
        await self._c._run(ops.delete_sessions(self._c, self.id, ids, delete_all))

    async def completion(
        self, messages: Any, *, stream: bool = False, session_id: str | None = None, **extra: Any
    ) -> Any:
        """:meth:`RAGFlow.chat_completion` for this chat."""
        return await self._c.chat_completion(
            self.id, messages, session_id=session_id, stream=stream, **extra
        )


class AsyncSession(_SessionFields):
    """Async twin of :class:`Session`; ``ask(stream=True)`` returns an async iterator."""

    @property
    def _c(self) -> AsyncRAGFlow:
        client: AsyncRAGFlow = self._require_client()
        return client

    async def update(self, update_message: Mapping[str, Any]) -> AsyncSession:
        """Rename the session (a ``name`` key); refreshes self."""
        if not self.chat_id:
            raise NotImplementedError("Agent sessions cannot be renamed through the API")
        self._merge(await self._c._run(ops.update_session(self.chat_id, self.id, update_message)))
        return self

    @overload
    async def ask(
        self, question: str = "", stream: Literal[False] = False, **kwargs: Any
    ) -> Message: ...

    @overload
    async def ask(
        self, question: str, stream: Literal[True], **kwargs: Any
    ) -> AsyncIterator[Message]: ...

    @overload
    async def ask(
        self, question: str = "", *, stream: Literal[True], **kwargs: Any
    ) -> AsyncIterator[Message]: ...

    @overload
    async def ask(self, question: str = "", stream: bool = False, **kwargs: Any) -> Any: ...

    async def ask(self, question: str = "", stream: bool = False, **kwargs: Any) -> Any:
        """One :class:`Message` (``stream=False``) or an iterator of growing Messages."""
        if self.agent_id:
            plan_or_msg = await self._c._run(
                ops.agent_completion(
                    self._c,
                    self.agent_id,
                    question,
                    session_id=self.id,
                    stream=stream,
                    as_message=True,
                    inputs=kwargs.pop("inputs", None),
                    extra=kwargs,
                )
            )
        else:
            plan_or_msg = await self._c._run(
                ops.chat_completion(
                    self._c,
                    str(self.chat_id),
                    question,
                    session_id=self.id,
                    stream=stream,
                    as_message=True,
                    extra=kwargs,
                )
            )
        return self._c._stream(plan_or_msg) if stream else plan_or_msg


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
