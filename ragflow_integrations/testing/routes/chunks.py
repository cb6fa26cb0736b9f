"""Chunks (§3.4) and retrieval (§3.5)."""

from __future__ import annotations

import re
import time
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from .._util import ApiError, Json, chunk_id_for, multi, normalise_id, paging, read_json, result
from ..metadata import metadata_matches
from ..store import Hit, query_terms
from ._common import ServerState, endpoint, method_not_allowed, state_of
from ._views import (
    chunk_view,
    doc_aggs,
    document_view,
    find_dataset,
    find_document,
    retrieval_chunk,
)


def _doc_of(state: ServerState, request: Request) -> tuple[Json, Json]:
    dataset_id = normalise_id(request.path_params["dataset_id"]) or ""
    ds = find_dataset(state, dataset_id)
    doc = find_document(state, ds["id"], request.path_params["document_id"])
    return ds, doc


def highlight_text(text: str, question: str) -> str:
    """Wrap words matching the query terms (as prefixes) in ``<em>``."""
    terms = [re.escape(t) for t in query_terms(question)]
    if not terms:
        return text
    pattern = re.compile(r"\b(?:" + "|".join(terms) + r")\w*", re.IGNORECASE)
    return pattern.sub(lambda m: f"<em>{m.group(0)}</em>", text)


def refresh_counts(state: ServerState, doc: Json) -> None:
    chunks = state.store.chunks_of(doc["id"])
    doc["chunk_count"] = len(chunks)
    doc["token_count"] = sum(len(c["content"].split()) for c in chunks)
    state.store.put("document", doc)


@endpoint
async def list_chunks(request: Request) -> Response:
    state = state_of(request)
    _, doc = _doc_of(state, request)
    params = request.query_params
    page, size = paging(params, cap=not state.old)
    chunks = state.store.chunks_of(doc["id"])
    wanted = params.get("id")
    if wanted:
        chunks = [c for c in chunks if c["id"] == wanted]
        if not chunks:
            raise ApiError(102, f"Chunk not found: {doc['dataset_id']}/{wanted}")
    ids = multi(request, "chunk_ids")
    if ids:
        chunks = [c for c in chunks if c["id"] in set(ids)]
    available = params.get("available")
    if available is not None and available.lower() in {"true", "false", "1", "0"}:
        flag = available.lower() in {"true", "1"}
        chunks = [c for c in chunks if bool(c.get("available", True)) == flag]
    keywords = params.get("keywords", "").strip()
    if keywords:
        terms = query_terms(keywords) or [keywords.lower()]
        chunks = [c for c in chunks if any(t in c["content"].lower() for t in terms)]
    total = len(chunks)
    start = (page - 1) * size
    out = []
    for chunk in chunks[start : start + size]:
        view = chunk_view(chunk, doc["name"])
        if keywords:  # §3.4: matching content comes back with highlight markup (no extra key)
            view["content"] = highlight_text(chunk["content"], keywords)
        out.append(view)
    return result({"total": total, "chunks": out, "doc": document_view(doc)})


@endpoint
async def get_chunk(request: Request) -> Response:
    """§3.4: the raw stored chunk, with RAGFlow's internal field names."""
    state = state_of(request)
    ds, doc = _doc_of(state, request)
    chunk_id = request.path_params["chunk_id"]
    chunk = state.store.chunks.get(chunk_id)
    if chunk is None or chunk["document_id"] != doc["id"]:
        raise ApiError(102, f"Chunk not found: {ds['id']}/{chunk_id}")
    keywords = list(chunk.get("important_keywords") or [])
    questions = list(chunk.get("questions") or [])
    raw: Json = {
        "id": chunk["id"],
        "doc_id": doc["id"],
        "kb_id": ds["id"],
        "docnm_kwd": doc["name"],
        "title_tks": doc["name"].lower(),
        "content_with_weight": chunk["content"],
        "important_kwd": keywords,
        "question_kwd": questions,
        "tag_kwd": list(chunk.get("tag_kwd") or []),
        "tag_feas": chunk.get("tag_feas") or {},
        "img_id": chunk.get("image_id") or "",
        "doc_type_kwd": chunk.get("doc_type_kwd") or "text",
        "available_int": 1 if chunk.get("available", True) else 0,
        "position_int": [list(p) for p in chunk.get("positions") or []],
        "create_time": chunk.get("create_time", ""),
        "create_timestamp_flt": chunk.get("create_timestamp", 0.0),
    }
    return result(raw)


def _string_list(req: Json, key: str) -> list[str]:
    value = req.get(key, [])
    if value is None:
        return []
    if not isinstance(value, list):
        raise ApiError(102, f"`{key}` is required to be a list")
    return [str(v) for v in value]


@endpoint
async def add_chunk(request: Request) -> Response:
    state = state_of(request)
    ds, doc = _doc_of(state, request)
    req = await read_json(request)
    content = req.get("content")
    if not isinstance(content, str) or not content.strip():
        raise ApiError(102, "`content` is required")
    now = time.time()
    chunk: Json = {
        "id": chunk_id_for(content, doc["id"]),
        "content": content,
        "document_id": doc["id"],
        "dataset_id": ds["id"],
        "important_keywords": _string_list(req, "important_keywords"),
        "questions": _string_list(req, "questions"),
        "tag_kwd": _string_list(req, "tag_kwd"),
        "available": True,
        "positions": [],
        "image_id": "",
        "doc_type_kwd": "image" if req.get("image_base64") else "text",
        "create_time": time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(now)),
        "create_timestamp": now,
    }
    if chunk["doc_type_kwd"] == "image":
        chunk["image_id"] = f"{ds['id']}-{chunk['id']}"
    with state.store.lock:
        state.store.add_chunks([chunk])
        refresh_counts(state, doc)
    out = {k: v for k, v in chunk.items() if not k.startswith("_") and k != "available"}
    return result({"chunk": out})


def _as_bool(value: Any) -> bool:
    if isinstance(value, str):
        return value.strip().lower() in {"true", "1", "yes"}
    return bool(value)


@endpoint
async def update_chunk(request: Request) -> Response:
    state = state_of(request)
    _, doc = _doc_of(state, request)
    chunk_id = request.path_params["chunk_id"]
    req = await read_json(request)
    chunk = state.store.chunks.get(chunk_id)
    if chunk is None or chunk["document_id"] != doc["id"]:
        raise ApiError(102, f"Can't find this chunk {chunk_id}")
    reembed = False
    with state.store.lock:
        if "content" in req:
            content = req["content"]
            if not isinstance(content, str) or not content.strip():
                raise ApiError(102, "`content` is required")
            if doc.get("chunk_method") == "qa" and not re.search(r"[\t\n]", content):
                raise ApiError(102, "Q&A must be separated by TAB/ENTER key.")
            chunk["content"] = content
            reembed = True
        for key in ("important_keywords", "questions", "tag_kwd"):
            if key in req:
                chunk[key] = _string_list(req, key)
                reembed = True
        if "positions" in req:
            chunk["positions"] = req["positions"]
        if "available" in req:
            chunk["available"] = _as_bool(req["available"])
        state.store.update_chunk(chunk, reembed=reembed)
        refresh_counts(state, doc)
    return result()


@endpoint
async def switch_chunks(request: Request) -> Response:
    """PATCH .../chunks: bulk enable/disable."""
    state = state_of(request)
    _, doc = _doc_of(state, request)
    req = await read_json(request)
    ids = _string_list(req, "chunk_ids")
    if "available_int" in req:
        flag = int(req["available_int"]) == 1
    elif "available" in req:
        flag = _as_bool(req["available"])
    else:
        raise ApiError(102, "`available_int` or `available` is required.")
    with state.store.lock:
        for cid in ids:
            chunk = state.store.chunks.get(cid)
            if chunk is None or chunk["document_id"] != doc["id"]:
                raise ApiError(102, f"Can't find this chunk {cid}")
        for cid in ids:
            chunk = state.store.chunks[cid]
            chunk["available"] = flag
            state.store.update_chunk(chunk, reembed=False)
    return result(True)


@endpoint
async def delete_chunks(request: Request) -> Response:
    state = state_of(request)
    _, doc = _doc_of(state, request)
    req = await read_json(request)
    ids = req.get("chunk_ids")
    with state.store.lock:
        all_requested = ids is None if state.old else bool(req.get("delete_all"))
        if all_requested:
            targets = [c["id"] for c in state.store.chunks_of(doc["id"])]
        elif not ids:
            return result()
        else:
            if not isinstance(ids, list):
                raise ApiError(102, "`chunk_ids` should be a list")
            unique = list(dict.fromkeys(str(i) for i in ids))
            targets = [
                c
                for c in unique
                if (state.store.chunks.get(c) or {}).get("document_id") == doc["id"]
            ]
            if len(targets) < len(unique):
                removed = state.store.delete_chunks(targets)
                refresh_counts(state, doc)
                raise ApiError(102, f"rm_chunk deleted chunks {removed}, expect {len(unique)}")
            if len(unique) < len(ids):
                state.store.delete_chunks(targets)
                refresh_counts(state, doc)
                dups = sorted({str(i) for i in ids if ids.count(i) > 1})
                return result(
                    {
                        "success_count": len(targets),
                        "errors": [f"Duplicate chunk ids: {d}" for d in dups],
                    }
                )
        state.store.delete_chunks(targets)
        refresh_counts(state, doc)
    return result()


# ---------------------------------------------------------------- retrieval
def _number(req: Json, key: str, default: float) -> float:
    value = req.get(key, default)
    if value is None:
        return default
    try:
        return float(value)
    except (TypeError, ValueError):
        raise ApiError(102, f"`{key}` should be a number") from None


def run_retrieval(
    state: ServerState,
    *,
    question: str,
    dataset_ids: list[str],
    document_ids: list[str] | None,
    top_k: int,
    threshold: float,
    weight: float,
    metadata_condition: Json | None,
) -> list[Hit]:
    """Shared by /retrieval, chats, the OpenAI endpoint and agents."""
    doc_filter: set[str] | None = set(document_ids) if document_ids else None
    disabled: set[str] = set()
    for dataset_id in dataset_ids:
        for doc in state.store.all("document", dataset_id):
            if doc.get("status") == "0":
                disabled.add(doc["id"])
    if metadata_condition and not document_ids:
        doc_filter = {
            d["id"]
            for ds_id in dataset_ids
            for d in state.store.all("document", ds_id)
            if metadata_matches(d.get("meta_fields") or {}, metadata_condition)
        }
        if not doc_filter:
            return []
    return state.store.search(
        question=question,
        dataset_ids=dataset_ids,
        doc_filter=doc_filter,
        disabled_docs=disabled,
        top_k=top_k,
        threshold=threshold,
        weight=weight,
    )


def reference_metadata_option(req: Json) -> tuple[bool, list[str] | None]:
    option = req.get("reference_metadata")
    if isinstance(option, dict):
        fields = option.get("fields")
        return bool(option.get("include")), list(fields) if fields else None
    if req.get("include_metadata"):
        fields = req.get("metadata_fields")
        return True, list(fields) if fields else None
    return False, None


def document_metadata(state: ServerState, document_id: str, fields: list[str] | None) -> Json:
    meta = (state.store.get("document", document_id) or {}).get("meta_fields") or {}
    if fields is None:
        return dict(meta)
    return {k: v for k, v in meta.items() if k in fields}


@endpoint
async def retrieval(request: Request) -> Response:
    state = state_of(request)
    req = await read_json(request)
    dataset_ids = req.get("dataset_ids")
    if not dataset_ids:
        raise ApiError(102, "`dataset_ids` is required.")
    if not isinstance(dataset_ids, list):
        raise ApiError(102, "`dataset_ids` should be a list.")
    datasets = []
    for dataset_id in dataset_ids:
        ds = state.store.get("dataset", normalise_id(dataset_id))
        if ds is None:
            raise ApiError(102, f"You don't own the dataset {dataset_id}.")
        datasets.append(ds)
    models = sorted({d["embedding_model"] for d in datasets})
    if len(models) > 1:
        raise ApiError(102, f"Datasets use different embedding models: {models}")
    if "question" not in req:
        raise ApiError(102, "`question` is required.")
    question = str(req.get("question") or "")
    document_ids = req.get("document_ids") or []
    if not isinstance(document_ids, list):
        raise ApiError(102, "`documents` should be a list")
    ds_ids = [d["id"] for d in datasets]
    for doc_id in document_ids:
        doc = state.store.get("document", doc_id)
        if doc is None or doc["dataset_id"] not in ds_ids:
            raise ApiError(102, f"The datasets don't own the document {doc_id}")
    page, size = paging(req, cap=not state.old)
    top_k = int(_number(req, "top_k", 1024))
    if top_k <= 0:
        raise ApiError(102, "`top_k` must be greater than 0")
    highlight = req.get("highlight", False)
    if isinstance(highlight, str) and highlight.lower() in {"true", "false"}:
        highlight = highlight.lower() == "true"
    if not isinstance(highlight, bool):
        raise ApiError(102, "`highlight` should be a boolean")
    if not question.strip():
        return result({"total": 0, "chunks": [], "doc_aggs": {}})
    condition = req.get("metadata_condition")
    hits = run_retrieval(
        state,
        question=question,
        dataset_ids=ds_ids,
        document_ids=document_ids,
        top_k=top_k,
        threshold=_number(req, "similarity_threshold", 0.2),
        weight=_number(req, "vector_similarity_weight", 0.3),
        metadata_condition=condition if isinstance(condition, dict) else None,
    )
    include_meta, fields = reference_metadata_option(req)
    start = (page - 1) * size
    chunks = [
        retrieval_chunk(
            state,
            hit,
            highlight=highlight_text(hit.chunk["content"], question) if highlight else None,
            metadata=document_metadata(state, hit.chunk["document_id"], fields)
            if include_meta
            else None,
        )
        for hit in hits[start : start + size]
    ]
    return result({"total": len(hits), "chunks": chunks, "doc_aggs": doc_aggs(state, hits)})


@endpoint
async def old_patch(request: Request) -> Response:
    return method_not_allowed()


def routes(state: ServerState) -> list[Route]:
    base = "/datasets/{dataset_id}/documents/{document_id}/chunks"
    return [
        Route(base, list_chunks, methods=["GET"]),
        Route(base, add_chunk, methods=["POST"]),
        Route(base, delete_chunks, methods=["DELETE"]),
        Route(base, old_patch if state.old else switch_chunks, methods=["PATCH"]),
        Route(base + "/{chunk_id}", update_chunk, methods=["PUT"]),
        Route(base + "/{chunk_id}", get_chunk, methods=["GET"]),
        Route(base + "/{chunk_id}", old_patch if state.old else update_chunk, methods=["PATCH"]),
        Route("/retrieval", retrieval, methods=["POST"]),
    ]
