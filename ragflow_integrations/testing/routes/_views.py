"""Wire shapes of stored objects and lookups shared by several route modules."""

from __future__ import annotations

from typing import Any

from .._util import ApiError, Json
from ..store import Hit
from ._common import NICKNAME, TENANT_ID, ServerState, public_view


def dataset_view(state: ServerState, ds: Json) -> Json:
    docs = state.store.all("document", ds["id"])
    out = public_view(ds)
    out["document_count"] = len(docs)
    out["chunk_count"] = sum(int(d.get("chunk_count") or 0) for d in docs)
    out["token_num"] = sum(int(d.get("token_count") or 0) for d in docs)
    return out


def document_view(doc: Json) -> Json:
    return public_view(doc)


def find_dataset(
    state: ServerState, dataset_id: str, message: str | None = None, code: int = 102
) -> Json:
    ds = state.store.get("dataset", dataset_id)
    if ds is None:
        raise ApiError(code, message or f"You don't own the dataset {dataset_id}. ")
    return ds


def find_document(state: ServerState, dataset_id: str, document_id: str) -> Json:
    doc = state.store.get("document", document_id)
    if doc is None or doc.get("dataset_id") != dataset_id:
        raise ApiError(102, f"You don't own the document {document_id}.")
    return doc


def chunk_view(chunk: Json, doc_name: str) -> Json:
    """A chunk as the chunk list returns it."""
    out = public_view(chunk)
    out["docnm_kwd"] = doc_name
    out["available"] = bool(chunk.get("available", True))
    return out


def retrieval_chunk(
    state: ServerState, hit: Hit, *, highlight: str | None = None, metadata: Json | None = None
) -> Json:
    """A chunk as ``POST /retrieval`` returns it."""
    chunk = hit.chunk
    doc = state.store.get("document", chunk["document_id"]) or {}
    out: Json = {
        "id": chunk["id"],
        "content": chunk["content"],
        "content_ltks": " ".join(chunk["content"].lower().split()),
        "document_id": chunk["document_id"],
        "document_keyword": doc.get("name", ""),
        "dataset_id": chunk["dataset_id"],
        "kb_id": chunk["dataset_id"],
        "important_keywords": list(chunk.get("important_keywords") or []),
        "tag_kwd": list(chunk.get("tag_kwd") or []),
        "image_id": chunk.get("image_id") or "",
        "similarity": hit.similarity,
        "vector_similarity": hit.vector_similarity,
        "term_similarity": hit.term_similarity,
        "positions": list(chunk.get("positions") or []),
        "doc_type_kwd": chunk.get("doc_type_kwd", "text"),
        "mom_id": "",
        "row_id": chunk.get("_rowid", 0),
    }
    if chunk.get("questions"):
        out["questions"] = list(chunk["questions"])
    if highlight is not None:
        out["highlight"] = highlight
    if metadata is not None:
        out["document_metadata"] = metadata
    return out


def reference_chunk(state: ServerState, hit: Hit, metadata: Json | None = None) -> Json:
    """A chunk in the ``chunks_format`` shape used by chat references."""
    chunk = hit.chunk
    doc = state.store.get("document", chunk["document_id"]) or {}
    out: Json = {
        "id": chunk["id"],
        "content": chunk["content"],
        "document_id": chunk["document_id"],
        "document_name": doc.get("name", ""),
        "dataset_id": chunk["dataset_id"],
        "image_id": chunk.get("image_id") or "",
        "positions": list(chunk.get("positions") or []),
        "url": None,
        "similarity": hit.similarity,
        "vector_similarity": hit.vector_similarity,
        "term_similarity": hit.term_similarity,
        "row_id": chunk.get("_rowid", 0),
        "doc_type": chunk.get("doc_type_kwd", "text"),
    }
    if metadata is not None:
        out["document_metadata"] = metadata
    return out


def doc_aggs(state: ServerState, hits: list[Hit]) -> list[Json]:
    counts: dict[str, int] = {}
    for hit in hits:
        counts[hit.chunk["document_id"]] = counts.get(hit.chunk["document_id"], 0) + 1
    out = []
    for doc_id, count in counts.items():
        doc = state.store.get("document", doc_id) or {}
        out.append({"doc_name": doc.get("name", ""), "doc_id": doc_id, "count": count})
    out.sort(key=lambda a: -int(a["count"]))
    return out


def owner_fields() -> Json:
    return {"tenant_id": TENANT_ID, "created_by": TENANT_ID}


def user_label() -> dict[str, Any]:
    return {"nickname": NICKNAME, "tenant_avatar": None}
