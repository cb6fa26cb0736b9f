"""``POST /retrieval`` (§3.5) per emulated version, and the retrieval helpers the chat modules
share (``run_retrieval``, reference metadata).

v0.22.1 highlights unless ``highlight`` is the string ``"false"``, has no page-size cap, ignores
``reference_metadata``, counts ``total`` over the requested page only and treats a metadata
condition that matches no document as no filter. v0.25+ highlights only on request, caps the
page size at 100, adds ``document_metadata`` on request and returns nothing when a metadata
condition matches no document.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from .._util import Json, read_any_json, read_request_json
from ..metadata import matching_ids
from ..store import Hit
from ._common import ServerState, endpoint, state_of
from ._wire import as_dict, data_error, get_result, server_error


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
    """Hybrid search over enabled documents; shared by /retrieval, chats and agents.

    v0.25+ ignores the similarity threshold when the vector weight is 0 or less (term-only
    scores); v0.22.1 applies it whatever the weight."""
    if not question.strip():
        return []
    if not state.old and weight <= 0:
        threshold = 0.0
    doc_filter: set[str] | None = set(document_ids) if document_ids else None
    disabled = {
        d["id"]
        for dataset_id in dataset_ids
        for d in state.store.all("document", dataset_id)
        if d.get("status") == "0"
    }
    if metadata_condition and metadata_condition.get("conditions") and not document_ids:
        # RAGFlow filters only when there are conditions (an empty list restricts nothing)
        doc_filter = matching_documents(state, dataset_ids, metadata_condition)
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


def matching_documents(state: ServerState, dataset_ids: list[str], condition: Json) -> set[str]:
    docs = [d for dataset_id in dataset_ids for d in state.store.all("document", dataset_id)]
    return matching_ids(docs, condition)


def reference_metadata_option(req: Json) -> tuple[bool, list[str] | None]:
    """``resolve_reference_metadata_preferences``: ``reference_metadata`` or the legacy
    ``include_metadata`` / ``metadata_fields`` keys."""
    option = req.get("reference_metadata")
    resolved: Json = dict(option) if isinstance(option, dict) else {}
    if "include_metadata" in req:
        resolved["include"] = bool(req.get("include_metadata"))
    if "metadata_fields" in req:
        resolved["fields"] = req.get("metadata_fields")
    fields = resolved.get("fields")
    if fields is None:
        return bool(resolved.get("include", False)), None
    if not isinstance(fields, list):
        return bool(resolved.get("include", False)), []
    return bool(resolved.get("include", False)), [f for f in fields if isinstance(f, str)]


def document_metadata(state: ServerState, document_id: str, fields: list[str] | None) -> Json:
    meta = (state.store.get("document", document_id) or {}).get("meta_fields") or {}
    if fields is None:
        return dict(meta)
    return {k: v for k, v in meta.items() if k in fields}


def _ltks(text: str) -> str:
    return " ".join(text.lower().split())


def retrieval_chunk(state: ServerState, hit: Hit, *, highlight: str | None) -> Json:
    chunk = hit.chunk
    doc = state.store.get("document", chunk["document_id"]) or {}
    out: Json = {
        "id": chunk["id"],
        "content_ltks": _ltks(chunk["content"]),
        "content": chunk["content"],
        "document_id": chunk["document_id"],
        "document_keyword": doc.get("name", ""),
        "dataset_id": chunk["dataset_id"],
        "important_keywords": list(chunk.get("important_keywords") or []),
    }
    if not state.old:
        out["tag_kwd"] = list(chunk.get("tag_kwd") or [])
    out.update(
        {
            "image_id": chunk.get("image_id") or "",
            "similarity": hit.similarity,
            "vector_similarity": hit.vector_similarity,
            "term_similarity": hit.term_similarity,
            "positions": [list(p) for p in chunk.get("positions") or []],
            "doc_type_kwd": chunk.get("doc_type_kwd") or "",
        }
    )
    if not state.old:
        out["mom_id"] = ""
        out["row_id"] = None
    if highlight is not None:
        out["highlight"] = highlight
    return out


def _aggs(state: ServerState, hits: list[Hit]) -> list[Json]:
    counts: dict[str, int] = {}
    for hit in hits:
        counts[hit.chunk["document_id"]] = counts.get(hit.chunk["document_id"], 0) + 1
    out = []
    for doc_id, count in sorted(counts.items(), key=lambda kv: -kv[1]):
        doc = state.store.get("document", doc_id) or {}
        out.append({"doc_name": doc.get("name", ""), "doc_id": doc_id, "count": count})
    return out


def _number(req: Json, key: str, default: float, cast: Any = float) -> Any:
    try:
        return cast(req.get(key, default))
    except (TypeError, ValueError) as exc:
        raise server_error(exc) from None


def _datasets(state: ServerState, req: Json) -> list[Json]:
    ids = req.get("dataset_ids")
    if not ids:
        raise data_error("`dataset_ids` is required.")
    if not isinstance(ids, list):
        raise data_error("`dataset_ids` should be a list")
    datasets = []
    for dataset_id in ids:
        ds = state.store.get("dataset", dataset_id) if isinstance(dataset_id, str) else None
        if ds is None:
            raise data_error(f"You don't own the dataset {dataset_id}.")
        datasets.append(ds)
    models = [str(d.get("embedding_model") or "") for d in datasets]
    if state.old:
        if len({m.rsplit("@", 1)[0] for m in models}) != 1:
            raise data_error('Datasets use different embedding models."')
    elif len(set(models)) > 1:
        raise data_error(f"Datasets use different embedding models: {models}")
    return datasets


def _documents(state: ServerState, req: Json, ds_ids: list[str]) -> list[str]:
    doc_ids = req.get("document_ids", [])
    if not isinstance(doc_ids, list):
        raise data_error("`documents` should be a list")
    owned = {d["id"] for ds_id in ds_ids for d in state.store.all("document", ds_id)}
    for doc_id in doc_ids:
        if doc_id not in owned:
            raise data_error(f"The datasets don't own the document {doc_id}")
    return [str(d) for d in doc_ids]


@endpoint
async def retrieval(request: Request) -> Response:
    state = state_of(request)
    if state.old:
        return await _retrieval_v022(request)
    from .chats import page_args

    req = await read_request_json(request)
    datasets = _datasets(state, req)
    ds_ids = [d["id"] for d in datasets]
    if "question" not in req:
        raise data_error("`question` is required.")
    page, size = page_args(req)
    question = req["question"].strip() if isinstance(req["question"], str) else req["question"]
    if not question:
        return get_result({"total": 0, "chunks": [], "doc_aggs": {}})
    doc_ids = _documents(state, req, ds_ids)
    condition = None
    if not doc_ids and req.get("metadata_condition"):
        condition = req["metadata_condition"]
        if not isinstance(condition, dict):
            raise server_error(AttributeError("'str' object has no attribute 'get'"))
        if condition.get("conditions") and not matching_documents(state, ds_ids, condition):
            return get_result({"total": 0, "chunks": [], "doc_aggs": {}})
    threshold = _number(req, "similarity_threshold", 0.2)
    weight = _number(req, "vector_similarity_weight", 0.3)
    top = _number(req, "top_k", 1024, int)
    if top <= 0:
        raise data_error("`top_k` must be greater than 0")
    highlight = req.get("highlight")
    if highlight is None:
        highlight = False
    elif isinstance(highlight, str) and highlight.lower() in ("true", "false"):
        highlight = highlight.lower() == "true"
    elif not isinstance(highlight, bool):
        raise data_error("`highlight` should be a boolean")
    include, fields = reference_metadata_option(req)
    hits = run_retrieval(
        state,
        question=str(question),
        dataset_ids=ds_ids,
        document_ids=doc_ids or None,
        top_k=top,
        threshold=threshold,
        weight=weight,
        metadata_condition=condition,
    )
    from .chunks import highlight_text

    chunks = []
    for hit in hits[(page - 1) * size : page * size]:
        item = retrieval_chunk(
            state,
            hit,
            highlight=highlight_text(hit.chunk["content"], str(question)) if highlight else None,
        )
        if include and fields != []:
            meta = document_metadata(state, hit.chunk["document_id"], fields)
            if meta:
                item["document_metadata"] = meta
        chunks.append(item)
    return get_result({"total": len(hits), "chunks": chunks, "doc_aggs": _aggs(state, hits)})


async def _retrieval_v022(request: Request) -> Response:
    state = state_of(request)
    req = as_dict(await read_any_json(request))
    datasets = _datasets(state, req)
    ds_ids = [d["id"] for d in datasets]
    if "question" not in req:
        raise data_error("`question` is required.")
    page = _number(req, "page", 1, int)
    size = _number(req, "page_size", 30, int)
    question = req["question"]
    doc_ids = _documents(state, req, ds_ids)
    if not doc_ids:
        condition = req.get("metadata_condition") or {}
        if isinstance(condition, dict) and condition.get("conditions"):
            # a condition nothing matches gives no ids: no filter at all in v0.22.1
            doc_ids = sorted(matching_documents(state, ds_ids, condition))
    threshold = _number(req, "similarity_threshold", 0.2)
    weight = _number(req, "vector_similarity_weight", 0.3)
    top = _number(req, "top_k", 1024, int)
    highlight = req.get("highlight") not in ("False", "false")
    if not question:
        return get_result({"total": 0, "chunks": [], "doc_aggs": {}})
    if top <= 0:
        raise server_error(
            ValueError("[knn] failed to parse: [k] must be greater than 0, got " + str(top))
        )
    hits = run_retrieval(
        state,
        question=str(question),
        dataset_ids=ds_ids,
        document_ids=doc_ids or None,
        top_k=top,
        threshold=threshold,
        weight=weight,
        metadata_condition=None,
    )
    from .chunks import highlight_text

    start = max(page - 1, 0) * size
    page_hits = hits[start : start + max(size, 0)]
    chunks = [
        retrieval_chunk(
            state,
            hit,
            highlight=highlight_text(hit.chunk["content"], str(question)) if highlight else None,
        )
        for hit in page_hits
    ]
    return get_result(
        {"total": len(page_hits), "chunks": chunks, "doc_aggs": _aggs(state, page_hits)}
    )


def routes(state: ServerState) -> list[Route]:
    return [Route("/retrieval", retrieval, methods=["POST"])]
