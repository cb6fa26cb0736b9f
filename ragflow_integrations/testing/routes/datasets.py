"""Datasets (§3.1) and the knowledge-graph endpoints (§3.7)."""

from __future__ import annotations

import copy
import re
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from .._util import (
    ApiError,
    Json,
    is_desc,
    multi,
    new_id,
    normalise_id,
    paging,
    read_json,
    result,
    slice_page,
    stamp,
)
from ._common import TENANT_ID, ServerState, endpoint, method_not_allowed, state_of
from ._views import dataset_view, owner_fields, user_label

CHUNK_METHODS = (
    "naive",
    "book",
    "email",
    "laws",
    "manual",
    "one",
    "paper",
    "picture",
    "presentation",
    "qa",
    "table",
    "tag",
    "resume",
)
CREATE_KEYS = {
    "name",
    "avatar",
    "description",
    "embedding_model",
    "permission",
    "chunk_method",
    "parse_type",
    "pipeline_id",
    "parser_config",
    "auto_metadata_config",
    "ext",
}
OLD_CREATE_KEYS = {
    "name",
    "avatar",
    "description",
    "embedding_model",
    "permission",
    "chunk_method",
    "parser_config",
}
UPDATE_KEYS = CREATE_KEYS | {"pagerank", "language", "connectors"}
LIST_PARAMS = {
    "page",
    "page_size",
    "orderby",
    "desc",
    "id",
    "ids",
    "name",
    "include_parsing_status",
    "ext",
    "type",
}
_EMBEDDING = re.compile(r"^[^@\s]+@[^@\s]+$|^[0-9a-f]{32}$")

# key -> (kind, min, max); kind is one of int, str, bool, float?, list, dict, any
PARSER_KEYS: dict[str, tuple[str, float | None, float | None]] = {
    "chunk_token_num": ("int", 1, 2048),
    "delimiter": ("str", 1, None),
    "layout_recognize": ("str", None, None),
    "html4excel": ("bool", None, None),
    "auto_keywords": ("int", 0, 32),
    "auto_questions": ("int", 0, 10),
    "topn_tags": ("int", 1, 10),
    "tag_kb_ids": ("list", None, None),
    "filename_embd_weight": ("float?", 0, 1),
    "task_page_size": ("int?", 1, None),
    "pages": ("list?", None, None),
    "raptor": ("dict", None, None),
    "graphrag": ("dict", None, None),
    "parent_child": ("dict", None, None),
    "enable_children": ("bool", None, None),
    "children_delimiter": ("str", 0, None),
    "compilation_template_group_id": ("any", None, None),
    "table_column_mode": ("any", None, None),
    "table_column_roles": ("dict?", None, None),
    "table_column_names": ("list?", None, None),
    "ext": ("dict", None, None),
    "table_context_size": ("int", 0, None),
    "image_context_size": ("int", 0, None),
}
PYDANTIC_DEFAULTS: Json = {
    "auto_keywords": 0,
    "auto_questions": 0,
    "chunk_token_num": 512,
    "delimiter": "\n",
    "html4excel": False,
    "layout_recognize": "DeepDOC",
    "raptor": {"use_raptor": False},
    "graphrag": {"use_graphrag": False},
    "tag_kb_ids": [],
    "topn_tags": 1,
    "filename_embd_weight": 0.1,
}


def method_defaults(method: str) -> Json:
    """Per-method parser_config defaults (a representative subset of RAGFlow's)."""
    base: Json = {"table_context_size": 0, "image_context_size": 0}
    if method == "naive":
        base.update(
            {
                "layout_recognize": "DeepDOC",
                "chunk_token_num": 512,
                "delimiter": "\n",
                "auto_keywords": 0,
                "auto_questions": 0,
                "html4excel": False,
                "topn_tags": 3,
                "raptor": {
                    "use_raptor": True,
                    "max_token": 256,
                    "threshold": 0.1,
                    "max_cluster": 64,
                    "random_seed": 0,
                },
                "graphrag": {
                    "use_graphrag": True,
                    "entity_types": ["organization", "person", "geo", "event", "category"],
                    "method": "light",
                },
                "parent_child": {"use_parent_child": False},
                "children_delimiter": "",
            }
        )
    elif method in {"qa", "manual", "paper", "book", "laws", "presentation"}:
        base.update({"raptor": {"use_raptor": False}, "graphrag": {"use_graphrag": False}})
    return base


def deep_merge(base: Json, over: Json) -> Json:
    out = copy.deepcopy(base)
    for key, value in over.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = deep_merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


# the strings pydantic's (lax) bool accepts, case-insensitively
PYDANTIC_BOOLS = frozenset(
    {"0", "off", "f", "false", "n", "no", "1", "on", "t", "true", "y", "yes"}
)


def field_error(field: str, message: str, value: Any) -> ApiError:
    text = repr(value) if not isinstance(value, str) else value
    return ApiError(101, f"Field: <{field}> - Message: <{message}> - Value: <{text[:128]}>")


def validate_parser_config(config: Any) -> Json:
    if config is None:
        return {}
    if not isinstance(config, dict):
        raise field_error("parser_config", "Input should be a valid dictionary", config)
    for key, value in config.items():
        spec = PARSER_KEYS.get(key)
        field = f"parser_config.{key}"
        if spec is None:
            raise field_error(field, "Extra inputs are not permitted", value)
        kind, low, high = spec
        if kind.endswith("?"):
            if value is None:
                continue
            kind = kind[:-1]
        valid = {
            "int": isinstance(value, int) and not isinstance(value, bool),
            "float": isinstance(value, int | float) and not isinstance(value, bool),
            "str": isinstance(value, str),
            "bool": isinstance(value, bool),
            "list": isinstance(value, list),
            "dict": isinstance(value, dict),
            "any": True,
        }[kind]
        if not valid:
            names = {
                "int": "a valid integer",
                "float": "a valid number",
                "str": "a valid string",
                "bool": "a valid boolean",
                "list": "a valid list",
                "dict": "a valid dictionary",
            }
            raise field_error(field, f"Input should be {names[kind]}", value)
        size = len(value) if kind == "str" else value
        if kind in {"int", "float", "str"}:
            if low is not None and size < low:
                what = "at least" if kind == "str" else "greater than or equal to"
                unit = " character" if kind == "str" else ""
                lead = "String should have" if kind == "str" else "Input should be"
                raise field_error(field, f"{lead} {what} {low:g}{unit}", value)
            if high is not None and size > high:
                raise field_error(field, f"Input should be less than or equal to {high:g}", value)
    return config


def _check_common(req: Json, *, creating: bool) -> None:
    if "name" in req or creating:
        name = req.get("name")
        if "name" not in req:
            raise field_error("name", "Field required", req)
        if not isinstance(name, str):
            raise field_error("name", "Input should be a valid string", name)
        name = name.strip()
        if not name:
            raise field_error("name", "String should have at least 1 character", name)
        if len(name) > 128:
            raise field_error("name", "String should have at most 128 characters", name)
        req["name"] = name
    for field in ("description", "language"):
        text = req.get(field)
        if text is not None and not isinstance(text, str):
            raise field_error(field, "Input should be a valid string", text)
    if isinstance(req.get("description"), str) and len(req["description"]) > 65535:
        raise field_error("description", "String should have at most 65535 characters", "...")
    if req.get("avatar"):
        avatar = req["avatar"]
        if not isinstance(avatar, str) or not avatar.startswith(
            ("data:image/png;base64,", "data:image/jpeg;base64,")
        ):
            raise field_error(
                "avatar",
                "Value error, Unsupported MIME type. Allowed: ['image/jpeg', 'image/png']",
                avatar,
            )
    if "permission" in req and req["permission"] not in ("me", "team"):
        raise field_error("permission", "Input should be 'me' or 'team'", req["permission"])
    if "chunk_method" in req and req["chunk_method"] not in CHUNK_METHODS:
        allowed = ", ".join(f"'{m}'" for m in CHUNK_METHODS[:-1])
        raise field_error(
            "chunk_method", f"Input should be {allowed} or 'resume'", req["chunk_method"]
        )
    model = req.get("embedding_model")
    if model is not None and (not isinstance(model, str) or not _EMBEDDING.match(model.strip())):
        raise field_error(
            "embedding_model",
            "Value error, Embedding model identifier must follow <model_name>@<provider> format",
            model,
        )
    if "pagerank" in req:
        value = req["pagerank"]
        if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= 100:
            raise field_error("pagerank", "Input should be between 0 and 100", value)
    if "parser_config" in req:
        validate_parser_config(req["parser_config"])


def _unique_name(state: ServerState, name: str) -> str:
    taken = {d["name"].lower() for d in state.store.all("dataset")}
    if name.lower() not in taken:
        return name
    n = 1
    while f"{name}({n})".lower() in taken:
        n += 1
    return f"{name}({n})"


def _strict_keys(req: Json, allowed: set[str]) -> None:
    for key in req:
        if key not in allowed:
            raise field_error(key, "Extra inputs are not permitted", req[key])


@endpoint
async def create_dataset(request: Request) -> Response:
    state = state_of(request)
    req = await read_json(request, strict_content_type=True)
    _strict_keys(req, OLD_CREATE_KEYS if state.old else CREATE_KEYS)
    _check_common(req, creating=True)
    method = req.get("chunk_method") or "naive"
    supplied = req.get("parser_config") or {}
    config = method_defaults(method)
    if supplied:
        config = deep_merge(config, deep_merge(PYDANTIC_DEFAULTS, supplied))
    if req.get("auto_metadata_config") is not None:
        config["enable_metadata"] = True
    ds: Json = {
        "id": new_id(),
        "name": _unique_name(state, req["name"]),
        "avatar": req.get("avatar") or None,
        "description": req.get("description"),
        "language": "English",
        **owner_fields(),
        "permission": req.get("permission") or "me",
        "embedding_model": (req.get("embedding_model") or "").strip()
        or state.extra["embedding_model"],
        "chunk_method": method,
        "pipeline_id": req.get("pipeline_id"),
        "parser_config": config,
        "similarity_threshold": 0.2,
        "vector_similarity_weight": 0.3,
        "pagerank": 0,
        "status": "1",
        "graphrag_task_id": None,
        "raptor_task_id": None,
        "mindmap_task_id": None,
        "graphrag_task_finish_at": None,
        "raptor_task_finish_at": None,
        "mindmap_task_finish_at": None,
    }
    if isinstance(req.get("ext"), dict):
        ds.update({k: v for k, v in req["ext"].items() if k not in ds})
    stamp(ds, created=True)
    state.store.put("dataset", ds)
    return result(dataset_view(state, ds))


def _parsing_status(state: ServerState, dataset_id: str) -> Json:
    counts = {
        "unstart_count": 0,
        "running_count": 0,
        "cancel_count": 0,
        "done_count": 0,
        "fail_count": 0,
    }
    for doc in state.store.all("document", dataset_id):
        key = f"{str(doc.get('run', 'UNSTART')).lower()}_count"
        if key in counts:
            counts[key] += 1
    return counts


@endpoint
async def list_datasets(request: Request) -> Response:
    state = state_of(request)
    params = request.query_params
    for key in params:
        if key not in LIST_PARAMS:
            raise field_error(key, "Extra inputs are not permitted", params[key])
    page, size = paging(params, cap=not state.old, error_code=101)
    orderby = params.get("orderby", "create_time")
    if orderby not in ("create_time", "update_time"):
        raise field_error("orderby", "Input should be 'create_time' or 'update_time'", orderby)
    raw_desc = params.get("desc")
    if not state.old and raw_desc is not None and raw_desc.strip().lower() not in PYDANTIC_BOOLS:
        raise field_error(
            "desc", "Input should be a valid boolean, unable to interpret input", raw_desc
        )
    desc = is_desc(raw_desc)
    items = state.store.all("dataset")
    wanted_id = params.get("id")
    ids = multi(request, "ids")
    if wanted_id and ids:
        raise ApiError(102, "`id` and `ids` cannot be provided at the same time")
    if wanted_id:
        norm = normalise_id(wanted_id)
        items = [d for d in items if d["id"] == norm]
        if not items:
            raise ApiError(102, f"User '{TENANT_ID}' lacks permission for dataset '{wanted_id}'")
    if ids:
        wanted = {normalise_id(i) for i in ids}
        items = [d for d in items if d["id"] in wanted]
    name = params.get("name")
    if name is not None:
        items = [d for d in items if d["name"] == name]
        if not items:
            raise ApiError(102, f"User '{TENANT_ID}' lacks permission for dataset '{name}'")
    items.sort(key=lambda d: d.get(orderby, 0), reverse=desc)
    total = len(items)
    include_status = is_desc(params.get("include_parsing_status"), default=False)
    out = []
    for ds in slice_page(items, page, size):
        view = dataset_view(state, ds)
        view.update(user_label())
        view["embedding_model_name"] = ds["embedding_model"]
        if include_status:
            view["parsing_status"] = _parsing_status(state, ds["id"])
        out.append(view)
    return result(out, total=total)


@endpoint
async def get_dataset(request: Request) -> Response:
    state = state_of(request)
    if state.old:
        return method_not_allowed()
    dataset_id = request.path_params["dataset_id"]
    ds = state.store.get("dataset", normalise_id(dataset_id))
    if ds is None:
        raise ApiError(102, f"User '{TENANT_ID}' lacks permission for dataset '{dataset_id}'")
    view = dataset_view(state, ds)
    view["size"] = sum(int(d.get("size") or 0) for d in state.store.all("document", ds["id"]))
    view["connectors"] = []
    return result(view)


@endpoint
async def update_dataset(request: Request) -> Response:
    state = state_of(request)
    dataset_id = request.path_params["dataset_id"]
    req = await read_json(request, strict_content_type=True)
    _strict_keys(req, OLD_CREATE_KEYS | {"pagerank"} if state.old else UPDATE_KEYS)
    ds = state.store.get("dataset", normalise_id(dataset_id))
    if ds is None:
        raise ApiError(102, f"User '{TENANT_ID}' lacks permission for dataset '{dataset_id}'")
    if not req:
        raise ApiError(102, "no properties were modified")
    _check_common(req, creating=False)
    if (
        "name" in req
        and req["name"].lower() != ds["name"].lower()
        and (any(d["name"].lower() == req["name"].lower() for d in state.store.all("dataset")))
    ):
        raise ApiError(102, f"Dataset name '{req['name']}' already exists")
    with state.store.lock:
        for key in (
            "name",
            "avatar",
            "description",
            "permission",
            "pagerank",
            "language",
            "pipeline_id",
            "connectors",
        ):
            if key in req:
                ds[key] = req[key]
        if req.get("embedding_model"):
            ds["embedding_model"] = req["embedding_model"].strip()
        if "chunk_method" in req and req["chunk_method"] != ds["chunk_method"]:
            ds["chunk_method"] = req["chunk_method"]
            if "parser_config" not in req:
                ds["parser_config"] = method_defaults(req["chunk_method"])
        if req.get("parser_config"):
            ds["parser_config"] = deep_merge(ds.get("parser_config") or {}, req["parser_config"])
        if isinstance(req.get("ext"), dict):
            ds.update(req["ext"])
        stamp(ds, created=False)
        state.store.put("dataset", ds)
    view = dataset_view(state, ds)
    view["connectors"] = ds.get("connectors", [])
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
    req = await read_json(request, strict_content_type=True)
    _strict_keys(req, {"ids"} if state.old else {"ids", "delete_all"})
    ids = req.get("ids")
    delete_all = req.get("delete_all", False)
    if not isinstance(delete_all, bool):
        raise field_error("delete_all", "Input should be a valid boolean", delete_all)
    if ids is not None and not isinstance(ids, list):
        raise field_error("ids", "Input should be a valid list", ids)
    if (state.old and ids is None) or (not state.old and delete_all):
        targets = [d["id"] for d in state.store.all("dataset")]
    elif not ids:
        return result({"success_count": 0})
    else:
        normalised = [normalise_id(i) for i in ids]
        if any(n is None for n in normalised):
            bad = next(i for i, n in zip(ids, normalised, strict=True) if n is None)
            raise field_error("ids", "Invalid UUID1 format", bad)
        if len(set(normalised)) != len(normalised):
            raise field_error("ids", "Value error, Duplicate ids", ids)
        missing = [i for i in normalised if state.store.get("dataset", i) is None]
        if missing:
            raise ApiError(
                102,
                f"User '{TENANT_ID}' lacks permission for datasets: "
                f"'{', '.join(map(str, missing))}'",
            )
        targets = [str(n) for n in normalised]
    for dataset_id in targets:
        delete_dataset_cascade(state, dataset_id)
    return result({"success_count": len(targets)})


@endpoint
async def get_graph(request: Request) -> Response:
    state = state_of(request)
    ds = state.store.get("dataset", normalise_id(request.path_params["dataset_id"]))
    if ds is None:
        raise ApiError(109, "No authorization.", data=False)
    return result({"graph": {"nodes": [], "edges": []}, "mind_map": {}})


@endpoint
async def delete_graph(request: Request) -> Response:
    state = state_of(request)
    ds = state.store.get("dataset", normalise_id(request.path_params["dataset_id"]))
    if ds is None:
        raise ApiError(109, "No authorization.", data=False)
    return result(True)


def routes(state: ServerState) -> list[Route]:
    out = [
        Route("/datasets", create_dataset, methods=["POST"]),
        Route("/datasets", list_datasets, methods=["GET"]),
        Route("/datasets", delete_datasets, methods=["DELETE"]),
        Route("/datasets/{dataset_id}", get_dataset, methods=["GET"]),
        Route("/datasets/{dataset_id}", update_dataset, methods=["PUT"]),
        Route("/datasets/{dataset_id}/knowledge_graph", get_graph, methods=["GET"]),
        Route("/datasets/{dataset_id}/knowledge_graph", delete_graph, methods=["DELETE"]),
    ]
    if not state.old:
        out += [
            Route("/datasets/{dataset_id}/graph", get_graph, methods=["GET"]),
            Route("/datasets/{dataset_id}/graph", delete_graph, methods=["DELETE"]),
        ]
    return out
