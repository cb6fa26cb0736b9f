"""Dataset-level tools of v0.27: search (retrieval test), tags, ingestion summary and logs."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StringConstraints
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from .._util import ApiError, Json, read_json_object, read_request_json, result
from ..dataset_schemas import validated
from ..metadata import filter_by_metadata, flattened_metadata
from ..store import Hit
from ._common import TENANT_ID, ServerState, endpoint, state_of

Question = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]


class SearchDataset(BaseModel):
    """The body of ``POST /datasets/{id}/search`` (unknown keys are ignored)."""

    model_config = ConfigDict(extra="ignore")

    question: Question
    doc_ids: list[str] = Field(default_factory=list)
    page: Annotated[int, Field(default=1, ge=1)]
    size: Annotated[int, Field(default=30, ge=1)]
    top_k: Annotated[int, Field(default=1024, ge=1)]
    similarity_threshold: Annotated[float, Field(default=0.0, ge=0.0, le=1.0)]
    vector_similarity_weight: Annotated[float, Field(default=0.3, ge=0.0, le=1.0)]
    use_kg: bool = False
    cross_languages: list[str] = Field(default_factory=list)
    keyword: bool = False
    search_id: str | None = None
    rerank_id: str | None = None
    tenant_rerank_id: str | None = None
    meta_data_filter: dict[str, Any] | None = None
    include_knowledge_compilation: bool = True


class SearchDatasets(SearchDataset):
    dataset_ids: Annotated[list[str], Field(min_length=1)]


def _search_chunk(state: ServerState, hit: Hit) -> Json:
    """A chunk as RAGFlow's retriever returns it (index field names, no vector)."""
    chunk = hit.chunk
    doc = state.store.get("document", chunk["document_id"]) or {}
    return {
        "chunk_id": chunk["id"],
        "content_ltks": " ".join(chunk["content"].lower().split()),
        "content_with_weight": chunk["content"],
        "doc_id": chunk["document_id"],
        "docnm_kwd": doc.get("name", ""),
        "kb_id": chunk["dataset_id"],
        "important_kwd": list(chunk.get("important_keywords") or []),
        "tag_kwd": list(chunk.get("tag_kwd") or []),
        "image_id": chunk.get("image_id") or "",
        "similarity": hit.similarity,
        "vector_similarity": hit.vector_similarity,
        "term_similarity": hit.term_similarity,
        "positions": list(chunk.get("positions") or []),
        "doc_type_kwd": chunk.get("doc_type_kwd", ""),
        "mom_id": "",
        "row_id": chunk.get("_rowid", 0),
    }


def _manual_filter(
    state: ServerState, dataset_ids: list[str], meta_filter: Json, base: list[str]
) -> list[str]:
    """``meta_data_filter`` with ``method: manual`` (auto modes need an LLM the stand-in lacks)."""
    if meta_filter.get("method") != "manual":
        return base
    docs = [d for ds in dataset_ids for d in state.store.all("document", ds)]
    condition = {
        "logic": meta_filter.get("logic", "and"),
        "conditions": meta_filter.get("manual", []),
    }
    ids = filter_by_metadata(flattened_metadata(docs), condition)
    if base:
        ids = [i for i in ids if i in set(base)]
    return ids or ["-999"]


def search(state: ServerState, req: Json) -> Json:
    from .chunks import run_retrieval

    dataset_ids: list[str] = req["dataset_ids"]
    for dataset_id in dataset_ids:
        if state.store.get("dataset", dataset_id) is None:
            raise ApiError(
                102, f"Only owner of dataset {dataset_id} authorized for this operation."
            )
    doc_ids = list(req.get("doc_ids") or [])
    if req.get("meta_data_filter"):
        doc_ids = _manual_filter(state, dataset_ids, req["meta_data_filter"], doc_ids)
    hits = run_retrieval(
        state,
        question=req["question"],
        dataset_ids=dataset_ids,
        document_ids=doc_ids or None,
        top_k=max(1, min(int(req["top_k"]), 2048)),
        threshold=float(req["similarity_threshold"]),
        weight=float(req["vector_similarity_weight"]),
        metadata_condition=None,
    )
    page, size = int(req["page"]), int(req["size"])
    window = hits[(page - 1) * size : page * size]
    counts: dict[str, Json] = {}
    for hit in hits:
        doc = state.store.get("document", hit.chunk["document_id"]) or {}
        entry = counts.setdefault(
            doc.get("name", ""), {"doc_id": hit.chunk["document_id"], "count": 0}
        )
        entry["count"] += 1
    aggs = [
        {"doc_name": name, "doc_id": v["doc_id"], "count": v["count"]}
        for name, v in sorted(counts.items(), key=lambda item: -int(item[1]["count"]))
    ]
    chunks = [_search_chunk(state, h) for h in window]
    return {"total": len(chunks), "chunks": chunks, "doc_aggs": aggs, "labels": {}}


@endpoint
async def search_one(request: Request) -> Response:
    state = state_of(request)
    req = validated(SearchDataset, await read_json_object(request))
    req["dataset_ids"] = [request.path_params["dataset_id"]]
    return result(search(state, req))


@endpoint
async def search_many(request: Request) -> Response:
    state = state_of(request)
    return result(search(state, validated(SearchDatasets, await read_json_object(request))))


# ---------------------------------------------------------------- tags
def _tags(state: ServerState, dataset_ids: list[str]) -> list[list[Any]]:
    counts: dict[str, int] = {}
    for dataset_id in dataset_ids:
        for doc in state.store.all("document", dataset_id):
            for chunk in state.store.chunks_of(doc["id"]):
                for tag in chunk.get("tag_kwd") or []:
                    counts[str(tag)] = counts.get(str(tag), 0) + 1
    return [[tag, n] for tag, n in sorted(counts.items(), key=lambda item: -item[1])]


def _known(state: ServerState, dataset_id: str) -> Json:
    ds = state.store.get("dataset", dataset_id)
    if ds is None:
        raise ApiError(102, "no authorization")
    return ds


@endpoint
async def list_tags(request: Request) -> Response:
    state = state_of(request)
    ds = _known(state, request.path_params["dataset_id"])
    return result(_tags(state, [ds["id"]]))


@endpoint
async def aggregate_tags(request: Request) -> Response:
    state = state_of(request)
    ids = [d for d in request.query_params.get("dataset_ids", "").split(",") if d]
    if not ids:
        raise ApiError(102, "Lack of dataset_ids in query parameters")
    if len(ids) > 100:
        raise ApiError(101, "dataset_ids must contain at most 100 IDs")
    for dataset_id in ids:
        if state.store.get("dataset", dataset_id) is None:
            raise ApiError(102, f"No authorization for dataset '{dataset_id}'")
    return result([{"value": tag, "count": n} for tag, n in _tags(state, ids)])


def _retag(state: ServerState, dataset_id: str, change: Any) -> None:
    with state.store.lock:
        for doc in state.store.all("document", dataset_id):
            for chunk in state.store.chunks_of(doc["id"]):
                tags = list(chunk.get("tag_kwd") or [])
                new = change(tags)
                if new != tags:
                    chunk["tag_kwd"] = new
                    state.store.update_chunk(chunk, reembed=False)


@endpoint
async def delete_tags(request: Request) -> Response:
    state = state_of(request)
    req = await read_request_json(request)
    if not req or "tags" not in req:
        raise ApiError(102, "Lack of tags in request body")
    tags = req["tags"]
    if not isinstance(tags, list) or not all(isinstance(t, str) for t in tags):
        raise ApiError(101, "tags must be a list of strings")
    ds = _known(state, request.path_params["dataset_id"])
    _retag(state, ds["id"], lambda current: [t for t in current if t not in tags])
    return result({})


@endpoint
async def rename_tag(request: Request) -> Response:
    state = state_of(request)
    req = await read_request_json(request)
    if not req or "from_tag" not in req or "to_tag" not in req:
        raise ApiError(102, "Lack of from_tag or to_tag in request body")
    old, new = req["from_tag"], req["to_tag"]
    if not isinstance(old, str) or not isinstance(new, str):
        raise ApiError(101, "from_tag and to_tag must be strings")
    if not old.strip() or not new.strip():
        raise ApiError(101, "from_tag and to_tag must not be empty")
    ds = _known(state, request.path_params["dataset_id"])

    def swap(current: list[str]) -> list[str]:
        if old not in current:
            return current
        kept = [t for t in current if t != old.strip()]
        return kept + ([new] if new not in kept else [])

    _retag(state, ds["id"], swap)
    return result({"from": old, "to": new})


# ---------------------------------------------------------------- ingestion
@endpoint
async def ingestion_summary(request: Request) -> Response:
    state = state_of(request)
    dataset_id = request.path_params["dataset_id"]
    if state.store.get("dataset", dataset_id) is None:
        raise ApiError(102, f"User '{TENANT_ID}' lacks permission for dataset '{dataset_id}'")
    docs = state.store.all("document", dataset_id)
    names = {
        "UNSTART": "unstart",
        "RUNNING": "running",
        "CANCEL": "cancel",
        "DONE": "done",
        "FAIL": "fail",
    }
    status = {f"{n}_count": 0 for n in names.values()}
    for doc in docs:
        key = names.get(str(doc.get("run")))
        if key:
            status[f"{key}_count"] += 1
    return result(
        {
            "doc_num": len(docs),
            "chunk_num": sum(int(d.get("chunk_count") or 0) for d in docs),
            "token_num": sum(int(d.get("token_count") or 0) for d in docs),
            "status": status,
        }
    )


def _page_arg(value: str | None, default: int, *, size: bool) -> int:
    try:
        number = int(value) if value is not None else default
    except ValueError:
        return default
    if number < 1:
        return default
    if size and number > 100:
        raise ApiError(101, "page_size must be less than or equal to 100")
    return number


@endpoint
async def ingestion_logs(request: Request) -> Response:
    """The stand-in keeps no pipeline logs: an empty page, after RAGFlow's argument checks."""
    state = state_of(request)
    q = request.query_params
    _page_arg(q.get("page"), 1, size=False)
    _page_arg(q.get("page_size"), 30, size=True)
    if state.store.get("dataset", request.path_params["dataset_id"]) is None:
        raise ApiError(102, "no authorization")
    if q.get("log_type", "dataset") not in ("dataset", "file"):
        raise ApiError(102, 'Invalid "log_type", expected "dataset" or "file"')
    return result({"total": 0, "logs": []})


@endpoint
async def ingestion_log(request: Request) -> Response:
    state = state_of(request)
    if state.store.get("dataset", request.path_params["dataset_id"]) is None:
        raise ApiError(102, "no authorization")
    raise ApiError(102, "Log not found")


def routes(state: ServerState) -> list[Route]:
    if state.old:
        return []
    base = "/datasets/{dataset_id}"
    return [
        Route("/datasets/search", search_many, methods=["POST"]),
        Route("/datasets/tags/aggregation", aggregate_tags, methods=["GET"]),
        Route(base + "/search", search_one, methods=["POST"]),
        Route(base + "/tags", list_tags, methods=["GET"]),
        Route(base + "/tags", delete_tags, methods=["DELETE"]),
        Route(base + "/tags", rename_tag, methods=["PUT"]),
        Route(base + "/ingestions/summary", ingestion_summary, methods=["GET"]),
        Route(base + "/ingestions", ingestion_logs, methods=["GET"]),
        Route(base + "/ingestions/{log_id}", ingestion_log, methods=["GET"]),
    ]
