"""Updating documents (§3.2): v0.22's ``PUT`` and v0.27's ``PATCH`` (the ``PUT`` there is a
deprecated alias), plus v0.27's batch status switch."""

from __future__ import annotations

import math
import re
from pathlib import PurePath
from typing import Any

from pydantic import ValidationError
from starlette.requests import Request
from starlette.responses import Response

from .._util import ApiError, Json, json_result, read_any_json, read_request_json, result, stamp
from ..dataset_schemas import format_errors
from ..document_schemas import DOCUMENT_CHUNK_METHODS, UpdateDocument, old_update_checks
from ..parser_defaults import parser_config_for, update_document_config
from ._common import ServerState, endpoint, state_of
from .documents import NAME_LIMIT, doc_in, own_dataset, row_view


# ---------------------------------------------------------------- update
def reset_document(state: ServerState, doc: Json) -> None:
    """Back to UNSTART without chunks (a new chunk method or pipeline)."""
    state.worker.cancel(doc["id"])
    state.store.delete_document_chunks(doc["id"])
    doc.update(run="UNSTART", progress=0.0, progress_msg="", chunk_count=0, token_count=0)
    doc["process_duration"] = 0.0


def _rename(state: ServerState, doc: Json, name: Any) -> None:
    if not isinstance(name, str):
        raise ApiError(
            100,
            f"AttributeError(\"'{type(name).__name__}' object has no attribute 'encode'\")",
            data=None,
        )
    if len(name.encode("utf-8")) > NAME_LIMIT:
        raise ApiError(101, f"File name must be {NAME_LIMIT} bytes or less.")
    if PurePath(name.lower()).suffix != PurePath(doc["name"].lower()).suffix:
        raise ApiError(101, "The extension of file can't be changed")
    if any(d["name"] == name for d in state.store.all("document", doc["dataset_id"])):
        raise ApiError(102, "Duplicated document name in the same dataset.")


def _update_old(state: ServerState, doc: Json, req: Any) -> Response:
    """v0.22 ``PUT``: checks and changes in RAGFlow's order; each change is kept as made."""
    if not isinstance(req, dict):
        raise ApiError(
            100,
            f"AttributeError(\"'{type(req).__name__}' object has no attribute 'get'\")",
            data=None,
        )
    old_update_checks(req, doc)
    if "meta_fields" in req:
        if not isinstance(req["meta_fields"], dict):
            raise ApiError(102, "meta_fields must be a dictionary")
        doc["meta_fields"] = req["meta_fields"]
        state.store.put("document", doc)
    if "name" in req and req["name"] != doc["name"]:
        _rename(state, doc, req["name"])
        doc["name"] = req["name"]  # the stored file keeps its location
        state.store.put("document", doc)
    if req.get("parser_config"):
        config = req["parser_config"]
        if not isinstance(config, dict):
            raise ApiError(
                100,
                f"AttributeError(\"'{type(config).__name__}' object has no attribute 'items'\")",
                data=None,
            )
        try:
            doc["parser_config"] = update_document_config(
                doc.get("parser_config") or {}, config, old=True
            )
        except AssertionError:
            raise ApiError(100, "AssertionError()", data=None) from None
        state.store.put("document", doc)
    if "chunk_method" in req:
        _change_method(state, doc, req, old=True)
    if "enabled" in req:
        try:
            status = int(req["enabled"])
        except (TypeError, ValueError) as exc:
            raise ApiError(100, repr(exc), data=None) from None
        if doc.get("status") != req["enabled"]:
            doc["status"] = str(status)
            stamp(doc, created=False)
            state.store.put("document", doc)
            return result(True)
    stamp(doc, created=False)
    state.store.put("document", doc)
    return result(row_view(doc, old=True))


def _change_method(state: ServerState, doc: Json, req: Json, *, old: bool) -> None:
    method = req["chunk_method"]
    if old and method not in DOCUMENT_CHUNK_METHODS:
        raise ApiError(102, f"`chunk_method` {method} doesn't exist")
    if doc.get("type") == "visual" or re.search(r"\.(ppt|pptx|pages)$", doc["name"]):
        raise ApiError(102, "Not supported yet!")
    if str(doc["chunk_method"]).lower() != str(method).lower():
        doc["chunk_method"] = method
        if not old:
            doc["pipeline_id"] = ""
        reset_document(state, doc)
    elif not old and doc.get("pipeline_id"):
        doc["pipeline_id"] = ""
        reset_document(state, doc)
    if not req.get("parser_config"):
        defaults = parser_config_for(method, None, old=old)
        if defaults:
            doc["parser_config"] = update_document_config(
                doc.get("parser_config") or {}, defaults, old=old
            )
    state.store.put("document", doc)


def _update_new(state: ServerState, doc: Json, req: Json) -> Response:
    """v0.27 ``PATCH`` (and the deprecated ``PUT``): pydantic first, then RAGFlow's checks."""
    try:
        update = UpdateDocument(**req)
    except ValidationError as exc:
        raise ApiError(102, format_errors(exc)) from None
    if update.chunk_count is not None and update.chunk_count != int(doc.get("chunk_count") or 0):
        raise ApiError(102, "can't change `chunk_count`")
    if update.token_count is not None and update.token_count != int(doc.get("token_count") or 0):
        raise ApiError(102, "can't change `token_count`")
    if update.progress is not None and not math.isclose(
        update.progress, float(doc.get("progress") or 0)
    ):
        raise ApiError(102, "can't change `progress`")
    if "name" in req and req["name"] != doc["name"]:
        _rename(state, doc, req["name"])
    if "chunk_method" in req:
        if req["chunk_method"] is not None and len(req["chunk_method"]) == 0:
            raise ApiError(102, "`chunk_method` (empty string) is not valid")
        if doc.get("type") == "visual" or re.search(r"\.(ppt|pptx|pages)$", doc["name"]):
            raise ApiError(102, "Not supported yet!")
    if "meta_fields" in req:
        doc["meta_fields"] = dict(update.meta_fields or {})
    if "name" in req and req["name"] != doc["name"]:
        doc["name"] = req["name"]
    if update.parser_config:
        config = dict(req["parser_config"])
        config.update(update.parser_config.ext)
        doc["parser_config"] = update_document_config(
            doc.get("parser_config") or {}, config, old=False
        )
    if "pipeline_id" in req:
        doc["pipeline_id"] = update.pipeline_id or ""
        reset_document(state, doc)
    elif update.chunk_method:
        _change_method(state, doc, req, old=False)
    if "enabled" in req and req["enabled"] is not None:
        doc["status"] = str(int(req["enabled"]))
    stamp(doc, created=False)
    state.store.put("document", doc)
    return result(row_view(doc, old=False))


@endpoint
async def update_document(request: Request) -> Response:
    state = state_of(request)
    dataset_id, doc_id = request.path_params["dataset_id"], request.path_params["document_id"]
    if state.old:
        req: Any = await read_any_json(request)
        own_dataset(state, dataset_id, "You don't own the dataset.")
        doc = doc_in(state, dataset_id, doc_id)
        if doc is None:
            raise ApiError(102, "The dataset doesn't own the document.")
        with state.store.lock:
            return _update_old(state, doc, req)
    req = await read_request_json(request)
    _drop_legacy_raptor(req)
    if "name" in req and req["name"] is None:
        raise ApiError(
            102, "Field: <name> - Message: <Input should be a valid string> - Value: <None>"
        )
    own_dataset(state, dataset_id, "you don't own the dataset")
    doc = doc_in(state, dataset_id, doc_id)
    if doc is None:
        raise ApiError(102, "the dataset doesn't own the document")
    with state.store.lock:
        return _update_new(state, doc, req)


def _drop_legacy_raptor(req: Json) -> None:
    """v0.27 drops RAPTOR settings it no longer has before validating an update."""
    config = req.get("parser_config")
    raptor = config.get("raptor") if isinstance(config, dict) else None
    if not isinstance(raptor, dict):
        return
    legacy = raptor.pop("ext", None)
    if (
        isinstance(legacy, dict)
        and "clustering_threshold" in legacy
        and "clustering_threshold" not in raptor
    ):
        raptor["clustering_threshold"] = legacy["clustering_threshold"]
    for key in ("threshold", "clustering_method", "tree_builder"):
        raptor.pop(key, None)
    size = raptor.get("max_token")
    if isinstance(size, int | float) and not isinstance(size, bool) and size < 512:
        raptor["max_token"] = 512


@endpoint
async def batch_update_status(request: Request) -> Response:
    """``POST /datasets/{id}/documents/batch-update-status`` (v0.27): per-document results."""
    state = state_of(request)
    dataset_id = request.path_params["dataset_id"]
    req = await read_request_json(request)
    doc_ids = req.get("doc_ids", [])
    if not isinstance(doc_ids, list) or not doc_ids:
        raise ApiError(101, '"doc_ids" must be a non-empty list.')
    if any(not isinstance(i, str) or not i for i in doc_ids):
        raise ApiError(101, '"doc_ids" must contain non-empty document IDs.')
    status = str(req.get("status", -1))
    if status not in ("0", "1"):
        raise ApiError(101, f'"Status" must be either 0 or 1:{status}!')
    own_dataset(state, dataset_id, "you don't own the dataset")
    outcome: Json = {}
    failed = False
    with state.store.lock:
        for doc_id in doc_ids:
            doc = state.store.get("document", doc_id)
            if doc is None:
                outcome[doc_id] = {"error": "Document not found"}
                failed = True
            elif doc.get("dataset_id") != dataset_id:
                outcome[doc_id] = {"error": "Document not found in this dataset."}
                failed = True
            else:
                if str(doc.get("status")) != status:
                    doc["status"] = status
                    stamp(doc, created=False)
                    state.store.put("document", doc)
                outcome[doc_id] = {"status": status}
    if failed:
        return json_result(outcome, message="Partial failure", code=500)
    return json_result(outcome)
