"""Chunks of a document (§3.4), per emulated version.

- v0.22.1: ``.../chunks`` GET, POST, DELETE and ``.../chunks/{chunk_id}`` PUT.
- v0.25+: also ``.../chunks`` PATCH (enable/disable) and ``.../chunks/{chunk_id}`` GET and PATCH
  (PUT kept as a deprecated alias).

A document's ``chunk_count`` is RAGFlow's counter: adding a chunk adds one (even when the same
content replaces an existing chunk) and deleting subtracts what was deleted.
Retrieval (``POST /retrieval``) lives in ``retrieval``; ``run_retrieval`` and the reference
metadata helpers are re-exported from there for the chat modules.
"""

from __future__ import annotations

import base64
import binascii
import math
import re
import time
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from .._util import Json, chunk_id_for, stamp
from ..store import query_terms
from ._common import ServerState, endpoint, state_of
from ._views import document_view
from ._wire import (
    ARGUMENT_ERROR,
    as_dict,
    body_v022,
    body_v027,
    data_error,
    get_result,
    server_error,
    unique_ids,
)
from .retrieval import document_metadata, reference_metadata_option, run_retrieval

__all__ = ["document_metadata", "reference_metadata_option", "routes", "run_retrieval"]


def highlight_text(text: str, question: str) -> str:
    """Wrap words matching the query terms (as prefixes) in ``<em>``."""
    terms = [re.escape(t) for t in query_terms(question)]
    if not terms:
        return text
    pattern = re.compile(r"\b(?:" + "|".join(terms) + r")\w*", re.IGNORECASE)
    return pattern.sub(lambda m: f"<em>{m.group(0)}</em>", text)


def _owned_doc(state: ServerState, request: Request) -> tuple[Json, Json]:
    dataset_id = request.path_params["dataset_id"]
    document_id = request.path_params["document_id"]
    ds = state.store.get("dataset", dataset_id)
    if ds is None:
        raise data_error(f"You don't own the dataset {dataset_id}.")
    doc = state.store.get("document", document_id)
    if doc is None or doc.get("dataset_id") != dataset_id:
        if state.old:
            raise data_error(f"You don't own the document {document_id}.")
        raise data_error(f"you don't own the document {document_id}")
    return ds, doc


def _count(state: ServerState, doc: Json, chunks: int, tokens: int) -> None:
    """RAGFlow's ``increment_chunk_num`` / ``decrement_chunk_num`` on the document row."""
    with state.store.lock:
        doc = state.store.get("document", doc["id"]) or doc
        doc["chunk_count"] = max(0, int(doc.get("chunk_count") or 0) + chunks)
        doc["token_count"] = max(0, int(doc.get("token_count") or 0) + tokens)
        stamp(doc, created=False)
        state.store.put("document", doc)


def _tokens(text: str) -> int:
    return len(text.split())


def _text_matches(chunk: Json, doc: Json, terms: list[str]) -> bool:
    """RAGFlow's keyword search reads content, keywords, questions and (for parsed chunks,
    which carry the document title) the document name."""
    fields = [chunk["content"], *map(str, chunk.get("important_keywords") or [])]
    fields += map(str, chunk.get("questions") or [])
    if chunk.get("origin") != "manual":
        fields.append(re.sub(r"[_.\-]+", " ", doc.get("name", "")))
    text = " ".join(fields).lower()
    words = set(re.findall(r"\w+", text))
    return any(t in words or any(w.startswith(t) for w in words) for t in terms)


# the document table's columns (renamed) that the chunk list's ``doc`` carries
DOC_ROW = (
    "id",
    "thumbnail",
    "dataset_id",
    "chunk_method",
    "pipeline_id",
    "parser_config",
    "source_type",
    "type",
    "created_by",
    "name",
    "location",
    "size",
    "token_count",
    "chunk_count",
    "progress",
    "progress_msg",
    "process_begin_at",
    "process_duration",
    "suffix",
    "run",
    "status",
    "create_time",
    "create_date",
    "update_time",
    "update_date",
)


def document_row(state: ServerState, doc: Json) -> Json:
    """The document row (``_map_doc``): v0.22.1 has ``meta_fields`` in it, v0.25+
    ``content_hash`` instead."""
    view = document_view(doc)
    keys = (*DOC_ROW, "meta_fields") if state.old else (*DOC_ROW, "content_hash")
    return {k: view.get(k) for k in keys}


def list_item(state: ServerState, chunk: Json, doc: Json, content: str) -> Json:
    item: Json = {
        "id": chunk["id"],
        "content": content,
        "document_id": chunk["document_id"],
        "docnm_kwd": doc.get("name", ""),
        "important_keywords": list(chunk.get("important_keywords") or []),
        "questions": list(chunk.get("questions") or []),
        "dataset_id": chunk["dataset_id"],
        "image_id": chunk.get("image_id") or "",
        "available": bool(chunk.get("available", True)),
        "positions": [list(p) for p in chunk.get("positions") or []],
    }
    if not state.old:
        item["tag_kwd"] = list(chunk.get("tag_kwd") or [])
        item["doc_type_kwd"] = chunk.get("doc_type_kwd") or "text"
    return item


def _page(params: Any, old: bool) -> tuple[int, int]:
    if old:  # int() of the raw values (a bad value is a ValueError, code 100)
        try:
            return int(params.get("page", 1)), int(params.get("page_size", 30))
        except ValueError as exc:
            raise server_error(exc) from None
    from .chats import page_args

    return page_args(params)


@endpoint
async def list_chunks(request: Request) -> Response:
    state = state_of(request)
    ds, doc = _owned_doc(state, request)
    params = request.query_params
    page, size = _page(params, state.old)
    question = params.get("keywords", "")
    wanted: list[str] = []
    if not state.old:
        for raw in params.getlist("chunk_ids"):
            wanted += [p.strip() for p in raw.split(",") if p.strip() and p.strip() not in wanted]
        if len(wanted) > 100:
            return get_result(code=ARGUMENT_ERROR, message="chunk_ids must contain at most 100 IDs")
    out: Json = {"total": 0, "chunks": [], "doc": document_row(state, doc)}
    one = params.get("id")
    if one:
        chunk = state.store.chunks.get(one)
        if chunk is None or (not state.old and chunk["document_id"] != doc["id"]):
            code = 404 if state.old else 102
            return get_result(code=code, message=f"Chunk not found: {ds['id']}/{one}")
        item = list_item(state, chunk, doc, chunk["content"])
        if not state.old:
            item["tag_feas"] = dict(chunk.get("tag_feas") or {})
        out["total"], out["chunks"] = 1, [item]
        return get_result(out)
    chunks = state.store.chunks_of(doc["id"])
    if wanted:
        chunks = [c for c in chunks if c["id"] in wanted]
    if not state.old and "available" in params:
        flag = params["available"] == "true"
        chunks = [c for c in chunks if bool(c.get("available", True)) == flag]
    terms = query_terms(question) if question else []
    if question and terms:
        chunks = [c for c in chunks if _text_matches(c, doc, terms)]
    out["total"] = len(chunks)
    start = (page - 1 if page > 0 else 0) * size
    # the document engine applies no limit for a size of 0 (v0.22.1 passes 0 through)
    end = start + size if size > 0 else len(chunks)
    for chunk in chunks[start:end]:
        content = highlight_text(chunk["content"], question) if terms else chunk["content"]
        out["chunks"].append(list_item(state, chunk, doc, content))
    return get_result(out)


def raw_chunk(ds: Json, doc: Json, chunk: Json) -> Json:
    """The stored chunk as the document engine holds it (runtime fields stripped)."""
    raw: Json = {
        "id": chunk["id"],
        "doc_id": doc["id"],
        "kb_id": ds["id"],
        "docnm_kwd": doc.get("name", ""),
        "content_with_weight": chunk["content"],
        "important_kwd": list(chunk.get("important_keywords") or []),
        "question_kwd": list(chunk.get("questions") or []),
        "doc_type_kwd": chunk.get("doc_type_kwd") or "text",
    }
    if "create_time" in chunk:
        raw["create_time"] = chunk["create_time"]
        raw["create_timestamp_flt"] = chunk.get("create_timestamp", 0.0)
    if chunk.get("origin") != "manual" or "tag_kwd" in chunk:
        raw["tag_kwd"] = list(chunk.get("tag_kwd") or [])
    if chunk.get("tag_feas"):
        raw["tag_feas"] = dict(chunk["tag_feas"])
    if chunk.get("image_id"):
        raw["img_id"] = chunk["image_id"]
    if chunk.get("positions"):
        raw["position_int"] = [list(p) for p in chunk["positions"]]
    if chunk.get("origin") != "manual" or "available" in chunk:
        raw["available_int"] = 1 if chunk.get("available", True) else 0
    return raw


@endpoint
async def get_chunk(request: Request) -> Response:
    state = state_of(request)
    ds, doc = _owned_doc(state, request)
    chunk = state.store.chunks.get(request.path_params["chunk_id"])
    if chunk is None or chunk["document_id"] != doc["id"]:
        return get_result(code=102, message="Chunk not found!")
    return get_result(raw_chunk(ds, doc, chunk))


def _string_list(req: Json, key: str, message: str, *, strings: bool) -> list[str] | None:
    """A list field of a chunk body: ``message`` when not a list; with ``strings``, v0.25+'s
    element check; without it, RAGFlow's tokenizer join fails on non-strings (code 100)."""
    if key not in req:
        return None
    value = req[key]
    if not isinstance(value, list):
        raise data_error(message)
    if not all(isinstance(v, str) for v in value):
        if strings:
            raise data_error(f"`{key}` must be a list of strings")
        bad = next(v for v in value if not isinstance(v, str))
        index = value.index(bad)
        raise server_error(
            TypeError(f"sequence item {index}: expected str instance, {type(bad).__name__} found")
        )
    return list(value)


def _tag_feas(req: Json) -> dict[str, float] | None:
    if "tag_feas" not in req:
        return None
    raw = req["tag_feas"]
    if raw is None:
        return None
    problem = None
    if not isinstance(raw, dict):
        problem = "must be an object mapping string tags to finite numeric scores"
    cleaned: dict[str, float] = {}
    for key, value in raw.items() if isinstance(raw, dict) else []:
        if problem:
            break
        if not isinstance(key, str):
            problem = "keys must be strings"
        elif not key.strip():
            problem = "keys must be non-empty strings"
        elif (
            isinstance(value, bool)
            or not isinstance(value, int | float)
            or not math.isfinite(float(value))
            or float(value) <= 0
        ):
            problem = "values must be finite numbers greater than 0"
        else:
            cleaned[key.strip()] = float(value)
    if problem:
        raise data_error(f"`tag_feas` {problem}")
    return cleaned


def _image(req: Json) -> bool:
    if "image_base64" not in req:
        return False
    value = req["image_base64"]
    if not isinstance(value, str) or not value.strip():
        raise data_error("`image_base64` must be a non-empty string")
    try:
        data = base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise data_error("Invalid `image_base64`") from None
    if not data:
        raise data_error("`image_base64` is empty")
    return True


@endpoint
async def add_chunk(request: Request) -> Response:
    state = state_of(request)
    ds, doc = _owned_doc(state, request)
    new = not state.old
    req = as_dict(await (body_v027(request) if new else body_v022(request)))
    content = req.get("content")
    if new:
        if content is None or not str(content).strip():
            raise data_error("`content` is required")
    elif not str(req.get("content", "")).strip():
        raise data_error("`content` is required")
    if not isinstance(content, str):  # xxhash(content + document_id)
        kind = "NoneType" if content is None else type(content).__name__
        raise server_error(TypeError(f"unsupported operand type(s) for +: '{kind}' and 'str'"))
    keywords = _string_list(
        req, "important_keywords", "`important_keywords` is required to be a list", strings=new
    )
    questions = _string_list(req, "questions", "`questions` is required to be a list", strings=new)
    tags = feas = None
    image = False
    if new:
        tags = _string_list(req, "tag_kwd", "`tag_kwd` is required to be a list", strings=True)
        feas = _tag_feas(req)
        image = _image(req)
    now = time.time()
    chunk_id = chunk_id_for(content, doc["id"])
    chunk: Json = {
        "id": chunk_id,
        "content": content,
        "document_id": doc["id"],
        "dataset_id": ds["id"],
        "important_keywords": keywords or [],
        "questions": [q.strip() for q in questions or [] if q.strip()],
        "doc_type_kwd": "image" if image else "text",
        "image_id": f"{ds['id']}-{chunk_id}" if image else "",
        "positions": [],
        "create_time": time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(now)),
        "create_timestamp": now,
        "origin": "manual",
    }
    if tags is not None:
        chunk["tag_kwd"] = tags
    if feas is not None:
        chunk["tag_feas"] = feas
    with state.store.lock:
        state.store.add_chunks([chunk])
        _count(state, doc, 1, _tokens(content))
    out: Json = {
        "id": chunk_id,
        "content": content,
        "document_id": doc["id"],
        "important_keywords": chunk["important_keywords"],
    }
    if tags is not None:
        out["tag_kwd"] = tags
    out["questions"] = chunk["questions"]
    out["dataset_id"] = ds["id"]
    out["create_timestamp"] = now
    out["create_time"] = chunk["create_time"]
    if new:
        if image:
            out["image_id"] = chunk["image_id"]
        out["doc_type_kwd"] = chunk["doc_type_kwd"]
    return get_result({"chunk": out})


def _as_int(value: Any) -> int:
    try:
        return int(value)
    except (TypeError, ValueError) as exc:
        raise server_error(exc) from None


@endpoint
async def update_chunk(request: Request) -> Response:
    state = state_of(request)
    chunk_id = request.path_params["chunk_id"]
    # v0.22.1 looks the chunk up (by id, in the tenant's index) first
    if state.old and state.store.chunks.get(chunk_id) is None:
        raise data_error(f"Can't find this chunk {chunk_id}")
    ds, doc = _owned_doc(state, request)
    chunk = state.store.chunks.get(chunk_id)
    if chunk is None or (not state.old and chunk["document_id"] != doc["id"]):
        raise data_error(f"Can't find this chunk {chunk_id}")
    req = as_dict(await (body_v022(request) if state.old else body_v027(request)))
    updated = dict(chunk)
    content = req.get("content") if "content" in req else None
    if state.old and "content" in req:
        if not isinstance(content, str):
            raise server_error(TypeError("expected string or bytes-like object"))
        updated["content"] = content
    elif content is not None:
        if not str(content).strip():
            raise data_error("`content` is required")
        updated["content"] = str(content)
    keywords = _string_list(
        req, "important_keywords", "`important_keywords` should be a list", strings=False
    )
    if keywords is not None:
        updated["important_keywords"] = keywords
    questions = _string_list(req, "questions", "`questions` should be a list", strings=False)
    if questions is not None:
        updated["questions"] = [q.strip() for q in questions if q.strip()]
    if "available" in req:
        updated["available"] = bool(_as_int(req["available"]))
    if "positions" in req:
        if not isinstance(req["positions"], list):
            raise data_error("`positions` should be a list")
        updated["positions"] = req["positions"]
    if not state.old:
        tags = _string_list(req, "tag_kwd", "`tag_kwd` should be a list", strings=True)
        if tags is not None:
            updated["tag_kwd"] = tags
        feas = _tag_feas(req)
        if feas is not None:
            updated["tag_feas"] = feas
        if _image(req):
            updated["doc_type_kwd"] = "image"
            updated["image_id"] = f"{ds['id']}-{chunk_id}"
    if doc.get("chunk_method") == "qa":
        parts = [t for t in re.split(r"[\n\t]", updated["content"]) if len(t) > 1]
        if len(parts) != 2:
            raise data_error("Q&A must be separated by TAB/ENTER key.")
    reembed = any(
        updated.get(k) != chunk.get(k) for k in ("content", "important_keywords", "questions")
    )
    with state.store.lock:
        chunk.update(updated)
        state.store.update_chunk(chunk, reembed=reembed)
    return get_result()


@endpoint
async def switch_chunks(request: Request) -> Response:
    """PATCH ``.../chunks``: enable or disable chunks (v0.25+)."""
    state = state_of(request)
    dataset_id = request.path_params["dataset_id"]
    if state.store.get("dataset", dataset_id) is None:
        raise data_error(f"You don't own the dataset {dataset_id}.")
    req = await body_v027(request)
    if not req.get("chunk_ids"):
        raise data_error("`chunk_ids` is required.")
    if "available_int" not in req and "available" not in req:
        raise data_error("`available_int` or `available` is required.")
    flag = _as_int(req["available_int"]) == 1 if "available_int" in req else bool(req["available"])
    doc = state.store.get("document", request.path_params["document_id"])
    if doc is None or doc.get("dataset_id") != dataset_id:
        raise data_error("document not found")
    with state.store.lock:
        for chunk_id in req["chunk_ids"]:
            chunk = state.store.chunks.get(chunk_id)
            if chunk is None or chunk["dataset_id"] != dataset_id:
                raise data_error("Index updating failure")
            chunk["available"] = flag
            state.store.update_chunk(chunk, reembed=False)
    return get_result(True)


def _delete(state: ServerState, doc: Json, ids: list[str] | None) -> int:
    """Delete the document's chunks with these ids (all of them for None); the counter drops."""
    with state.store.lock:
        owned = state.store.chunks_of(doc["id"])
        targets = owned if ids is None else [c for c in owned if c["id"] in set(ids)]
        tokens = sum(_tokens(c["content"]) for c in targets)
        removed = state.store.delete_chunks([c["id"] for c in targets])
        if removed:
            _count(state, doc, -removed, -tokens)
    return removed


@endpoint
async def delete_chunks(request: Request) -> Response:
    state = state_of(request)
    if state.old:
        return await _delete_v022(request)
    _, doc = _owned_doc(state, request)
    req = await body_v027(request)
    if not req:
        return get_result()
    ids = req.get("chunk_ids")
    if not ids:
        if req.get("delete_all") is True:
            removed = _delete(state, doc, None)
            return get_result(message=f"deleted {removed} chunks")
        return get_result()
    try:
        distinct, duplicates = unique_ids(list(ids), "chunk")
    except TypeError as exc:
        raise server_error(exc) from None
    removed = _delete(state, doc, distinct)
    if removed != len(distinct):
        raise data_error(f"rm_chunk deleted chunks {removed}, expect {len(distinct)}")
    if duplicates:
        return get_result({"success_count": removed, "errors": duplicates})
    return get_result()


async def _delete_v022(request: Request) -> Response:
    state = state_of(request)
    dataset_id = request.path_params["dataset_id"]
    document_id = request.path_params["document_id"]
    if state.store.get("dataset", dataset_id) is None:
        raise data_error(f"You don't own the dataset {dataset_id}.")
    doc = state.store.get("document", document_id)
    if doc is None:
        raise server_error(LookupError(f"Can't find the document with ID {document_id}!"))
    req = as_dict(await body_v022(request))
    ids = None
    duplicates: list[str] = []
    if "chunk_ids" in req:
        try:
            ids, duplicates = unique_ids(list(req["chunk_ids"]), "chunk")
        except TypeError as exc:
            raise server_error(exc) from None
    # an empty id list filters nothing: v0.22.1 then deletes every chunk of the document
    removed = _delete(state, doc, ids or None)
    if ids and removed != len(ids):
        raise data_error(f"rm_chunk deleted chunks {removed}, expect {len(ids)}")
    if duplicates:
        return get_result({"success_count": removed, "errors": duplicates})
    return get_result()


def routes(state: ServerState) -> list[Route]:
    many = "/datasets/{dataset_id}/documents/{document_id}/chunks"
    one = many + "/{chunk_id}"
    out = [
        Route(many, list_chunks, methods=["GET"]),
        Route(many, add_chunk, methods=["POST"]),
        Route(many, delete_chunks, methods=["DELETE"]),
        Route(one, update_chunk, methods=["PUT"]),
    ]
    if not state.old:
        out += [
            Route(many, switch_chunks, methods=["PATCH"]),
            Route(one, get_chunk, methods=["GET"]),
            Route(one, update_chunk, methods=["PATCH"]),
        ]
    return out
