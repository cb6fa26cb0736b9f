"""Documents (§3.2): upload, list, update, download, delete.

Both emulated lines answer here; where they differ (messages, codes, field sets, the v0.22
``PUT`` vs the v0.27 ``PATCH`` with its pydantic validation) the handler says which is which.
Parsing control lives in ``document_parse``, metadata routes in ``document_metadata``.
"""

from __future__ import annotations

import hashlib
import json
import re
from typing import Any

from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from .._util import (
    ApiError,
    Json,
    new_id,
    raw_response,
    read_any_json,
    read_json_object,
    read_request_json,
    result,
    stamp,
)
from ..dataset_schemas import validated
from ..document_schemas import DeleteDocuments
from ..parsing import UPLOADABLE, file_type, suffix_of
from ._common import NICKNAME, ServerState, endpoint, method_not_allowed, state_of
from .datasets import unique_name

RUN_CODES = {
    "0": "UNSTART",
    "1": "RUNNING",
    "2": "CANCEL",
    "3": "DONE",
    "4": "FAIL",
    "5": "SCHEDULE",
}
RUN_NAMES = {v: k for k, v in RUN_CODES.items()}
FILE_TYPES = ("pdf", "doc", "visual", "aural", "virtual", "folder", "other")
NAME_LIMIT = 255
# the fields of a document row (the v0.27 ``to_dict`` adds ``content_hash``)
ROW_KEYS = (
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
UPLOAD_KEYS = (
    "id",
    "dataset_id",
    "chunk_method",
    "pipeline_id",
    "parser_config",
    "created_by",
    "type",
    "name",
    "location",
    "size",
    "thumbnail",
    "suffix",
    "source_type",
    "run",
)
CONTENT_TYPES = {
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "doc": "application/msword",
    "pdf": "application/pdf",
    "csv": "text/csv",
    "xls": "application/vnd.ms-excel",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "md": "text/markdown",
    "markdown": "text/markdown",
    "mdx": "text/markdown",
    "htm": "text/html",
    "html": "text/html",
    "json": "application/json",
    "png": "image/png",
    "jpg": "image/jpeg",
    "jpeg": "image/jpeg",
    "gif": "image/gif",
    "bmp": "image/bmp",
    "tiff": "image/tiff",
    "tif": "image/tiff",
    "webp": "image/webp",
    "svg": "image/svg+xml",
    "ppt": "application/vnd.ms-powerpoint",
    "pptx": "application/vnd.openxmlformats-officedocument.presentationml.presentation",
}
PLAIN_TEXT = frozenset(
    {"txt", "py", "js", "java", "c", "cpp", "h", "php", "go", "ts", "sh", "cs", "kt", "sql"}
)


# ---------------------------------------------------------------- views
def row_view(doc: Json, *, old: bool) -> Json:
    """A document as RAGFlow's update answers it."""
    out = {k: doc.get(k) for k in ROW_KEYS}
    if old:
        out["meta_fields"] = dict(doc.get("meta_fields") or {})
    else:
        out["content_hash"] = doc.get("content_hash", "")
    return out


def list_view(doc: Json, *, old: bool) -> Json:
    """A document as the document list shows it."""
    out = {k: doc.get(k) for k in ROW_KEYS}
    out["meta_fields"] = dict(doc.get("meta_fields") or {})
    if old:
        out["title"] = None
    else:
        out["nickname"] = NICKNAME
        out["pipeline_name"] = None
    return out


def upload_view(doc: Json, *, old: bool) -> Json:
    out = {k: doc.get(k) for k in UPLOAD_KEYS}
    if not old:
        out["content_hash"] = doc.get("content_hash", "")
    return out


# ---------------------------------------------------------------- lookups
def own_dataset(state: ServerState, dataset_id: str, message: str) -> Json:
    ds = state.store.get("dataset", dataset_id)
    if ds is None:
        raise ApiError(102, message)
    return ds


def doc_in(state: ServerState, dataset_id: str, doc_id: str) -> Json | None:
    doc = state.store.get("document", doc_id)
    return doc if doc is not None and doc.get("dataset_id") == dataset_id else None


# ---------------------------------------------------------------- upload
def _chunk_method_for(kind: str, name: str, dataset_method: str) -> str:
    """RAGFlow picks the parser of images, audio, slides and e-mails itself."""
    if kind == "visual":
        return "picture"
    if kind == "aural":
        return "audio"
    if re.search(r"\.(ppt|pptx|pages)$", name, re.IGNORECASE):
        return "presentation"
    if re.search(r"\.(eml)$", name, re.IGNORECASE):
        return "email"
    return dataset_method


def new_document(state: ServerState, ds: Json, name: str, content: bytes, kind: str) -> Json:
    doc: Json = {
        "id": new_id(),
        "name": name,
        "dataset_id": ds["id"],
        "chunk_method": _chunk_method_for(kind, name, ds.get("chunk_method", "naive")),
        "pipeline_id": ds.get("pipeline_id"),
        "parser_config": json.loads(json.dumps(ds.get("parser_config") or {})),
        "source_type": "local",
        "type": kind,
        "suffix": suffix_of(name),
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
        "created_by": ds.get("tenant_id"),
        "meta_fields": {},
    }
    stamp(doc, created=True)
    return doc


async def _files_of(request: Request) -> list[tuple[str, bytes]]:
    """The uploaded ``file`` parts, refused as RAGFlow refuses them."""
    if "multipart/form-data" not in request.headers.get("content-type", ""):
        raise ApiError(101, "No file part!")
    async with request.form(max_files=10000, max_fields=10000) as form:
        parts = [p for p in form.getlist("file") if isinstance(p, UploadFile)]
        if not parts:
            raise ApiError(101, "No file part!")
        files: list[tuple[str, bytes]] = []
        for part in parts:
            if not part.filename:
                raise ApiError(101, "No file selected!")
            if len(part.filename.encode("utf-8")) > NAME_LIMIT:
                raise ApiError(101, f"File name must be {NAME_LIMIT} bytes or less.")
            files.append((part.filename, await part.read()))
    return files


def _store_files(
    state: ServerState, ds: Json, files: list[tuple[str, bytes]]
) -> tuple[list[Json], list[str]]:
    errors: list[str] = []
    created: list[Json] = []
    with state.store.lock:
        taken = {d["name"].lower() for d in state.store.all("document", ds["id"])}
        for filename, content in files:
            name = unique_name(filename.replace("\\", "/").rsplit("/", 1)[-1], taken)
            suffix = suffix_of(name)
            if suffix not in UPLOADABLE:
                errors.append(f"{filename}: This type of file has not been supported yet!")
                continue
            taken.add(name.lower())
            doc = new_document(state, ds, name, content, file_type(suffix))
            state.store.put_blob(doc["id"], content)
            state.store.put("document", doc)
            created.append(doc)
    return created, errors


async def _upload_empty(state: ServerState, ds: Json, request: Request) -> Response:
    req = await read_request_json(request)
    name = str(req.get("name") or "").strip()
    if not name:
        raise ApiError(101, "File name can't be empty.")
    if len(name.encode("utf-8")) > NAME_LIMIT:
        raise ApiError(101, f"File name must be {NAME_LIMIT} bytes or less.")
    if any(d["name"] == name for d in state.store.all("document", ds["id"])):
        raise ApiError(102, "Duplicated document name in the same dataset.")
    doc = new_document(state, ds, name, b"", "virtual")
    doc["location"] = ""
    state.store.put("document", doc)
    return result(row_view(doc, old=False))


@endpoint
async def upload_documents(request: Request) -> Response:
    state = state_of(request)
    dataset_id = request.path_params["dataset_id"]
    if state.old:
        files = await _files_of(request)
        ds = state.store.get("dataset", dataset_id)
        if ds is None:
            raise ApiError(
                100, f'LookupError("Can\'t find the dataset with ID {dataset_id}!")', data=None
            )
        created, errors = _store_files(state, ds, files)
        if errors:
            raise ApiError(500, "\n".join(errors))
        return result([upload_view(d, old=True) for d in created])
    ds = state.store.get("dataset", dataset_id)
    if ds is None:
        raise ApiError(102, f"Can't find the dataset with ID {dataset_id}!")
    kind = (request.query_params.get("type") or "local").lower()
    if kind == "empty":
        return await _upload_empty(state, ds, request)
    if kind == "web":
        raise ApiError(500, "The local stand-in server does not fetch web pages.")
    if kind != "local":
        raise ApiError(101, '`type` must be one of "local", "web", or "empty".')
    created, errors = _store_files(state, ds, await _files_of(request))
    if errors and not created:
        raise ApiError(500, "\n".join(errors))
    raw = request.query_params.get("return_raw_files", "false").lower() == "true"
    data = [row_view(d, old=False) if raw else upload_view(d, old=False) for d in created]
    if errors:
        return JSONResponse({"code": 500, "message": "\n".join(errors), "data": data})
    return result(data)


# ---------------------------------------------------------------- download
def _content_type(doc: Json, *, old: bool) -> str:
    if old:
        return "application/octet-stream"
    match = re.search(r"\.([^.]+)$", (doc.get("name") or "").lower())
    if not match:
        return "application/octet-stream"
    ext = match.group(1)
    if ext in PLAIN_TEXT:
        return "text/plain"
    prefix = "image" if doc.get("type") == "visual" else "application"
    return CONTENT_TYPES.get(ext, f"{prefix}/{ext}")


def _send(state: ServerState, doc: Json) -> Response:
    content = state.store.get_blob(doc["id"])
    if not content:
        raise ApiError(102, "This file is empty.")
    return raw_response(content, _content_type(doc, old=state.old), doc["name"])


@endpoint
async def download_document(request: Request) -> Response:
    state = state_of(request)
    dataset_id, doc_id = request.path_params["dataset_id"], request.path_params["document_id"]
    if state.old:
        own_dataset(state, dataset_id, f"You do not own the dataset {dataset_id}.")
    else:
        document = state.store.get("document", doc_id)
        if state.store.get("dataset", dataset_id) is None or document is None:
            raise ApiError(102, "document not found")
    doc = doc_in(state, dataset_id, doc_id)
    if doc is None:
        raise ApiError(102, f"The dataset not own the document {doc_id}.")
    return _send(state, doc)


@endpoint
async def download_document_by_id(request: Request) -> Response:
    state = state_of(request)
    doc = state.store.get("document", request.path_params["document_id"])
    if doc is None:
        raise ApiError(102, "document not found")
    return _send(state, doc)


# ---------------------------------------------------------------- delete
def delete_document(state: ServerState, doc: Json) -> None:
    with state.store.lock:
        state.worker.cancel(doc["id"])
        state.store.delete_document_chunks(doc["id"])
        state.store.delete_blob(doc["id"])
        state.store.delete("document", doc["id"])


def _delete_old(state: ServerState, dataset_id: str, req: Any) -> Response:
    if not req:
        ids = None
    elif isinstance(req, dict):
        ids = req.get("ids")
    else:
        raise ApiError(
            100,
            f"AttributeError(\"'{type(req).__name__}' object has no attribute 'get'\")",
            data=None,
        )
    docs = state.store.all("document", dataset_id)
    wanted: list[Any] = list(ids) if ids else [d["id"] for d in docs]
    unique = list(dict.fromkeys(wanted))
    duplicates = [f"Duplicate document ids: {i}" for i in unique if wanted.count(i) > 1]
    not_found, deleted = [], 0
    for doc_id in unique:
        doc = state.store.get("document", doc_id) if isinstance(doc_id, str) else None
        if doc is None:
            not_found.append(doc_id)
            continue
        delete_document(state, doc)
        deleted += 1
    if not_found:
        raise ApiError(102, f"Documents not found: {not_found}")
    if duplicates:
        if deleted:
            return JSONResponse(
                {"code": 0, "data": {"success_count": deleted, "errors": duplicates}}
            )
        raise ApiError(102, ";".join(duplicates))
    return result()


def _delete_new(state: ServerState, dataset_id: str, req: Json) -> Response:
    parsed = validated(DeleteDocuments, req)
    own_dataset(state, dataset_id, f"You don't own the dataset {dataset_id}. ")
    ids: list[str] = parsed.get("ids") or []
    delete_all = bool(parsed.get("delete_all"))
    if not delete_all and not ids:
        raise ApiError(
            102, f"should either provide doc ids or set delete_all(true), dataset: {dataset_id}. "
        )
    if ids and delete_all:
        raise ApiError(
            102, f"should not provide both doc ids and delete_all(true), dataset: {dataset_id}. "
        )
    docs = {d["id"]: d for d in state.store.all("document", dataset_id)}
    if delete_all:
        ids = list(docs)
    invalid = [i for i in ids if i not in docs]
    if invalid:
        raise ApiError(
            102,
            f"These documents do not belong to dataset {dataset_id} or Document not found: "
            + ", ".join(invalid),
        )
    for doc_id in ids:
        delete_document(state, docs[doc_id])
    return result({"deleted": len(ids)})


@endpoint
async def delete_documents(request: Request) -> Response:
    state = state_of(request)
    dataset_id = request.path_params["dataset_id"]
    if state.old:
        own_dataset(state, dataset_id, f"You don't own the dataset {dataset_id}. ")
        return _delete_old(state, dataset_id, await read_any_json(request))
    return _delete_new(state, dataset_id, await read_json_object(request))


@endpoint
async def old_patch(request: Request) -> Response:
    return method_not_allowed()


def routes(state: ServerState) -> list[Route]:
    from .document_list import list_documents
    from .document_update import batch_update_status, update_document

    doc = "/datasets/{dataset_id}/documents/{document_id}"
    out = [
        Route("/datasets/{dataset_id}/documents", upload_documents, methods=["POST"]),
        Route("/datasets/{dataset_id}/documents", list_documents, methods=["GET"]),
        Route("/datasets/{dataset_id}/documents", delete_documents, methods=["DELETE"]),
    ]
    if not state.old:
        out += [
            Route(
                "/datasets/{dataset_id}/documents/batch-update-status",
                batch_update_status,
                methods=["POST"],
            ),
            Route("/documents/{document_id}", download_document_by_id, methods=["GET"]),
        ]
    return [
        *out,
        Route(doc, download_document, methods=["GET"]),
        Route(doc, update_document, methods=["PUT"]),
        Route(doc, old_patch if state.old else update_document, methods=["PATCH"]),
    ]
