"""Parsing control (§3.3): start and stop parsing documents.

``POST/DELETE /datasets/{id}/chunks`` exist on both lines (v0.22 tells a running document by
its progress, v0.27 by its run status); v0.27 adds ``POST /datasets/{id}/documents/parse`` and
``/stop``, which report per-document problems in ``data.errors``. Valid ids are started even
when others are unknown; the unknown ones are reported after.
"""

from __future__ import annotations

import time
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from .._util import ApiError, Json, http_date, now_ms, read_any_json, read_request_json, result
from ._common import ServerState, endpoint, state_of
from .documents import doc_in, own_dataset

TASK_PAGES = {True: "1~100000001", False: "1~100000000"}


def start_parsing(state: ServerState, doc: Json, *, clear_log: bool = True) -> None:
    """Queue a document: RUNNING at progress 0 without chunks (the worker takes it from there)."""
    with state.store.lock:
        state.worker.cancel(doc["id"])
        state.store.delete_document_chunks(doc["id"])
        doc.update(run="RUNNING", progress=0.0, chunk_count=0, token_count=0)
        if clear_log:
            doc["progress_msg"] = ""
        doc["process_begin_at"] = http_date(now_ms())
        doc["process_duration"] = 0.0
        doc["_pages"] = TASK_PAGES[state.old]
        doc["_style"] = state.emulate
        state.store.put("document", doc)
        state.worker.submit(doc["id"])


def stop_parsing(state: ServerState, doc: Json, *, note: str | None = None) -> None:
    """CANCEL: the worker drops the task and the chunks made so far go."""
    with state.store.lock:
        state.worker.cancel(doc["id"])
        state.store.delete_document_chunks(doc["id"])
        doc.update(run="CANCEL", progress=0.0, chunk_count=0)
        if not state.old:
            doc["token_count"] = 0
        if note:
            doc["progress_msg"] = (
                (doc.get("progress_msg") or "") + "\n" + time.strftime("%H:%M:%S") + " " + note
            )
        state.store.put("document", doc)


def _ids_of(req: Any) -> list[Any]:
    if not isinstance(req, dict):
        raise ApiError(
            100,
            f"AttributeError(\"'{type(req).__name__}' object has no attribute 'get'\")",
            data=None,
        )
    ids = req.get("document_ids")
    if not ids:
        raise ApiError(102, "`document_ids` is required")
    return list(ids)


def _dedupe(ids: list[Any]) -> tuple[list[Any], list[str]]:
    unique = list(dict.fromkeys(ids))
    return unique, [f"Duplicate document ids: {i}" for i in unique if ids.count(i) > 1]


def _partial(done: int, duplicates: list[str]) -> Response:
    """RAGFlow's answer when ids repeated: the count and the repeats, or an error."""
    if done:
        return JSONResponse({"code": 0, "data": {"success_count": done, "errors": duplicates}})
    raise ApiError(102, ";".join(duplicates))


def _running(state: ServerState, doc: Json) -> bool:
    if state.old:
        return 0.0 < float(doc.get("progress") or 0) < 1.0
    return doc.get("run") == "RUNNING"


@endpoint
async def parse_chunks(request: Request) -> Response:
    """``POST /datasets/{id}/chunks``."""
    state = state_of(request)
    dataset_id = request.path_params["dataset_id"]
    ds = own_dataset(state, dataset_id, f"You don't own the dataset {dataset_id}.")
    if not state.old and ds.get("pipeline_id"):
        raise ApiError(
            101,
            "Datasets configured with an ingestion pipeline cannot be parsed with "
            "`/datasets/{dataset_id}/chunks`. Use `/documents/ingest` instead.",
        )
    req = await (read_any_json(request) if state.old else read_request_json(request))
    unique, duplicates = _dedupe(_ids_of(req))
    not_found: list[Any] = []
    started = 0
    for doc_id in unique:
        doc = doc_in(state, dataset_id, doc_id) if isinstance(doc_id, str) else None
        if doc is None:
            not_found.append(doc_id)
            continue
        if _running(state, doc):
            raise ApiError(102, "Can't parse document that is currently being processed")
        start_parsing(state, doc)
        started += 1
    if not_found:
        raise ApiError(102, f"Documents not found: {not_found}")
    if duplicates:
        return _partial(started, duplicates)
    return result()


@endpoint
async def stop_chunks(request: Request) -> Response:
    """``DELETE /datasets/{id}/chunks``."""
    state = state_of(request)
    dataset_id = request.path_params["dataset_id"]
    own_dataset(state, dataset_id, f"You don't own the dataset {dataset_id}.")
    req = await (read_any_json(request) if state.old else read_request_json(request))
    unique, duplicates = _dedupe(_ids_of(req))
    stopped = 0
    for doc_id in unique:
        doc = doc_in(state, dataset_id, doc_id) if isinstance(doc_id, str) else None
        if doc is None:
            raise ApiError(
                102,
                f"You don't own the document {doc_id}."
                if state.old
                else f"you don't own the document {doc_id}",
            )
        if state.old:
            progress = float(doc.get("progress") or 0)
            if int(progress) == 1 or progress == 0:
                raise ApiError(102, "Can't stop parsing document with progress at 0 or 1")
        elif doc.get("run") != "RUNNING":
            raise ApiError(
                102,
                "Can't stop parsing document that has not started or already completed",
                data={"error_code": "DOC_STOP_PARSING_INVALID_STATE"},
            )
        stop_parsing(state, doc)
        stopped += 1
    if duplicates:
        return _partial(stopped, duplicates)
    return result()


async def _new_route_ids(
    request: Request,
) -> tuple[ServerState, str, list[Json], list[Any], list[str]]:
    """v0.27 ``documents/parse|stop``: (state, dataset, found docs, unknown ids, duplicates)."""
    state = state_of(request)
    dataset_id = request.path_params["dataset_id"]
    own_dataset(state, dataset_id, f"You don't own the dataset {dataset_id}.")
    req = await read_request_json(request)
    ids = req.get("document_ids")
    if not isinstance(ids, list) or not ids:
        raise ApiError(102, "`document_ids` is required")
    unique, duplicates = _dedupe(ids)
    found, missing = [], []
    for doc_id in unique:
        doc = doc_in(state, dataset_id, doc_id) if isinstance(doc_id, str) else None
        if doc is None:
            missing.append(doc_id)
        else:
            found.append(doc)
    return state, dataset_id, found, missing, duplicates


@endpoint
async def parse_documents(request: Request) -> Response:
    """``POST /datasets/{id}/documents/parse`` (v0.27)."""
    state, _dataset_id, found, missing, errors = await _new_route_ids(request)
    if missing and not found:
        raise ApiError(102, f"Documents not found: {missing}")
    for doc in found:
        start_parsing(state, doc, clear_log=doc.get("run") == "DONE")
    if missing:
        raise ApiError(102, f"Documents not found: {missing}")
    data: Json = {"success_count": len(found)}
    if errors:
        data["errors"] = errors
    return result(data)


@endpoint
async def stop_documents(request: Request) -> Response:
    """``POST /datasets/{id}/documents/stop`` (v0.27)."""
    state, _dataset_id, found, missing, errors = await _new_route_ids(request)
    if missing:
        raise ApiError(102, f"Documents not found: {missing}")
    stopped = 0
    for doc in found:
        if doc.get("run") not in ("RUNNING", "CANCEL"):
            errors.append("Can't stop parsing document that has not started or already completed")
            continue
        stop_parsing(state, doc, note="Task stopped by user.")
        stopped += 1
    data: Json = {"success_count": stopped}
    if errors:
        data["errors"] = errors
    return result(data)


def routes(state: ServerState) -> list[Route]:
    out = [
        Route("/datasets/{dataset_id}/chunks", parse_chunks, methods=["POST"]),
        Route("/datasets/{dataset_id}/chunks", stop_chunks, methods=["DELETE"]),
    ]
    if not state.old:
        out += [
            Route("/datasets/{dataset_id}/documents/parse", parse_documents, methods=["POST"]),
            Route("/datasets/{dataset_id}/documents/stop", stop_documents, methods=["POST"]),
        ]
    return out
