"""Retrieval: ranked chunks for a question across datasets (``POST /retrieval``).

Operations build the request body and walk the ranked window, or read one page with its
``total`` and ``doc_aggs`` (:class:`RetrievalResult`), giving chunks their document's metadata
where the server cannot (``reference_metadata`` before v0.26); :class:`Retrieval` /
:class:`AsyncRetrieval` are the client methods (``DataSet.retrieve`` calls them). Methods call the
operation of the same name defined in this module.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from .._base_client import AsyncAPIClient, SyncAPIClient
from .._core.features import ServerFeatures
from .._core.ops import (
    FEATURES,
    Context,
    Op,
    active_condition,
    as_id_list,
    call,
    data_of,
    items_of,
    object_of,
    seg,
    walk,
)
from .._core.paging import as_int, page_window
from .._core.request import make_params
from ..errors import NotFoundError
from .chunks import AsyncChunk, Chunk

# ----------------------------------------------------------------------------------------------
# operations
# ----------------------------------------------------------------------------------------------


def retrieval_body(
    question: str,
    dataset_ids: Sequence[str] | None,
    document_ids: Sequence[str] | None,
    similarity_threshold: float,
    vector_similarity_weight: float,
    top_k: int,
    rerank_id: str | None,
    keyword: bool,
    highlight: bool,
    cross_languages: Sequence[str] | None,
    metadata_condition: Mapping[str, Any] | None,
    use_kg: bool,
    toc_enhance: bool,
    reference_metadata: Mapping[str, Any] | None,
) -> dict[str, Any]:
    if not dataset_ids:
        raise ValueError(
            "retrieve needs dataset_ids=[...] (the server requires it even when document_ids "
            "are given)"
        )
    dataset_ids = as_id_list(dataset_ids, "dataset_ids")
    document_ids = as_id_list(document_ids, "document_ids") if document_ids else None
    body: dict[str, Any] = {
        "question": question,
        "dataset_ids": list(dataset_ids),
        "similarity_threshold": similarity_threshold,
        "vector_similarity_weight": vector_similarity_weight,
        "top_k": top_k,
        "keyword": keyword,
        "highlight": highlight,
    }
    if document_ids:
        body["document_ids"] = list(document_ids)
    if rerank_id:
        body["rerank_id"] = rerank_id
    if cross_languages:
        body["cross_languages"] = list(cross_languages)
    if metadata_condition is not None and active_condition(metadata_condition):
        body["metadata_condition"] = dict(metadata_condition)
    if use_kg:
        body["use_kg"] = True
    if toc_enhance:
        body["toc_enhance"] = True
    if reference_metadata:
        body["reference_metadata"] = dict(reference_metadata)
    return body


def _metadata_wanted(body: Mapping[str, Any]) -> tuple[bool, set[str] | None]:
    """Whether ``reference_metadata`` asks for document metadata, and for which fields."""
    preference = body.get("reference_metadata")
    if not isinstance(preference, Mapping) or not preference.get("include"):
        return False, None
    fields = preference.get("fields")
    if fields is None:
        return True, None
    return True, {f for f in fields if isinstance(f, str)} if isinstance(fields, list) else set()


def document_metadata_filler(
    body: Mapping[str, Any],
) -> Callable[[list[dict[str, Any]]], Op] | None:
    """For servers before v0.26, which ignore ``reference_metadata``: a step that gives
    retrieved chunks their document's ``meta_fields`` as ``document_metadata``, as newer servers
    do (one documents request per distinct document of a retrieval, never one per chunk)."""
    wanted, fields = _metadata_wanted(body)
    if not wanted or fields == set():
        return None
    known: dict[str, dict[str, Any]] = {}

    def fill(chunks: list[dict[str, Any]]) -> Op:
        features: ServerFeatures = yield FEATURES
        if features.retrieval_document_metadata:
            return None
        for chunk in chunks:
            doc_id, dataset_id = chunk.get("document_id"), chunk.get("dataset_id")
            if chunk.get("document_metadata") or not doc_id or not dataset_id:
                continue
            if doc_id not in known:
                known[doc_id] = yield from _document_meta_fields(str(dataset_id), str(doc_id))
            meta = known[doc_id]
            if fields is not None:
                meta = {k: v for k, v in meta.items() if k in fields}
            if meta:
                chunk["document_metadata"] = dict(meta)
        return None

    return fill


def _document_meta_fields(dataset_id: str, document_id: str) -> Op:
    try:
        response = yield call(
            "GET",
            f"/datasets/{seg(dataset_id)}/documents",
            params=make_params(id=document_id, page=1, page_size=1),
        )
    except NotFoundError:  # deleted since it was retrieved
        return {}
    items, _ = items_of(data_of(response), "docs")
    meta = items[0].get("meta_fields") if items and isinstance(items[0], Mapping) else None
    return dict(meta) if isinstance(meta, Mapping) else {}


def walk_retrieval(
    ctx: Context, body: Mapping[str, Any], offset: int = 1, limit: int | None = None
) -> Op:
    return (
        yield from walk(
            ctx,
            "chunk",
            "/retrieval",
            {},
            offset=offset,
            limit=limit,
            keys=("chunks",),
            method="POST",
            json_body=body,
            enrich=document_metadata_filler(body),
        )
    )


def retrieve_page(ctx: Context, body: Mapping[str, Any], page: int, page_size: int) -> Op:
    page = as_int(page, "page")
    if as_int(page_size, "page_size") > 100 or page_size < 1:
        raise ValueError(f"page_size must be between 1 and 100 (got {page_size})")
    response = yield call(
        "POST", "/retrieval", json=dict(body, page=page, page_size=page_size), idempotent=True
    )
    data = object_of(response, "a retrieval result")
    items, total = items_of(data, "chunks")
    chunks = [dict(c) for c in items if isinstance(c, Mapping)]
    fill = document_metadata_filler(body)
    if fill is not None and chunks:
        yield from fill(chunks)
    aggs = data.get("doc_aggs") if isinstance(data, Mapping) else None
    return {
        "chunks": [ctx.wrap("chunk", c) for c in chunks],
        "total": total if total is not None else len(chunks),
        "doc_aggs": list(aggs) if isinstance(aggs, list) else [],
    }


# ----------------------------------------------------------------------------------------------
# objects
# ----------------------------------------------------------------------------------------------


@dataclass
class RetrievalResult:
    """One retrieval page: chunks, the server's ``total`` and per-document counts (``doc_aggs``)."""

    chunks: list[Chunk] = field(default_factory=list)
    total: int = 0
    doc_aggs: list[Any] = field(default_factory=list)


# ----------------------------------------------------------------------------------------------
# client methods
# ----------------------------------------------------------------------------------------------


class Retrieval(SyncAPIClient):
    """``RAGFlow.retrieve`` / ``retrieve_page``."""

    def retrieve(
        self,
        question: str = "",
        dataset_ids: Sequence[str] | None = None,
        document_ids: Sequence[str] | None = None,
        offset: int = 1,
        limit: int = 1024,
        similarity_threshold: float = 0.2,
        vector_similarity_weight: float = 0.3,
        top_k: int = 1024,
        rerank_id: str | None = None,
        keyword: bool = False,
        highlight: bool = False,
        *,
        page: int | None = None,
        page_size: int | None = None,
        cross_languages: Sequence[str] | None = None,
        metadata_condition: Mapping[str, Any] | None = None,
        use_kg: bool = False,
        toc_enhance: bool = False,
        reference_metadata: Mapping[str, Any] | None = None,
        higlight: bool | None = None,
    ) -> list[Chunk]:
        """Chunks ranked ``offset`` .. ``offset+limit-1`` (or ``page``/``page_size``).

        ``higlight`` is the seed signature's spelling of ``highlight``, accepted as its alias.
        """
        if higlight is not None:
            highlight = bool(higlight)
        body = retrieval_body(
            question,
            dataset_ids,
            document_ids,
            similarity_threshold,
            vector_similarity_weight,
            top_k,
            rerank_id,
            keyword,
            highlight,
            cross_languages,
            metadata_condition,
            use_kg,
            toc_enhance,
            reference_metadata,
        )
        if page is not None or page_size is not None:
            offset, limit = page_window(page or 1, page_size or 30)
        return self._collect(walk_retrieval(self, body, offset, limit))

    def retrieve_page(
        self,
        question: str,
        dataset_ids: Sequence[str],
        document_ids: Sequence[str] | None = None,
        *,
        page: int = 1,
        page_size: int = 30,
        similarity_threshold: float = 0.2,
        vector_similarity_weight: float = 0.3,
        top_k: int = 1024,
        rerank_id: str | None = None,
        keyword: bool = False,
        highlight: bool = False,
        cross_languages: Sequence[str] | None = None,
        metadata_condition: Mapping[str, Any] | None = None,
        use_kg: bool = False,
        toc_enhance: bool = False,
        reference_metadata: Mapping[str, Any] | None = None,
    ) -> RetrievalResult:
        """One retrieval request: chunks plus ``total`` and ``doc_aggs``."""
        body = retrieval_body(
            question,
            dataset_ids,
            document_ids,
            similarity_threshold,
            vector_similarity_weight,
            top_k,
            rerank_id,
            keyword,
            highlight,
            cross_languages,
            metadata_condition,
            use_kg,
            toc_enhance,
            reference_metadata,
        )
        return RetrievalResult(**self._run(retrieve_page(self, body, page, page_size)))


class AsyncRetrieval(AsyncAPIClient):
    """Async twin of :class:`Retrieval`."""

    async def retrieve(
        self,
        question: str = "",
        dataset_ids: Sequence[str] | None = None,
        document_ids: Sequence[str] | None = None,
        offset: int = 1,
        limit: int = 1024,
        similarity_threshold: float = 0.2,
        vector_similarity_weight: float = 0.3,
        top_k: int = 1024,
        rerank_id: str | None = None,
        keyword: bool = False,
        highlight: bool = False,
        *,
        page: int | None = None,
        page_size: int | None = None,
        cross_languages: Sequence[str] | None = None,
        metadata_condition: Mapping[str, Any] | None = None,
        use_kg: bool = False,
        toc_enhance: bool = False,
        reference_metadata: Mapping[str, Any] | None = None,
        higlight: bool | None = None,
    ) -> list[AsyncChunk]:
        """Chunks ranked ``offset`` .. ``offset+limit-1`` (or ``page``/``page_size``).

        ``higlight`` is the seed signature's spelling of ``highlight``, accepted as its alias.
        """
        if higlight is not None:
            highlight = bool(higlight)
        body = retrieval_body(
            question,
            dataset_ids,
            document_ids,
            similarity_threshold,
            vector_similarity_weight,
            top_k,
            rerank_id,
            keyword,
            highlight,
            cross_languages,
            metadata_condition,
            use_kg,
            toc_enhance,
            reference_metadata,
        )
        if page is not None or page_size is not None:
            offset, limit = page_window(page or 1, page_size or 30)
        return await self._collect(walk_retrieval(self, body, offset, limit))

    async def retrieve_page(
        self,
        question: str,
        dataset_ids: Sequence[str],
        document_ids: Sequence[str] | None = None,
        *,
        page: int = 1,
        page_size: int = 30,
        similarity_threshold: float = 0.2,
        vector_similarity_weight: float = 0.3,
        top_k: int = 1024,
        rerank_id: str | None = None,
        keyword: bool = False,
        highlight: bool = False,
        cross_languages: Sequence[str] | None = None,
        metadata_condition: Mapping[str, Any] | None = None,
        use_kg: bool = False,
        toc_enhance: bool = False,
        reference_metadata: Mapping[str, Any] | None = None,
    ) -> RetrievalResult:
        """One retrieval request: chunks plus ``total`` and ``doc_aggs``."""
        body = retrieval_body(
            question,
            dataset_ids,
            document_ids,
            similarity_threshold,
            vector_similarity_weight,
            top_k,
            rerank_id,
            keyword,
            highlight,
            cross_languages,
            metadata_condition,
            use_kg,
            toc_enhance,
            reference_metadata,
        )
        return RetrievalResult(**await self._run(retrieve_page(self, body, page, page_size)))
