"""Datasets (§3.1): create, list, get, update, delete.

Requests are validated with the per-line pydantic models of ``dataset_schemas`` (code 101 with
RAGFlow's ``Field: <…>`` messages). Lookups of unknown datasets answer code 108 on v0.22
(``get_error_permission_result``) and 102 on v0.27.
"""

from __future__ import annotations

import re
from pathlib import PurePath
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from .._util import ApiError, Json, new_id, read_json_object, result, slice_page, stamp
from ..dataset_schemas import (
    CreateDataset,
    DeleteDatasets,
    OldCreateDataset,
    OldDeleteDatasets,
    OldUpdateDataset,
    UpdateDataset,
    list_query,
    validated,
)
from ..model_catalog import EmbeddingModels
from ..parser_defaults import deep_merge, parser_config_for
from ..server import DEFAULT_LLM
from ._common import TENANT_ID, ServerState, endpoint, method_not_allowed, state_of
from ._views import dataset_view, owner_fields, user_label

# the dataset columns a create/update ``ext`` object may set
EXT_COLUMNS = frozenset(
    {"language", "similarity_threshold", "vector_similarity_weight", "pagerank", "avatar"}
)
TASK_KINDS = ("graphrag", "raptor", "mindmap")
NEW_TASK_KINDS = (
    "session_essence",
    "session_graph",
    "skill",
    "structure_graph",
    "structure_mindmap",
    "structure",
    "timeline",
    "wiki",
)


def lacks_permission(state: ServerState, dataset_id: str) -> ApiError:
    """RAGFlow's answer for a dataset the tenant does not have (108 on v0.22, 102 later)."""
    return ApiError(
        108 if state.old else 102,
        f"User '{TENANT_ID}' lacks permission for dataset '{dataset_id}'",
    )


def embedding_models(state: ServerState) -> EmbeddingModels:
    models = state.extra.get("embedding_models")
    if not isinstance(models, EmbeddingModels):
        models = EmbeddingModels(state.extra["embedding_model"], state.llms)
        state.extra["embedding_models"] = models
    return models


def check_embedding_model(state: ServerState, model: str) -> None:
    models = embedding_models(state)
    if state.old:
        models.check_old(model)
    else:
        models.check(model)


def unique_name(name: str, taken: set[str]) -> str:
    """RAGFlow's ``duplicate_name``: ``a.txt`` → ``a(1).txt`` → ``a(2).txt`` while taken.

    ``taken`` holds lower-cased names: RAGFlow's MySQL compares names case-insensitively.
    """
    current = name
    while current.lower() in taken:
        path = PurePath(current)
        match = re.fullmatch(r"(.*)\((\d+)\)", path.stem)
        stem, counter = (match.group(1), int(match.group(2)) + 1) if match else (path.stem, 1)
        current = f"{stem}({counter}){path.suffix}"
    return current


def _unique_name(state: ServerState, name: str) -> str:
    return unique_name(name, {d["name"].lower() for d in state.store.all("dataset")})


def _apply_auto_metadata(req: Json) -> None:
    """A non-empty ``auto_metadata_config`` switches metadata extraction on in parser_config."""
    auto = req.pop("auto_metadata_config", None)
    if not auto:
        return
    config = req.get("parser_config") or {}
    config["metadata"] = [
        {
            "name": f.get("name", ""),
            "type": f.get("type", ""),
            "description": f.get("description"),
            "examples": f.get("examples"),
            "restrict_values": f.get("restrict_values", False),
        }
        for f in auto.get("fields", [])
    ]
    config["enable_metadata"] = auto.get("enabled", True)
    req["parser_config"] = config


def new_dataset(state: ServerState, req: Json) -> Json:
    method = req.get("parser_id") or "naive"
    config = parser_config_for(method, req.get("parser_config"), old=state.old)
    if not state.old:
        config["llm_id"] = DEFAULT_LLM
    ds: Json = {
        "id": new_id(),
        "name": _unique_name(state, req["name"]),
        "avatar": req.get("avatar"),
        "description": req.get("description"),
        "language": "English",
        **owner_fields(),
        "permission": req.get("permission") or "me",
        "embedding_model": req.get("embd_id") or state.extra["embedding_model"],
        "chunk_method": method,
        "pipeline_id": req.get("pipeline_id"),
        "parser_config": config,
        "similarity_threshold": 0.2,
        "vector_similarity_weight": 0.3,
        "pagerank": 0,
        "status": "1",
    }
    for kind in TASK_KINDS + (() if state.old else NEW_TASK_KINDS):
        ds[f"{kind}_task_id"] = None
        ds[f"{kind}_task_finish_at"] = None
    if not state.old:
        ds["tenant_embd_id"] = None
    for key, value in (req.get("ext") or {}).items():
        if key in EXT_COLUMNS:
            ds[key] = value
    stamp(ds, created=True)
    return ds


@endpoint
async def create_dataset(request: Request) -> Response:
    state = state_of(request)
    payload = await read_json_object(request)
    req = validated(OldCreateDataset if state.old else CreateDataset, payload, by_alias=True)
    if not state.old:
        _apply_auto_metadata(req)
    if req.get("embd_id"):
        check_embedding_model(state, req["embd_id"])
    with state.store.lock:
        ds = new_dataset(state, req)
        state.store.put("dataset", ds)
    return result(dataset_view(state, ds))


def _parsing_status(state: ServerState, dataset_id: str) -> Json:
    counts = dict.fromkeys(
        ("unstart_count", "running_count", "cancel_count", "done_count", "fail_count"), 0
    )
    for doc in state.store.all("document", dataset_id):
        key = f"{str(doc.get('run', 'UNSTART')).lower()}_count"
        if key in counts:
            counts[key] += 1
    return counts


def _by_name(state: ServerState, name: str) -> list[Json]:
    return [d for d in state.store.all("dataset") if d["name"].lower() == name.lower()]


@endpoint
async def list_datasets(request: Request) -> Response:
    state = state_of(request)
    params = request.query_params
    if not state.old and params.get("type") == "filter":
        datasets = state.store.all("dataset")
        owners = [{"id": TENANT_ID, "name": user_label()["nickname"], "count": len(datasets)}]
        return result({"filter": {"owner": owners if datasets else []}, "total": len(datasets)})
    args = list_query(params, old=state.old)
    wanted_id: str | None = params.get("id") if state.old else args.get("id")
    ids: list[str] | None = args.get("ids")
    name: str | None = args.get("name")
    if wanted_id and ids:
        raise ApiError(102, f"Should not provide both 'id':{wanted_id} and 'ids'{ids}")
    if wanted_id and state.store.get("dataset", wanted_id) is None:
        raise lacks_permission(state, wanted_id)
    if name and not _by_name(state, name):
        raise lacks_permission(state, name)
    items = state.store.all("dataset")
    if wanted_id:
        items = [d for d in items if d["id"] == wanted_id]
    if ids:
        items = [d for d in items if d["id"] in set(ids)]
        if not items:
            return result([], total=0)
    if name:
        items = [d for d in items if d["name"].lower() == name.lower()]
    ext: Json = args.get("ext") or {}
    keywords = str(ext.get("keywords") or "").lower()
    if keywords:
        items = [d for d in items if keywords in d["name"].lower()]
    if ext.get("parser_id"):
        items = [d for d in items if d["chunk_method"] == ext["parser_id"]]
    orderby = args["orderby"]
    items.sort(key=lambda d: d.get(orderby, 0), reverse=bool(args["desc"]))
    out = []
    for ds in slice_page(items, args["page"], args["page_size"]):
        view = dataset_view(state, ds)
        if not state.old:
            view.update(user_label())
            if args.get("include_parsing_status"):
                view["parsing_status"] = _parsing_status(state, ds["id"])
            view["embedding_model_name"] = ""  # only tenant model ids have composite names
        out.append(view)
    return result(out, total=len(items))


@endpoint
async def get_dataset(request: Request) -> Response:
    state = state_of(request)
    if state.old:
        return method_not_allowed()
    dataset_id = request.path_params["dataset_id"]
    ds = state.store.get("dataset", dataset_id)
    if ds is None:
        raise lacks_permission(state, dataset_id)
    view = dataset_view(state, ds)
    view["size"] = sum(int(d.get("size") or 0) for d in state.store.all("document", ds["id"]))
    view["connectors"] = list(ds.get("_connectors") or [])
    return result(view)


def _new_config(state: ServerState, ds: Json, req: Json) -> None:
    """``req['parser_config']`` as RAGFlow stores it after an update (or removed)."""
    config = req.get("parser_config")
    if config and not state.old:
        parent_child = config.get("parent_child", {})
        if parent_child.get("use_parent_child"):
            config["children_delimiter"] = parent_child.get("children_delimiter", "\n")
            config["enable_children"] = parent_child.get("use_parent_child", True)
        else:
            config.update(children_delimiter="", enable_children=False, parent_child={})
        config.update(config.pop("ext", {}) or {})
    if config:
        req["parser_config"] = deep_merge(ds.get("parser_config") or {}, config)
    method = req.get("parser_id")
    if method and method != ds["chunk_method"]:
        if not req.get("parser_config"):
            req["parser_config"] = parser_config_for(method, None, old=state.old)
    elif "parser_config" in req and not req["parser_config"]:
        del req["parser_config"]


def _check_embedding_change(state: ServerState, ds: Json, req: Json) -> None:
    if "embd_id" not in req:
        return
    if not req["embd_id"]:
        req["embd_id"] = ds["embedding_model"]
    chunks = sum(int(d.get("chunk_count") or 0) for d in state.store.all("document", ds["id"]))
    if state.old and chunks and req["embd_id"] != ds["embedding_model"]:
        raise ApiError(
            102,
            f"When chunk_num ({chunks}) > 0, embedding_model must remain {ds['embedding_model']}",
        )
    check_embedding_model(state, req["embd_id"])


@endpoint
async def update_dataset(request: Request) -> Response:
    state = state_of(request)
    dataset_id = request.path_params["dataset_id"]
    payload = await read_json_object(request)
    payload["dataset_id"] = dataset_id
    model = OldUpdateDataset if state.old else UpdateDataset
    req = validated(model, payload, by_alias=True, exclude_unset=True)
    req.pop("dataset_id", None)
    if not req:
        raise (
            ApiError(101, "No properties were modified")
            if state.old
            else ApiError(102, "no properties were modified")
        )
    ds = state.store.get("dataset", dataset_id)
    if ds is None:
        raise lacks_permission(state, dataset_id)
    ext: Json = req.pop("ext", {}) or {}
    if not state.old:
        _apply_auto_metadata(req)
    connectors: list[Any] = req.pop("connectors", []) if "connectors" in req else []
    req.update({k: v for k, v in ext.items() if k in EXT_COLUMNS})
    with state.store.lock:
        _new_config(state, ds, req)
        chunk_method_replaces_pipeline = ds.get("pipeline_id") and req.get("parser_id")
        if not state.old and chunk_method_replaces_pipeline and not req.get("pipeline_id"):
            req["pipeline_id"] = ""
        if (
            "name" in req
            and req["name"].lower() != ds["name"].lower()
            and _by_name(state, req["name"])
        ):
            raise ApiError(102, f"Dataset name '{req['name']}' already exists")
        _check_embedding_change(state, ds, req)
        req.pop("parse_type", None)
        renames = {"embd_id": "embedding_model", "parser_id": "chunk_method"}
        for key, value in req.items():
            ds[renames.get(key, key)] = value
        if not state.old:
            ds["_connectors"] = connectors
        stamp(ds, created=False)
        state.store.put("dataset", ds)
    view = dataset_view(state, ds)
    if not state.old:
        view["connectors"] = connectors
    return result(view)


def delete_dataset_cascade(state: ServerState, dataset_id: str) -> None:
    with state.store.lock:
        for doc in state.store.all("document", dataset_id):
            state.worker.cancel(doc["id"])
            state.store.delete_document_chunks(doc["id"])
            state.store.delete_blob(doc["id"])
            state.store.delete("document", doc["id"])
        state.store.indexes.pop(dataset_id, None)
        state.store.delete("dataset", dataset_id)


@endpoint
async def delete_datasets(request: Request) -> Response:
    state = state_of(request)
    payload = await read_json_object(request)
    req = validated(OldDeleteDatasets if state.old else DeleteDatasets, payload)
    ids: list[str] | None = req["ids"]
    every = [d["id"] for d in state.store.all("dataset")]
    if state.old:
        targets = every if ids is None else ids
    elif not ids:
        targets = every if req["delete_all"] else []
    else:
        targets = ids
    missing = [i for i in targets if state.store.get("dataset", i) is None]
    if missing:
        raise ApiError(
            108 if state.old else 102,
            f"User '{TENANT_ID}' lacks permission for datasets: '{', '.join(missing)}'",
        )
    for dataset_id in targets:
        delete_dataset_cascade(state, dataset_id)
    return result() if state.old else result({"success_count": len(targets)})


def routes(state: ServerState) -> list[Route]:
    return [
        Route("/datasets", create_dataset, methods=["POST"]),
        Route("/datasets", list_datasets, methods=["GET"]),
        Route("/datasets", delete_datasets, methods=["DELETE"]),
        Route("/datasets/{dataset_id}", get_dataset, methods=["GET"]),
        Route("/datasets/{dataset_id}", update_dataset, methods=["PUT"]),
    ]
