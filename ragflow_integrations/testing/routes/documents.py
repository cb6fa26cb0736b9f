"""Documents (§3.2) and parsing control (§3.3)."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from .._util import (
    ApiError,
    Json,
    is_desc,
    json_result,
    multi,
    new_id,
    normalise_id,
    paging,
    raw_response,
    read_json,
    result,
    slice_page,
    stamp,
)
from ..metadata import metadata_matches
from ..parsing import UPLOADABLE, file_type, media_type, suffix_of
from ._common import (
    NICKNAME,
    ServerState,
    endpoint,
    method_not_allowed,
    not_found_body,
    state_of,
)
from ._views import document_view, find_dataset, owner_fields

RUN_CODES = {
    "0": "UNSTART",
    "1": "RUNNING",
    "2": "CANCEL",
    "3": "DONE",
    "4": "FAIL",
    "5": "SCHEDULE",
}
RUN_NAMES = set(RUN_CODES.values())
READ_ONLY = ("chunk_count", "token_count", "progress")


def _unique_doc_name(taken: set[str], name: str) -> str:
    if name not in taken:
        return name
    stem, dot, ext = name.rpartition(".")
    if not dot:
        stem, ext = name, ""
    n = 1
    while True:
        candidate = f"{stem}({n}).{ext}" if dot else f"{stem}({n})"
        if candidate not in taken:
            return candidate
        n += 1


def new_document(state: ServerState, ds: Json, name: str, content: bytes) -> Json:
    suffix = suffix_of(name)
    doc: Json = {
        "id": new_id(),
        "name": name,
        "dataset_id": ds["id"],
        "chunk_method": ds.get("chunk_method", "naive"),
        "pipeline_id": None,
        "pipeline_name": None,
        "parser_config": dict(ds.get("parser_config") or {}),
        "source_type": "local",
        "type": file_type(suffix),
        "suffix": suffix,
        "location": name,
        "size": len(content),
        "thumbnail": "",
        "content_hash": hashlib.sha256(content).hexdigest()[:32],
        "token_count": 0,
        "chunk_count": 0,
        "progress": 0.0,
        "progress_msg": "",
        "process_begin_at": None,
        "process_duration": 0.0,
        "run": "UNSTART",
        "status": "1",
        **owner_fields(),
        "nickname": NICKNAME,
        "meta_fields": {},
    }
    stamp(doc, created=True)
    return doc


@endpoint
async def upload_documents(request: Request) -> Response:
    state = state_of(request)
    dataset_id = request.path_params["dataset_id"]
    content_type = request.headers.get("content-type", "")
    if "multipart/form-data" not in content_type:
        raise ApiError(101, "No file part!")
    async with request.form(max_files=10000, max_fields=10000) as form:
        parts = [p for p in form.getlist("file") if isinstance(p, UploadFile)]
        if not parts:
            raise ApiError(101, "No file part!")
        files: list[tuple[str, bytes]] = []
        for part in parts:
            if not part.filename:
                raise ApiError(101, "No file selected!")
            if len(part.filename.encode("utf-8")) > 255:
                raise ApiError(101, "File name must be 255 bytes or less.")
            files.append((part.filename, await part.read()))
    ds = state.store.get("dataset", normalise_id(dataset_id))
    if ds is None:
        raise ApiError(102, f"Can't find the dataset with ID {dataset_id}!")
    errors: list[str] = []
    created: list[Json] = []
    with state.store.lock:
        taken = {d["name"] for d in state.store.all("document", ds["id"])}
        for filename, content in files:
            name = filename.replace("\\", "/").rsplit("/", 1)[-1]
            if suffix_of(name) not in UPLOADABLE:
                errors.append(f"{name}: This type of file has not been supported yet!")
                continue
            name = _unique_doc_name(taken, name)
            taken.add(name)
            doc = new_document(state, ds, name, content)
            state.store.put_blob(doc["id"], content)
            state.store.put("document", doc)
            created.append(document_view(doc))
    if errors and not created:
        raise ApiError(500, "\n".join(errors))
    if errors:
        return Response(
            json.dumps({"code": 500, "message": "\n".join(errors), "data": created}),
            media_type="application/json",
        )
    return result(created)


def _parse_condition(raw: str | None) -> Json | None:
    if not raw:
        return None
    try:
        value = json.loads(raw)
    except ValueError as exc:
        raise ApiError(102, f"metadata_condition must be valid JSON: {exc}") from None
    if not isinstance(value, dict):
        raise ApiError(102, "metadata_condition must be an object.")
    return value


def _metadata_filter(meta: Json, raw: str | None) -> bool:
    """The simple ``metadata`` query filter: OR within a key, AND across keys."""
    if not raw:
        return True
    try:
        wanted = json.loads(raw)
    except ValueError as exc:
        raise ApiError(102, f"metadata must be valid JSON: {exc}") from None
    if not isinstance(wanted, dict):
        return True
    for key, values in wanted.items():
        if key == "empty_metadata":
            if values and meta:
                return False
            continue
        options = values if isinstance(values, list) else [values]
        actual = meta.get(key)
        actual_list = actual if isinstance(actual, list) else [actual]
        if not any(str(a) == str(o) for a in actual_list for o in options):
            return False
    return True


@endpoint
async def list_documents(request: Request) -> Response:
    state = state_of(request)
    dataset_id = request.path_params["dataset_id"]
    params = request.query_params
    ds = find_dataset(
        state, normalise_id(dataset_id) or dataset_id, f"You don't own the dataset {dataset_id}. "
    )
    page, size = paging(params, cap=not state.old)
    orderby = params.get("orderby", "create_time")
    if orderby not in ("create_time", "update_time", "name"):
        raise ApiError(101, f"invalid orderby field: {orderby}")
    docs = state.store.all("document", ds["id"])
    wanted_id = params.get("id")
    if wanted_id:
        docs = [d for d in docs if d["id"] == wanted_id]
        if not docs:
            raise ApiError(102, f"You don't own the document {wanted_id}.")
    ids = multi(request, "ids")
    if ids:
        docs = [d for d in docs if d["id"] in set(ids)]
    name = params.get("name")
    if name:
        docs = [d for d in docs if d["name"] == name]
        if not docs:
            raise ApiError(102, f"You don't own the document {name}.")
    keywords = params.get("keywords")
    if keywords:
        docs = [d for d in docs if keywords.lower() in d["name"].lower()]
    suffixes = {s.lower().lstrip(".") for s in multi(request, "suffix")}
    if suffixes:
        docs = [d for d in docs if d.get("suffix") in suffixes]
    types = set(multi(request, "types"))
    if types:
        docs = [d for d in docs if d.get("type") in types]
    runs = multi(request, "run") + multi(request, "run_status")
    if runs:
        wanted_runs = set()
        for run in runs:
            value = RUN_CODES.get(run, run.upper())
            if value not in RUN_NAMES:
                raise ApiError(102, f"Invalid filter run status conditions: {run}")
            wanted_runs.add(value)
        docs = [d for d in docs if d.get("run") in wanted_runs]
    if not wanted_id:
        condition = _parse_condition(params.get("metadata_condition"))
        if condition:
            docs = [d for d in docs if metadata_matches(d.get("meta_fields") or {}, condition)]
        docs = [
            d for d in docs if _metadata_filter(d.get("meta_fields") or {}, params.get("metadata"))
        ]
        if is_desc(params.get("return_empty_metadata"), default=False):
            docs = [d for d in docs if not d.get("meta_fields")]
    key = (lambda d: d["name"].lower()) if orderby == "name" else (lambda d: d.get(orderby, 0))
    docs.sort(key=key, reverse=is_desc(params.get("desc")))
    total = len(docs)
    page_docs = slice_page(docs, page, size)
    low, high = params.get("create_time_from"), params.get("create_time_to")
    if low and low.isdigit() and int(low) > 0:
        page_docs = [d for d in page_docs if d["create_time"] >= int(low)]
    if high and high.isdigit() and int(high) > 0:
        page_docs = [d for d in page_docs if d["create_time"] <= int(high)]
    data = {"total": total, "docs": [document_view(d) for d in page_docs]}
    return result(data) if state.old else json_result(data)  # ≤ v0.24 used get_result


def _valid_meta(meta: Any) -> bool:
    if not isinstance(meta, dict):
        return False
    scalar = (str, int, float)
    for value in meta.values():
        if isinstance(value, list):
            if not all(isinstance(v, scalar) and not isinstance(v, bool) for v in value):
                return False
        elif not isinstance(value, scalar) or isinstance(value, bool):
            return False
    return True


def reset_document(state: ServerState, doc: Json) -> None:
    state.worker.cancel(doc["id"])
    state.store.delete_document_chunks(doc["id"])
    doc.update(
        {
            "run": "UNSTART",
            "progress": 0.0,
            "progress_msg": "",
            "chunk_count": 0,
            "token_count": 0,
            "process_duration": 0.0,
        }
    )


@endpoint
async def update_document(request: Request) -> Response:
    state = state_of(request)
    dataset_id, doc_id = request.path_params["dataset_id"], request.path_params["document_id"]
    req = await read_json(request)
    ds = find_dataset(state, normalise_id(dataset_id) or dataset_id)
    doc = state.store.get("document", doc_id)
    if doc is None or doc["dataset_id"] != ds["id"]:
        raise ApiError(102, f"The dataset doesn't own the document {doc_id}.")
    for key in READ_ONLY:
        if key in req and req[key] != doc.get(key):
            raise ApiError(102, f"Can't change `{key}`.")
    with state.store.lock:
        if "name" in req:
            name = req["name"]
            if not isinstance(name, str) or not name.strip():
                raise ApiError(102, "`name` is not valid.")
            if suffix_of(name) != suffix_of(doc["name"]):
                raise ApiError(101, "The extension of file can't be changed")
            if name != doc["name"] and any(
                d["name"] == name for d in state.store.all("document", ds["id"])
            ):
                raise ApiError(102, "Duplicated document name in the same dataset.")
            doc["name"] = doc["location"] = name
        if "meta_fields" in req:
            if not _valid_meta(req["meta_fields"]):
                raise ApiError(
                    102,
                    "The type is not supported in meta_fields: use str, int, "
                    "float or lists of them.",
                )
            doc["meta_fields"] = req["meta_fields"]
        if "enabled" in req:
            enabled = req["enabled"]
            if state.old:
                enabled = int(bool(enabled))
            elif not isinstance(enabled, int) or isinstance(enabled, bool):
                raise ApiError(
                    102,
                    "Field: <enabled> - Message: <Input should be a valid "
                    f"integer> - Value: <{enabled}>",
                )
            if enabled not in (0, 1):
                raise ApiError(102, "`enabled` should be 0 or 1.")
            doc["status"] = str(enabled)
        if "parser_config" in req and isinstance(req["parser_config"], dict):
            from .datasets import deep_merge, validate_parser_config

            try:
                validate_parser_config(req["parser_config"])
            except ApiError as exc:
                raise ApiError(102, exc.message) from None
            doc["parser_config"] = deep_merge(doc.get("parser_config") or {}, req["parser_config"])
        if "chunk_method" in req:
            method = req["chunk_method"]
            if not method:
                raise ApiError(102, "`chunk_method` (empty string) is not valid")
            allowed = {
                "naive",
                "manual",
                "qa",
                "table",
                "paper",
                "book",
                "laws",
                "presentation",
                "picture",
                "one",
                "knowledge_graph",
                "email",
                "audio",
                "tag",
            }
            if method not in allowed:
                raise ApiError(102, f"`chunk_method` {method} doesn't exist")
            if method != doc["chunk_method"]:
                doc["chunk_method"] = method
                reset_document(state, doc)
        if "pipeline_id" in req:
            doc["pipeline_id"] = req["pipeline_id"]
        stamp(doc, created=False)
        state.store.put("document", doc)
    return result(document_view(doc))


def _download(state: ServerState, doc: Json | None, doc_id: str) -> Response:
    if doc is None:
        raise ApiError(102, "document not found")
    content = state.store.get_blob(doc["id"])
    if not content:
        raise ApiError(102, "This file is empty.")
    return raw_response(content, media_type(doc.get("suffix", "")), doc["name"])


@endpoint
async def download_document(request: Request) -> Response:
    state = state_of(request)
    dataset_id, doc_id = request.path_params["dataset_id"], request.path_params["document_id"]
    doc = state.store.get("document", doc_id)
    if doc is not None and doc["dataset_id"] != normalise_id(dataset_id):
        raise ApiError(102, f"The dataset not own the document {doc_id}.")
    return _download(state, doc, doc_id)


@endpoint
async def download_document_by_id(request: Request) -> Response:
    state = state_of(request)
    doc_id = request.path_params["document_id"]
    return _download(state, state.store.get("document", doc_id), doc_id)


def delete_document(state: ServerState, doc: Json) -> None:
    with state.store.lock:
        state.worker.cancel(doc["id"])
        state.store.delete_document_chunks(doc["id"])
        state.store.delete_blob(doc["id"])
        state.store.delete("document", doc["id"])


@endpoint
async def delete_documents(request: Request) -> Response:
    state = state_of(request)
    dataset_id = request.path_params["dataset_id"]
    ds = find_dataset(state, normalise_id(dataset_id) or dataset_id)
    req = await read_json(request)
    ids = req.get("ids")
    delete_all = bool(req.get("delete_all")) and not state.old
    docs = state.store.all("document", ds["id"])
    if state.old and not ids:
        targets = docs
    elif (ids and delete_all) or (not ids and not delete_all):
        raise ApiError(
            102, f"should either provide doc ids or set delete_all(true), dataset: {ds['id']}. "
        )
    elif delete_all:
        targets = docs
    else:
        if not isinstance(ids, list):
            raise ApiError(102, "`ids` should be a list.")
        by_id = {d["id"]: d for d in docs}
        missing = [i for i in ids if i not in by_id]
        if missing:
            raise ApiError(
                102,
                f"These documents do not belong to dataset {ds['id']} or "
                f"Document not found: {', '.join(map(str, missing))}",
            )
        targets = [by_id[i] for i in dict.fromkeys(ids)]
    for doc in targets:
        delete_document(state, doc)
    if state.old:
        return result()
    return result({"deleted": len(targets)})


# ---------------------------------------------------------------- parsing control
def _document_ids(req: Json) -> list[str]:
    ids = req.get("document_ids")
    if not ids:
        raise ApiError(102, "`document_ids` is required")
    if not isinstance(ids, list):
        raise ApiError(102, "`document_ids` should be a list")
    return [str(i) for i in ids]


def start_parsing(state: ServerState, doc: Json) -> None:
    with state.store.lock:
        reset_document(state, doc)
        doc.update(
            {"run": "RUNNING", "progress": 0.0, "progress_msg": "", "process_begin_at": stamp_now()}
        )
        state.store.put("document", doc)
        state.worker.submit(doc["id"])


def stamp_now() -> str:
    import time

    return time.strftime("%a, %d %b %Y %H:%M:%S GMT", time.gmtime())


def stop_parsing(state: ServerState, doc: Json) -> None:
    with state.store.lock:
        state.worker.cancel(doc["id"])
        state.store.delete_document_chunks(doc["id"])
        doc.update({"run": "CANCEL", "progress": 0.0, "chunk_count": 0, "token_count": 0})
        doc["progress_msg"] = (doc.get("progress_msg") or "") + "\n[CANCEL] Task was cancelled."
        doc["progress_msg"] = doc["progress_msg"].lstrip("\n")
        state.store.put("document", doc)


def _split_known(state: ServerState, ds: Json, ids: list[str]) -> tuple[list[Json], list[str]]:
    found, missing = [], []
    for doc_id in dict.fromkeys(ids):
        doc = state.store.get("document", doc_id)
        if doc is None or doc["dataset_id"] != ds["id"]:
            missing.append(doc_id)
        else:
            found.append(doc)
    return found, missing


async def _parse_control_request(
    request: Request,
) -> tuple[ServerState, list[str], list[Json], list[str]]:
    """The dataset's ``document_ids`` of a parse/stop request: (state, ids, found, missing)."""
    state = state_of(request)
    ds = find_dataset(state, normalise_id(request.path_params["dataset_id"]) or "")
    ids = _document_ids(await read_json(request))
    found, missing = _split_known(state, ds, ids)
    return state, ids, found, missing


@endpoint
async def parse_chunks(request: Request) -> Response:
    """POST /datasets/{id}/chunks: the SDK's parse call."""
    state, ids, found, missing = await _parse_control_request(request)
    if missing:
        raise ApiError(102, f"Documents not found: {missing}")
    if any(d.get("run") == "RUNNING" for d in found):
        raise ApiError(102, "Can't parse document that is currently being processed")
    for doc in found:
        start_parsing(state, doc)
    if len(found) != len(ids):
        duplicates = [f"Duplicate document ids: {i}" for i in ids if ids.count(i) > 1]
        return result({"success_count": len(found), "errors": sorted(set(duplicates))})
    return result()


@endpoint
async def stop_chunks(request: Request) -> Response:
    """DELETE /datasets/{id}/chunks: cancel parsing."""
    state, _ids, found, missing = await _parse_control_request(request)
    if missing:
        raise ApiError(102, f"You don't own the document {missing[0]}.")
    for doc in found:
        if doc.get("run") != "RUNNING":
            raise ApiError(
                102,
                "Can't stop parsing document that has not started or already completed",
                data={"error_code": "DOC_STOP_PARSING_INVALID_STATE"},
            )
    for doc in found:
        stop_parsing(state, doc)
    return result()


@endpoint
async def parse_documents(request: Request) -> Response:
    state, _ids, found, missing = await _parse_control_request(request)
    errors = []
    started = 0
    for doc in found:
        if doc.get("run") == "RUNNING":
            errors.append(f"Document {doc['id']} is currently being processed.")
            continue
        start_parsing(state, doc)
        started += 1
    if missing:
        raise ApiError(102, f"Documents not found: {missing}")
    data: Json = {"success_count": started}
    if errors:
        data["errors"] = errors
    return result(data)


@endpoint
async def stop_documents(request: Request) -> Response:
    state, _ids, found, missing = await _parse_control_request(request)
    errors = [f"Document {i} not found." for i in missing]
    stopped = 0
    for doc in found:
        if doc.get("run") != "RUNNING":
            errors.append(f"Document {doc['id']} is not being parsed.")
            continue
        stop_parsing(state, doc)
        stopped += 1
    return result({"success_count": stopped, "errors": errors})


@endpoint
async def old_patch(request: Request) -> Response:
    return method_not_allowed()


async def not_implemented(request: Request) -> Response:
    """A route the reference lists but the stand-in does not implement: an unknown route's 404
    (rather than the 405 that ``/documents/{document_id}`` would answer)."""
    return not_found_body(request.url.path)


def routes(state: ServerState) -> list[Route]:
    doc = "/datasets/{dataset_id}/documents/{document_id}"
    out = [
        Route("/datasets/{dataset_id}/documents", upload_documents, methods=["POST"]),
        Route("/datasets/{dataset_id}/documents", list_documents, methods=["GET"]),
        Route("/datasets/{dataset_id}/documents", delete_documents, methods=["DELETE"]),
        Route(doc, download_document, methods=["GET"]),
        Route(doc, update_document, methods=["PUT"]),
        Route(doc, old_patch if state.old else update_document, methods=["PATCH"]),
        Route("/datasets/{dataset_id}/chunks", parse_chunks, methods=["POST"]),
        Route("/datasets/{dataset_id}/chunks", stop_chunks, methods=["DELETE"]),
    ]
    if not state.old:
        out += [
            Route("/documents/{document_id}", download_document_by_id, methods=["GET"]),
            Route("/datasets/{dataset_id}/documents/parse", parse_documents, methods=["POST"]),
            Route("/datasets/{dataset_id}/documents/stop", stop_documents, methods=["POST"]),
            Route(
                "/datasets/{dataset_id}/documents/batch-update-status",
                not_implemented,
                methods=["POST"],
            ),
        ]
    return out
