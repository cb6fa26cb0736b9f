"""Document metadata across a dataset (v0.27): summary, flattened index, batch edits, configs.

The stand-in keeps a document's metadata in its ``meta_fields``; RAGFlow v0.27 keeps it in a
separate index, which is why its document update does not echo it. A batch edit chooses its
documents with a selector: ``document_ids`` and ``metadata_condition`` are intersected (so a
condition alone selects nothing, exactly as RAGFlow's route does).
"""

from __future__ import annotations

import copy
import re
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from .._util import ApiError, Json, read_json_object, read_request_json, result, stamp
from ..dataset_schemas import AutoMetadataConfig, validated
from ..metadata import filter_by_metadata, flattened_metadata
from ..parser_defaults import update_document_config
from ._common import TENANT_ID, ServerState, endpoint, state_of
from .documents import doc_in, own_dataset

_ISO_TIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}$")


def _value_type(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, list):
        return "list"
    if isinstance(value, bool):
        return "string"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str) and _ISO_TIME.match(value):
        return "time"
    return "string"


def metadata_summary(docs: list[Json]) -> Json:
    """Per key: the most common value type and the values with their counts, commonest first."""
    counts: dict[str, dict[str, int]] = {}
    types: dict[str, dict[str, int]] = {}
    for doc in docs:
        for key, value in (doc.get("meta_fields") or {}).items():
            kind = _value_type(value)
            if kind:
                types.setdefault(key, {})[kind] = types.setdefault(key, {}).get(kind, 0) + 1
            for item in value if isinstance(value, list) else [value]:
                if item is not None:
                    counts.setdefault(key, {})[str(item)] = (
                        counts.setdefault(key, {}).get(str(item), 0) + 1
                    )
    out: Json = {}
    for key, values in counts.items():
        ranked = sorted(values.items(), key=lambda pair: pair[1], reverse=True)
        kinds = types.get(key, {})
        kind = max(kinds.items(), key=lambda pair: pair[1])[0] if kinds else "string"
        out[key] = {"type": kind, "values": [[v, n] for v, n in ranked]}
    return out


@endpoint
async def get_summary(request: Request) -> Response:
    state = state_of(request)
    dataset_id = request.path_params["dataset_id"]
    own_dataset(state, dataset_id, f"You don't own the dataset {dataset_id}. ")
    raw = request.query_params.get("doc_ids", "")
    doc_ids = raw.split(",") if raw else None
    if doc_ids is not None and len(doc_ids) > 100:
        raise ApiError(101, "doc_ids must contain at most 100 IDs")
    docs = state.store.all("document", dataset_id)
    if doc_ids:
        docs = [d for d in docs if d["id"] in set(doc_ids)]
    return result({"summary": metadata_summary(docs)})


def _dedupe(values: list[Any]) -> list[Any]:
    out: list[Any] = []
    for value in values:
        if value not in out:
            out.append(value)
    return out


def _apply_updates(meta: Json, updates: list[Json]) -> bool:
    """Set, append to lists, or (with ``match``) replace matching values."""
    changed = False
    for upd in updates:
        key, value = upd.get("key"), upd.get("value")
        match = upd.get("match")
        has_match = match is not None and match != ""
        if not key:
            continue
        if key not in meta:
            if not has_match:
                meta[key] = _dedupe(value) if isinstance(value, list) else value
                changed = True
        elif isinstance(meta[key], list):
            if not has_match:
                meta[key] = _dedupe(meta[key] + (value if isinstance(value, list) else [value]))
                changed = True
            elif any(str(item) == str(match) for item in meta[key]):
                meta[key] = _dedupe([value if str(i) == str(match) else i for i in meta[key]])
                changed = True
        elif not has_match or str(meta[key]) == str(match):
            meta[key] = value
            changed = True
    return changed


def _apply_deletes(meta: Json, deletes: list[Json]) -> bool:
    """Remove keys, or (with ``value``) one value of a key."""
    changed = False
    for item in deletes:
        key = item.get("key")
        if not key or key not in meta:
            continue
        value = item.get("value")
        if isinstance(meta[key], list) and value is not None:
            kept = [v for v in meta[key] if str(v) != str(value)]
            if len(kept) != len(meta[key]):
                if kept:
                    meta[key] = kept
                else:
                    del meta[key]
                changed = True
        elif value is None or str(meta[key]) == str(value):
            del meta[key]
            changed = True
    return changed


def batch_update(
    state: ServerState, docs: list[Json], updates: list[Json], deletes: list[Json]
) -> int:
    updated = 0
    with state.store.lock:
        for doc in docs:
            meta = copy.deepcopy(doc.get("meta_fields") or {})
            before = copy.deepcopy(meta)
            if not before and not updates:
                continue
            changed = _apply_updates(meta, updates)
            changed = _apply_deletes(meta, deletes) or changed
            if changed and meta != before:
                doc["meta_fields"] = meta
                stamp(doc, created=False)
                state.store.put("document", doc)
                updated += 1
    return updated


async def _batch(request: Request, not_owned: str) -> Response:
    state = state_of(request)
    dataset_id = request.path_params["dataset_id"]
    own_dataset(state, dataset_id, not_owned.format(dataset_id=dataset_id))
    req = await read_request_json(request)
    selector = req.get("selector", {}) or {}
    updates = req.get("updates", []) or []
    deletes = req.get("deletes", []) or []
    if not isinstance(selector, dict):
        raise ApiError(102, "selector must be an object.")
    if not isinstance(updates, list) or not isinstance(deletes, list):
        raise ApiError(102, "updates and deletes must be lists.")
    condition = selector.get("metadata_condition", {}) or {}
    if condition and not isinstance(condition, dict):
        raise ApiError(102, "metadata_condition must be an object.")
    document_ids = selector.get("document_ids", []) or []
    if document_ids and not isinstance(document_ids, list):
        raise ApiError(102, "document_ids must be a list.")
    for upd in updates:
        if not isinstance(upd, dict) or not upd.get("key") or "value" not in upd:
            raise ApiError(102, "Each update requires key and value.")
    for item in deletes:
        if not isinstance(item, dict) or not item.get("key"):
            raise ApiError(102, "Each delete requires key.")
    docs = {d["id"]: d for d in state.store.all("document", dataset_id)}
    targets: set[str] = set()
    if document_ids:
        invalid = [i for i in dict.fromkeys(document_ids) if i not in docs]
        if invalid:
            listed = ", ".join(map(str, invalid))
            raise ApiError(102, f"These documents do not belong to dataset {dataset_id}: {listed}")
        targets = set(document_ids)
    if condition:
        targets &= set(filter_by_metadata(flattened_metadata(list(docs.values())), condition))
        if condition.get("conditions") and not targets:
            return result({"updated": 0, "matched_docs": 0})
    updated = batch_update(state, [docs[i] for i in targets], updates, deletes)
    return result({"updated": updated, "matched_docs": len(targets)})


@endpoint
async def batch_update_metadata(request: Request) -> Response:
    """``POST /datasets/{id}/metadata/update``."""
    return await _batch(request, "You don't own the dataset {dataset_id}. ")


@endpoint
async def patch_documents_metadata(request: Request) -> Response:
    """``PATCH /datasets/{id}/documents/metadatas``."""
    return await _batch(request, "You don't own the dataset {dataset_id}.")


@endpoint
async def get_flattened(request: Request) -> Response:
    """``GET /datasets/metadata/flattened?dataset_ids=a,b``."""
    state = state_of(request)
    ids = [d for d in request.query_params.get("dataset_ids", "").split(",") if d]
    if not ids:
        raise ApiError(102, "Lack of dataset_ids in query parameters")
    if len(ids) > 100:
        raise ApiError(101, "dataset_ids must contain at most 100 IDs")
    docs: list[Json] = []
    for dataset_id in ids:
        if state.store.get("dataset", dataset_id) is None:
            raise ApiError(102, f"No authorization for dataset '{dataset_id}'")
        docs.extend(state.store.all("document", dataset_id))
    return result(flattened_metadata(docs))


def _config_of(ds: Json) -> Json:
    config = ds.get("parser_config") or {}
    return {
        "metadata": config.get("metadata") or [],
        "built_in_metadata": config.get("built_in_metadata") or [],
    }


@endpoint
async def get_metadata_config(request: Request) -> Response:
    state = state_of(request)
    dataset_id = request.path_params["dataset_id"]
    ds = state.store.get("dataset", dataset_id)
    if ds is None:
        raise ApiError(102, f"User '{TENANT_ID}' lacks permission for dataset '{dataset_id}'")
    return result(_config_of(ds))


@endpoint
async def put_metadata_config(request: Request) -> Response:
    state = state_of(request)
    dataset_id = request.path_params["dataset_id"]
    config = validated(AutoMetadataConfig, await read_json_object(request))
    ds = state.store.get("dataset", dataset_id)
    if ds is None:
        raise ApiError(102, f"User '{TENANT_ID}' lacks permission for dataset '{dataset_id}'")
    with state.store.lock:
        parser_config = ds.get("parser_config") or {}
        parser_config["metadata"] = config.get("metadata")
        parser_config["built_in_metadata"] = config.get("built_in_metadata")
        ds["parser_config"] = parser_config
        stamp(ds, created=False)
        state.store.put("dataset", ds)
    return result(config)


@endpoint
async def put_document_metadata_config(request: Request) -> Response:
    """``PUT /datasets/{id}/documents/{doc}/metadata/config``: the raw document row back."""
    state = state_of(request)
    dataset_id, doc_id = request.path_params["dataset_id"], request.path_params["document_id"]
    own_dataset(state, dataset_id, "you don't own the dataset")
    doc = doc_in(state, dataset_id, doc_id)
    if doc is None:
        raise ApiError(102, f"document {doc_id} not found in dataset {dataset_id}")
    req = await read_request_json(request)
    if "metadata" not in req:
        raise ApiError(101, "metadata is required")
    with state.store.lock:
        doc["parser_config"] = update_document_config(
            doc.get("parser_config") or {}, {"metadata": req["metadata"]}, old=False
        )
        stamp(doc, created=False)
        state.store.put("document", doc)
    return result(_raw_row(doc))


def _raw_row(doc: Json) -> Json:
    """A document as RAGFlow's ``to_dict`` has it (database column names)."""
    names = {
        "dataset_id": "kb_id",
        "chunk_method": "parser_id",
        "chunk_count": "chunk_num",
        "token_count": "token_num",
    }
    from .documents import ROW_KEYS

    out = {names.get(k, k): doc.get(k) for k in ROW_KEYS}
    out["run"] = {"UNSTART": "0", "RUNNING": "1", "CANCEL": "2", "DONE": "3", "FAIL": "4"}.get(
        str(doc.get("run")), "0"
    )
    out["content_hash"] = doc.get("content_hash", "")
    return out


def routes(state: ServerState) -> list[Route]:
    """Registered before ``documents`` (``documents/metadatas`` is not a document id)."""
    if state.old:
        return []
    base = "/datasets/{dataset_id}"
    return [
        Route("/datasets/metadata/flattened", get_flattened, methods=["GET"]),
        Route(base + "/metadata/summary", get_summary, methods=["GET"]),
        Route(base + "/metadata/update", batch_update_metadata, methods=["POST"]),
        Route(base + "/metadata/config", get_metadata_config, methods=["GET"]),
        Route(base + "/metadata/config", put_metadata_config, methods=["PUT"]),
        Route(base + "/documents/metadatas", patch_documents_metadata, methods=["PATCH"]),
        Route(
            base + "/documents/{document_id}/metadata/config",
            put_document_metadata_config,
            methods=["PUT"],
        ),
    ]
