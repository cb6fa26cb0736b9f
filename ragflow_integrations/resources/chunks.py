"""Chunks: a document's chunks (``/datasets/{id}/documents/{id}/chunks``).

Operations list, add, update and delete chunks; :class:`Chunk` is the object (also what retrieval
and chat references return); :class:`DocumentChunks` are ``Document``'s chunk methods. Client
methods call the operation of the same name defined in this module (a module-level function).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from pydantic import Field, model_validator

from .._core.features import ServerFeatures
from .._core.ops import (
    FEATURES,
    Context,
    Op,
    as_id_list,
    call,
    collect_ids,
    delete_by,
    merge_update,
    object_of,
    seg,
    walk,
)
from .._models import AsyncObject, SyncObject, _Model

# ----------------------------------------------------------------------------------------------
# operations
# ----------------------------------------------------------------------------------------------


def walk_chunks(
    ctx: Context,
    dataset_id: str,
    document_id: str,
    keywords: str | None = None,
    offset: int = 1,
    limit: int | None = None,
    id: str | None = None,
) -> Op:
    params = {"keywords": keywords or None, "id": id or None}
    return (
        yield from walk(
            ctx,
            "chunk",
            f"/datasets/{seg(dataset_id)}/documents/{seg(document_id)}/chunks",
            params,
            offset=offset,
            limit=limit,
            keys=("chunks",),
            defaults={"dataset_id": dataset_id, "document_id": document_id},
        )
    )


def add_chunk(
    ctx: Context,
    dataset_id: str,
    document_id: str,
    content: str,
    important_keywords: Sequence[str] | None = (),
    questions: Sequence[str] | None = None,
    extra: Mapping[str, Any] | None = None,
) -> Op:
    keywords = chunk_list(important_keywords, "important_keywords") or []
    body: dict[str, Any] = {"content": content, "important_keywords": keywords}
    question_list = chunk_list(questions, "questions")
    if question_list:
        body["questions"] = question_list
    body.update(extra or {})
    response = yield call(
        "POST", f"/datasets/{seg(dataset_id)}/documents/{seg(document_id)}/chunks", json=body
    )
    data = object_of(response, "the added chunk")
    chunk = data.get("chunk", data)
    chunk = dict(chunk) if isinstance(chunk, Mapping) else data
    chunk.setdefault("dataset_id", dataset_id)
    chunk.setdefault("document_id", document_id)
    return ctx.wrap("chunk", chunk)


def delete_chunks(
    ctx: Context,
    dataset_id: str,
    document_id: str,
    chunk_ids: Sequence[str] | None,
    delete_all: bool,
) -> Op:
    return (
        yield from delete_by(
            f"/datasets/{seg(dataset_id)}/documents/{seg(document_id)}/chunks",
            chunk_ids,
            delete_all,
            "chunks",
            id_key="chunk_ids",
            list_all=lambda: collect_ids(walk_chunks(ctx, dataset_id, document_id)),
        )
    )


def chunk_list(value: Any, name: str) -> list[str] | None:
    """A chunk's ``important_keywords`` / ``questions``: a list of str, or None (not given)."""
    if value is None:
        return None
    return as_id_list(value, name, "keyword" if name == "important_keywords" else "question")


def update_chunk(dataset_id: str, document_id: str, chunk_id: str, update_message: Any) -> Op:
    body = merge_update(update_message)
    for key in ("important_keywords", "questions"):
        if key in body:
            value = chunk_list(body.pop(key), key)
            if value is not None:
                body[key] = value
    features: ServerFeatures = yield FEATURES
    yield call(
        features.update_method,
        f"/datasets/{seg(dataset_id)}/documents/{seg(document_id)}/chunks/{seg(chunk_id)}",
        json=body,
    )
    return body


# ----------------------------------------------------------------------------------------------
# objects
# ----------------------------------------------------------------------------------------------


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
            update_chunk(
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
            update_chunk(
                self._parent("dataset_id"), self._parent("document_id"), self.id, update_message
            )
        )
        self._merge(body)


# ----------------------------------------------------------------------------------------------
# Document's chunk methods
# ----------------------------------------------------------------------------------------------


class DocumentChunks(SyncObject):
    """``Document.list_chunks`` / ``iter_chunks`` / ``add_chunk`` / ``delete_chunks``."""

    if TYPE_CHECKING:
        dataset_id: str | None

    def list_chunks(
        self,
        keywords: str | None = None,
        offset: int = 1,
        limit: int = 1024,
        id: str | None = None,
    ) -> list[Chunk]:
        """Chunks ``offset`` (1-based) .. ``offset + limit - 1``."""
        return self._c._collect(
            walk_chunks(self._c, str(self.dataset_id), self.id, keywords, offset, limit, id)
        )

    def iter_chunks(self, keywords: str | None = None) -> Iterator[Chunk]:
        """Every chunk, fetched lazily page by page."""
        return self._c._iterate(walk_chunks(self._c, str(self.dataset_id), self.id, keywords))

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
            add_chunk(
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
        self._c._run(delete_chunks(self._c, str(self.dataset_id), self.id, chunk_ids, delete_all))


class AsyncDocumentChunks(AsyncObject):
    """Async twin of :class:`DocumentChunks`."""

    if TYPE_CHECKING:
        dataset_id: str | None

    async def list_chunks(
        self,
        keywords: str | None = None,
        offset: int = 1,
        limit: int = 1024,
        id: str | None = None,
    ) -> list[AsyncChunk]:
        """Chunks ``offset`` (1-based) .. ``offset + limit - 1``."""
        return await self._c._collect(
            walk_chunks(self._c, str(self.dataset_id), self.id, keywords, offset, limit, id)
        )

    def iter_chunks(self, keywords: str | None = None) -> AsyncIterator[AsyncChunk]:
        """Every chunk, fetched lazily page by page."""
        return self._c._iterate(walk_chunks(self._c, str(self.dataset_id), self.id, keywords))

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
            add_chunk(
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
            delete_chunks(self._c, str(self.dataset_id), self.id, chunk_ids, delete_all)
        )
