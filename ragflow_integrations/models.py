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
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar, Literal, overload

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    GetCoreSchemaHandler,
    PrivateAttr,
    ValidationError,
    ValidatorFunctionWrapHandler,
    model_validator,
)
from pydantic_core import core_schema

from ._core import ops
from ._core.ops import ProgressCallback
from ._core.paging import page_window
from ._core.sse import StreamEvent

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


class _Model(BaseModel):
    model_config = ConfigDict(
        extra="allow", populate_by_name=True, protected_namespaces=(), coerce_numbers_to_str=True
    )
    _client: Any = PrivateAttr(default=None)

    @model_validator(mode="wrap")
    @classmethod
    def _tolerant(cls, data: Any, handler: ValidatorFunctionWrapHandler) -> Any:
        """A field of an unexpected type falls back to its default instead of failing the object
        (one odd item must not make a whole listing unreadable); the raw value is kept under
        ``raw_<field>``."""
        try:
            return handler(data)
        except ValidationError as exc:
            if not isinstance(data, Mapping):
                raise
            bad = {str(e["loc"][0]) for e in exc.errors() if e.get("loc")}
            if not bad or not bad <= set(data):
                raise
            cleaned = {k: v for k, v in data.items() if k not in bad}
            cleaned.update({f"raw_{k}": data[k] for k in bad})
            logger.debug("%s: ignoring fields of unexpected type: %s", cls.__name__, sorted(bad))
            return handler(cleaned)

    def _bind(self, client: Any) -> _Model:
        self._client = client
        return self

    def _merge(self, data: Mapping[str, Any]) -> None:
        """Refresh this object in place from server data."""
        fresh = type(self).model_validate({**self.model_dump(), **dict(data)})
        for name in type(self).model_fields:
            object.__setattr__(self, name, getattr(fresh, name))
        if fresh.__pydantic_extra__ is not None:
            object.__setattr__(self, "__pydantic_extra__", dict(fresh.__pydantic_extra__))

    def _require_client(self) -> Any:
        if self._client is None:
            raise RuntimeError(
                f"This {type(self).__name__} is not bound to a client; get it from RAGFlow/"
                "AsyncRAGFlow methods instead of constructing it directly."
            )
        return self._client


# ----------------------------------------------------------------------------------------------
# fields (shared by sync and async classes)
# ----------------------------------------------------------------------------------------------

_PARSER_CONFIG_SEED_NAMES = {"chunk_token_count": "chunk_token_num"}


class ParserConfig(dict[str, Any]):
    """A parser configuration: a dict that also allows the seed's attribute access.

    ``config.chunk_token_num`` / ``config["chunk_token_num"]``; the seed name
    ``chunk_token_count`` reads ``chunk_token_num``; nested dicts (``raptor``) read the same way.
    ``DataSet.ParserConfig(chunk_token_count=128, layout_recognize=True)`` builds one to pass to
    ``create_dataset`` (seed keys are translated when sent).
    """

    def __getattr__(self, name: str) -> Any:
        key = name if name in self else _PARSER_CONFIG_SEED_NAMES.get(name, name)
        try:
            value = self[key]
        except KeyError:
            raise AttributeError(f"parser_config has no {name!r}") from None
        return ParserConfig(value) if isinstance(value, dict) else value

    def __setattr__(self, name: str, value: Any) -> None:
        self[name] = value

    @classmethod
    def __get_pydantic_core_schema__(
        cls, source: Any, handler: GetCoreSchemaHandler
    ) -> core_schema.CoreSchema:
        return core_schema.no_info_after_validator_function(cls, handler(dict[str, Any]))


class _DataSetFields(_Model):
    id: str = ""
    name: str = ""
    avatar: str | None = ""
    description: str | None = ""
    embedding_model: str | None = ""
    language: str | None = "English"
    permission: str | None = "me"
    chunk_method: str | None = "naive"
    parser_config: ParserConfig = Field(default_factory=ParserConfig)
    document_count: int = 0
    chunk_count: int = 0
    token_num: int = 0
    tenant_id: str | None = None
    created_by: str | None = None
    create_time: Any = None
    update_time: Any = None

    @model_validator(mode="before")
    @classmethod
    def _seed_names(cls, data: Any) -> Any:
        if isinstance(data, Mapping):
            data = dict(data)
            for old, new in (
                ("doc_num", "document_count"),
                ("chunk_num", "chunk_count"),
                ("parser_id", "chunk_method"),
                ("embd_id", "embedding_model"),
            ):
                if old in data and new not in data:
                    data[new] = data[old]
            for key in ("document_count", "chunk_count", "token_num", "parser_config"):
                if data.get(key) is None:
                    data.pop(key, None)
        return data


class _DocumentFields(_Model):
    id: str = ""
    name: str = ""
    dataset_id: str | None = None
    chunk_method: str | None = "naive"
    parser_config: ParserConfig = Field(default_factory=ParserConfig)
    size: int = 0
    token_count: int = 0
    chunk_count: int = 0
    progress: float = 0.0
    progress_msg: str | None = ""
    run: str | None = "UNSTART"
    status: str | None = "1"
    meta_fields: dict[str, Any] = Field(default_factory=dict)
    thumbnail: str | None = None
    source_type: str | None = "local"
    type: str | None = ""
    created_by: str | None = ""
    process_begin_at: Any = None
    process_duration: float | None = 0.0
    create_time: Any = None
    update_time: Any = None

    @model_validator(mode="before")
    @classmethod
    def _seed_names(cls, data: Any) -> Any:
        if isinstance(data, Mapping):
            data = dict(data)
            if "process_duation" in data and "process_duration" not in data:
                data["process_duration"] = data.pop("process_duation")
            for old, new in (
                ("chunk_num", "chunk_count"),
                ("token_num", "token_count"),
                ("kb_id", "dataset_id"),
                ("parser_id", "chunk_method"),
            ):
                if old in data and new not in data:
                    data[new] = data[old]
            for key in (
                "size",
                "token_count",
                "chunk_count",
                "progress",
                "meta_fields",
                "parser_config",
            ):
                if data.get(key) is None:
                    data.pop(key, None)
        return data

    @property
    def process_duation(self) -> float | None:
        """The seed's spelling of :attr:`process_duration`."""
        return self.process_duration


class Chunk(_Model):
    """A chunk (from a document listing, ``add_chunk``, retrieval or a chat reference)."""

    id: str = ""
    content: str = ""
    important_keywords: list[Any] = Field(default_factory=list)
    questions: list[Any] = Field(default_factory=list)
    create_time: Any = None
    create_timestamp: float | None = None
    dataset_id: str | None = None
    document_id: str | None = None
    document_name: str = ""
    document_keyword: str | None = None
    available: bool = True
    image_id: str | None = ""
    positions: list[Any] = Field(default_factory=list)
    similarity: float | None = None
    vector_similarity: float | None = None
    term_similarity: float | None = None
    highlight: str | None = None
    document_metadata: dict[str, Any] | None = None

    @model_validator(mode="before")
    @classmethod
    def _seed_names(cls, data: Any) -> Any:
        if not isinstance(data, Mapping):
            return data
        data = dict(data)
        aliases = (
            ("content_with_weight", "content"),
            ("important_kwd", "important_keywords"),
            ("docnm_kwd", "document_keyword"),
            ("doc_id", "document_id"),
            ("kb_id", "dataset_id"),
            ("chunk_id", "id"),
            ("img_id", "image_id"),
            ("position", "positions"),
            ("question_kwd", "questions"),
        )
        for old, new in aliases:
            if old in data and data.get(new) in (None, ""):
                data[new] = data[old]
        if not data.get("document_name"):
            data["document_name"] = data.get("document_keyword") or data.get("docnm_kwd") or ""
        if isinstance(data.get("available"), int) and not isinstance(data["available"], bool):
            data["available"] = bool(data["available"])
        if "available_int" in data and "available" not in data:
            data["available"] = bool(data["available_int"])
        for key in ("important_keywords", "questions", "positions", "available", "content"):
            if data.get(key) is None:
                data.pop(key, None)
        if isinstance(data.get("dataset_id"), list):
            data["dataset_id"] = data["dataset_id"][0] if data["dataset_id"] else None
        return data

    @property
    def position(self) -> list[Any]:
        """The seed's name for :attr:`positions`."""
        return self.positions

    def update(self, update_message: Mapping[str, Any]) -> None:
        """Update content / important_keywords / available / questions (PUT on old servers)."""
        body = self._require_client()._run(
            ops.update_chunk(
                self._parent("dataset_id"), self._parent("document_id"), self.id, update_message
            )
        )
        self._merge(body)

    def _parent(self, name: str) -> str:
        value = getattr(self, name)
        if not value:
            raise RuntimeError(f"This chunk has no {name}; list it from its document first.")
        return str(value)


class AsyncChunk(Chunk):
    """Async twin of :class:`Chunk`."""

    async def update(self, update_message: Mapping[str, Any]) -> None:  # type: ignore[override]
        """Update content / important_keywords / available / questions (PUT on old servers)."""
        body = await self._require_client()._run(
            ops.update_chunk(
                self._parent("dataset_id"), self._parent("document_id"), self.id, update_message
            )
        )
        self._merge(body)


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
    """An answer (or one streamed step of it: ``content`` is the whole answer so far, always the
    concatenation of the deltas; ``final_content`` is set on a streamed final message when the
    server's last answer rewrote the streamed text, as RAGFlow before v0.24 does to insert
    citation markers)."""

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
    final_content: str | None = None
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


@dataclass
class RetrievalResult:
    """One retrieval page: chunks, the server's ``total`` and per-document counts (``doc_aggs``)."""

    chunks: list[Chunk] = field(default_factory=list)
    total: int = 0
    doc_aggs: list[Any] = field(default_factory=list)


# ----------------------------------------------------------------------------------------------
# sync objects
# ----------------------------------------------------------------------------------------------


class DataSet(_DataSetFields):
    """A dataset (knowledge base)."""

    ParserConfig: ClassVar[type[ParserConfig]] = ParserConfig

    @property
    def _c(self) -> RAGFlow:
        client: RAGFlow = self._require_client()
        return client

    def update(self, update_message: Mapping[str, Any]) -> DataSet:
        """Update fields (seed parser_config keys are translated); refreshes and returns self."""
        self._merge(self._c._run(ops.update_dataset(self.id, update_message)))
        return self

    def upload_documents(self, document_list: Sequence[Mapping[str, Any]]) -> list[Document]:
        """Upload ``[{"display_name": "a.txt", "blob": b"...", "meta_fields"?: {...}}, ...]``."""
        result: list[Document] = self._c._run(ops.upload_documents(self._c, self.id, document_list))
        return result

    def list_documents(
        self,
        id: str | None = None,
        keywords: str | None = None,
        offset: int = 1,
        limit: int = 1024,
        orderby: str = "create_time",
        desc: bool = True,
        *,
        name: str | None = None,
        run: str | Sequence[str] | None = None,
        metadata_condition: Mapping[str, Any] | None = None,
        order_by: str | None = None,
    ) -> list[Document]:
        """Documents ``offset`` (1-based) .. ``offset + limit - 1``."""
        return self._c._collect(
            ops.walk_documents(
                self._c,
                self.id,
                id,
                keywords,
                offset,
                limit,
                order_by or orderby,
                desc,
                name,
                run,
                metadata_condition,
            )
        )

    def iter_documents(
        self,
        keywords: str | None = None,
        orderby: str = "create_time",
        desc: bool = True,
        *,
        name: str | None = None,
        run: str | Sequence[str] | None = None,
        metadata_condition: Mapping[str, Any] | None = None,
    ) -> Iterator[Document]:
        """Every matching document, fetched lazily page by page."""
        return self._c._iterate(
            ops.walk_documents(
                self._c,
                self.id,
                None,
                keywords,
                1,
                None,
                orderby,
                desc,
                name,
                run,
                metadata_condition,
            )
        )

    def delete_documents(
        self, ids: Sequence[str] | None = None, *, delete_all: bool = False
    ) -> None:
        """Delete by ids; ``ids=None`` requires ``delete_all=True``; ``[]`` does nothing."""
        self._c._run(ops.delete_documents(self._c, self.id, ids, delete_all))

    def async_parse_documents(self, document_ids: Sequence[str]) -> None:
        """Start parsing (returns at once)."""
        self._c._run(ops.parse_documents_start(self.id, document_ids))

    def async_cancel_parse_documents(self, document_ids: Sequence[str]) -> None:
        """Stop parsing documents that are running."""
        self._c._run(ops.parse_documents_cancel(self.id, document_ids))

    def parse_documents(
        self,
        document_ids: Sequence[str],
        *,
        timeout: float = 600.0,
        poll_interval: float = 1.0,
        on_progress: ProgressCallback | None = None,
        show_progress: bool = False,
        cancel_on_timeout: bool = False,
    ) -> list[Document]:
        """Start parsing and wait; raises DocumentParseError / ParseTimeoutError."""
        self.async_parse_documents(document_ids)
        result: list[Document] = self._c._run(
            ops.wait_for_parsing(
                self._c,
                self.id,
                document_ids,
                timeout=timeout,
                poll_interval=poll_interval,
                on_progress=on_progress,
                show_progress=show_progress,
                cancel_on_timeout=cancel_on_timeout,
            )
        )
        return result

    def retrieve(self, question: str, **kwargs: Any) -> list[Chunk]:
        """:meth:`RAGFlow.retrieve` restricted to this dataset."""
        return self._c.retrieve(question, dataset_ids=[self.id], **kwargs)


class Document(_DocumentFields):
    """A document of a dataset."""

    @property
    def _c(self) -> RAGFlow:
        client: RAGFlow = self._require_client()
        return client

    def update(self, update_message: Mapping[str, Any] | Sequence[Mapping[str, Any]]) -> Document:
        """Update name (seed display_name), chunk_method, parser_config, meta_fields, enabled."""
        self._merge(
            self._c._run(ops.update_document(str(self.dataset_id), self.id, update_message))
        )
        return self

    def refresh(self) -> Document:
        """Re-read this document (progress, run, counts) from the server."""
        self._merge(self._c._run(ops.get_document(str(self.dataset_id), self.id)))
        return self

    def download(self) -> bytes:
        """The original file's bytes."""
        data: bytes = self._c._run(ops.download_document(str(self.dataset_id), self.id))
        return data

    def list_chunks(
        self,
        keywords: str | None = None,
        offset: int = 1,
        limit: int = 1024,
        id: str | None = None,
    ) -> list[Chunk]:
        """Chunks ``offset`` (1-based) .. ``offset + limit - 1``."""
        return self._c._collect(
            ops.walk_chunks(self._c, str(self.dataset_id), self.id, keywords, offset, limit, id)
        )

    def iter_chunks(self, keywords: str | None = None) -> Iterator[Chunk]:
        """Every chunk, fetched lazily page by page."""
        return self._c._iterate(ops.walk_chunks(self._c, str(self.dataset_id), self.id, keywords))

    def add_chunk(
        self,
        content: str,
        important_keywords: Sequence[str] | None = (),
        *,
        questions: Sequence[str] | None = None,
        **extra: Any,
    ) -> Chunk:
        """Add a chunk by hand."""
        chunk: Chunk = self._c._run(
            ops.add_chunk(
                self._c,
                str(self.dataset_id),
                self.id,
                content,
                important_keywords,
                questions,
                extra,
            )
        )
        return chunk

    def delete_chunks(
        self, chunk_ids: Sequence[str] | None = None, *, delete_all: bool = False
    ) -> None:
        """Delete by ids; ``chunk_ids=None`` requires ``delete_all=True``; ``[]`` does nothing."""
        self._c._run(
            ops.delete_chunks(self._c, str(self.dataset_id), self.id, chunk_ids, delete_all)
        )


class Chat(_ChatFields):
    """A chat assistant."""

    @property
    def _c(self) -> RAGFlow:
        client: RAGFlow = self._require_client()
        return client

    def update(self, update_message: Mapping[str, Any]) -> Chat:
        """Update (seed nested ``llm``/``prompt``/``avatar`` accepted); refreshes self."""
        self._merge(self._c._run(ops.update_chat(self.id, update_message)))
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


class AsyncDataSet(_DataSetFields):
    """Async twin of :class:`DataSet`."""

    ParserConfig: ClassVar[type[ParserConfig]] = ParserConfig

    @property
    def _c(self) -> AsyncRAGFlow:
        client: AsyncRAGFlow = self._require_client()
        return client

    async def update(self, update_message: Mapping[str, Any]) -> AsyncDataSet:
        """Update fields (seed parser_config keys are translated); refreshes and returns self."""
        self._merge(await self._c._run(ops.update_dataset(self.id, update_message)))
        return self

    async def upload_documents(
        self, document_list: Sequence[Mapping[str, Any]]
    ) -> list[AsyncDocument]:
        """Upload ``[{"display_name": "a.txt", "blob": b"...", "meta_fields"?: {...}}, ...]``."""
        result: list[AsyncDocument] = await self._c._run(
            ops.upload_documents(self._c, self.id, document_list)
        )
        return result

    async def list_documents(
        self,
        id: str | None = None,
        keywords: str | None = None,
        offset: int = 1,
        limit: int = 1024,
        orderby: str = "create_time",
        desc: bool = True,
        *,
        name: str | None = None,
        run: str | Sequence[str] | None = None,
        metadata_condition: Mapping[str, Any] | None = None,
        order_by: str | None = None,
    ) -> list[AsyncDocument]:
        """Documents ``offset`` (1-based) .. ``offset + limit - 1``."""
        return await self._c._collect(
            ops.walk_documents(
                self._c,
                self.id,
                id,
                keywords,
                offset,
                limit,
                order_by or orderby,
                desc,
                name,
                run,
                metadata_condition,
            )
        )

    def iter_documents(
        self,
        keywords: str | None = None,
        orderby: str = "create_time",
        desc: bool = True,
        *,
        name: str | None = None,
        run: str | Sequence[str] | None = None,
        metadata_condition: Mapping[str, Any] | None = None,
    ) -> AsyncIterator[AsyncDocument]:
        """Every matching document, fetched lazily page by page."""
        return self._c._iterate(
            ops.walk_documents(
                self._c,
                self.id,
                None,
                keywords,
                1,
                None,
                orderby,
                desc,
                name,
                run,
                metadata_condition,
            )
        )

    async def delete_documents(
        self, ids: Sequence[str] | None = None, *, delete_all: bool = False
    ) -> None:
        """Delete by ids; ``ids=None`` requires ``delete_all=True``; ``[]`` does nothing."""
        await self._c._run(ops.delete_documents(self._c, self.id, ids, delete_all))

    async def async_parse_documents(self, document_ids: Sequence[str]) -> None:
        """Start parsing (returns at once)."""
        await self._c._run(ops.parse_documents_start(self.id, document_ids))

    async def async_cancel_parse_documents(self, document_ids: Sequence[str]) -> None:
        """Stop parsing documents that are running."""
        await self._c._run(ops.parse_documents_cancel(self.id, document_ids))

    async def parse_documents(
        self,
        document_ids: Sequence[str],
        *,
        timeout: float = 600.0,
        poll_interval: float = 1.0,
        on_progress: ProgressCallback | None = None,
        show_progress: bool = False,
        cancel_on_timeout: bool = False,
    ) -> list[AsyncDocument]:
        """Start parsing and wait; raises DocumentParseError / ParseTimeoutError."""
        await self.async_parse_documents(document_ids)
        result: list[AsyncDocument] = await self._c._run(
            ops.wait_for_parsing(
                self._c,
                self.id,
                document_ids,
                timeout=timeout,
                poll_interval=poll_interval,
                on_progress=on_progress,
                show_progress=show_progress,
                cancel_on_timeout=cancel_on_timeout,
            )
        )
        return result

    async def retrieve(self, question: str, **kwargs: Any) -> list[AsyncChunk]:
        """:meth:`RAGFlow.retrieve` restricted to this dataset."""
        return await self._c.retrieve(question, dataset_ids=[self.id], **kwargs)


class AsyncDocument(_DocumentFields):
    """Async twin of :class:`Document`."""

    @property
    def _c(self) -> AsyncRAGFlow:
        client: AsyncRAGFlow = self._require_client()
        return client

    async def update(
        self, update_message: Mapping[str, Any] | Sequence[Mapping[str, Any]]
    ) -> AsyncDocument:
        """Update name (seed display_name), chunk_method, parser_config, meta_fields, enabled."""
        self._merge(
            await self._c._run(ops.update_document(str(self.dataset_id), self.id, update_message))
        )
        return self

    async def refresh(self) -> AsyncDocument:
        """Re-read this document (progress, run, counts) from the server."""
        self._merge(await self._c._run(ops.get_document(str(self.dataset_id), self.id)))
        return self

    async def download(self) -> bytes:
        """The original file's bytes."""
        data: bytes = await self._c._run(ops.download_document(str(self.dataset_id), self.id))
        return data

    async def list_chunks(
        self,
        keywords: str | None = None,
        offset: int = 1,
        limit: int = 1024,
        id: str | None = None,
    ) -> list[AsyncChunk]:
        """Chunks ``offset`` (1-based) .. ``offset + limit - 1``."""
        return await self._c._collect(
            ops.walk_chunks(self._c, str(self.dataset_id), self.id, keywords, offset, limit, id)
        )

    def iter_chunks(self, keywords: str | None = None) -> AsyncIterator[AsyncChunk]:
        """Every chunk, fetched lazily page by page."""
        return self._c._iterate(ops.walk_chunks(self._c, str(self.dataset_id), self.id, keywords))

    async def add_chunk(
        self,
        content: str,
        important_keywords: Sequence[str] | None = (),
        *,
        questions: Sequence[str] | None = None,
        **extra: Any,
    ) -> AsyncChunk:
        """Add a chunk by hand."""
        chunk: AsyncChunk = await self._c._run(
            ops.add_chunk(
                self._c,
                str(self.dataset_id),
                self.id,
                content,
                important_keywords,
                questions,
                extra,
            )
        )
        return chunk

    async def delete_chunks(
        self, chunk_ids: Sequence[str] | None = None, *, delete_all: bool = False
    ) -> None:
        """Delete by ids; ``chunk_ids=None`` requires ``delete_all=True``; ``[]`` does nothing."""
        await self._c._run(
            ops.delete_chunks(self._c, str(self.dataset_id), self.id, chunk_ids, delete_all)
        )


class AsyncChat(_ChatFields):
    """Async twin of :class:`Chat`."""

    @property
    def _c(self) -> AsyncRAGFlow:
        client: AsyncRAGFlow = self._require_client()
        return client

    async def update(self, update_message: Mapping[str, Any]) -> AsyncChat:
        """Update (seed nested ``llm``/``prompt``/``avatar`` accepted); refreshes self."""
        self._merge(await self._c._run(ops.update_chat(self.id, update_message)))
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
