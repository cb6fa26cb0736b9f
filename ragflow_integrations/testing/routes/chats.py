"""Chat assistants as RAGFlow v0.25+ serves them (``/chats``: POST, GET, DELETE; ``/chats/{id}``:
GET, PUT, PATCH, DELETE). The v0.22 assistant routes live in ``chats_v022``.

A chat is stored as RAGFlow's ``dialog`` row (``kb_ids``, ``llm_id``, ``llm_setting``,
``prompt_config``, retrieval settings); both versions' handlers read and write that one shape.
"""

from __future__ import annotations

import copy
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from .._util import Json, new_id, stamp
from ._common import NICKNAME, TENANT_ID, ServerState, endpoint, state_of
from ._views import dataset_view
from ._wire import (
    ARGUMENT_ERROR,
    AUTHENTICATION_ERROR,
    body_v027,
    data_error,
    delete_each,
    deleted_json,
    get_json_result,
    json_error,
    server_error,
)
from .models import BUILTIN_RERANKERS, default_models, model_by_id, resolve_model

DEFAULT_PROMPT_CONFIG: Json = {
    "system": (
        "You are an intelligent assistant. Please summarize the content of the dataset to answer "
        "the question. Please list the data in the dataset and answer in detail. When all "
        "dataset content is irrelevant to the question, your answer must include the sentence "
        '"The answer you are looking for is not found in the dataset!" Answers need to consider '
        "chat history.\n      Here is the knowledge base:\n      {knowledge}\n      The above is "
        "the knowledge base."
    ),
    "prologue": "Hi! I'm your assistant. What can I do for you?",
    "parameters": [{"key": "knowledge", "optional": False}, {"key": "date", "optional": True}],
    "empty_response": "Sorry! No relevant content was found in the knowledge base!",
    "quote": True,
    "tts": False,
    "refine_multiturn": True,
}
# the dialog table's columns (what a create/update body may set)
DIALOG_FIELDS = (
    "name",
    "description",
    "icon",
    "language",
    "llm_id",
    "tenant_llm_id",
    "llm_setting",
    "prompt_type",
    "prompt_config",
    "meta_data_filter",
    "similarity_threshold",
    "vector_similarity_weight",
    "top_n",
    "top_k",
    "do_refer",
    "rerank_id",
    "tenant_rerank_id",
    "kb_ids",
    "status",
)
LIST_FIELDS = (
    "id",
    "tenant_id",
    "name",
    "description",
    "language",
    "llm_id",
    "llm_setting",
    "prompt_type",
    "prompt_config",
    "similarity_threshold",
    "vector_similarity_weight",
    "top_n",
    "top_k",
    "do_refer",
    "rerank_id",
    "kb_ids",
    "icon",
    "status",
    "update_time",
    "create_time",
)


def new_dialog() -> Json:
    """A dialog row with the table's defaults."""
    return {
        "id": new_id(),
        "tenant_id": TENANT_ID,
        "name": "",
        "description": None,
        "icon": None,
        "language": "English",
        "llm_id": "",
        "tenant_llm_id": None,
        "llm_setting": {
            "temperature": 0.1,
            "top_p": 0.3,
            "frequency_penalty": 0.7,
            "presence_penalty": 0.4,
            "max_tokens": 512,
        },
        "prompt_type": "simple",
        "prompt_config": {
            "system": "",
            "prologue": "Hi! I'm your assistant. What can I do for you?",
            "parameters": [],
            "empty_response": "Sorry! No relevant content was found in the knowledge base!",
        },
        "meta_data_filter": {},
        "similarity_threshold": 0.2,
        "vector_similarity_weight": 0.3,
        "top_n": 6,
        "top_k": 1024,
        "do_refer": "1",
        "rerank_id": "",
        "tenant_rerank_id": None,
        "kb_ids": [],
        "status": "1",
    }


def live_chat(state: ServerState, chat_id: Any) -> Json | None:
    chat = state.store.get("chat", chat_id) if isinstance(chat_id, str) else None
    return chat if chat is not None and chat.get("status", "1") == "1" else None


def live_chats(state: ServerState) -> list[Json]:
    return [c for c in state.store.all("chat") if c.get("status", "1") == "1"]


def owned_chat(state: ServerState, chat_id: Any) -> Json:
    """``_ensure_owned_chat``: an unknown chat is code 109 ``no authorization`` (data false)."""
    chat = live_chat(state, chat_id)
    if chat is None:
        raise json_error("no authorization", AUTHENTICATION_ERROR, data=False)
    return chat


def dataset_names(state: ServerState, kb_ids: list[str]) -> tuple[list[str], list[str]]:
    """The ids of the chat's datasets that still exist, and their names."""
    ids, names = [], []
    for kb_id in kb_ids or []:
        ds = state.store.get("dataset", kb_id)
        if ds is not None:
            ids.append(kb_id)
            names.append(ds["name"])
    return ids, names


def chat_view(state: ServerState, chat: Json) -> Json:
    out = {k: copy.deepcopy(v) for k, v in chat.items() if not k.startswith("_")}
    out["dataset_ids"], out["kb_names"] = dataset_names(state, out.pop("kb_ids", []))
    return out


def chat_list_view(state: ServerState, chat: Json) -> Json:
    out = {k: copy.deepcopy(chat.get(k)) for k in LIST_FIELDS}
    out["nickname"] = NICKNAME
    out["tenant_avatar"] = None
    out["dataset_ids"], out["kb_names"] = dataset_names(state, out.pop("kb_ids") or [])
    return out


# ---------------------------------------------------------------- validation
def validate_name(name: Any, *, required: bool) -> str | None:
    if name is None:
        if required:
            raise data_error("`name` is required")
        return None
    if not isinstance(name, str):
        raise data_error("chat name must be a string")
    name = name.strip()
    if not name:
        raise data_error("`name` is required" if required else "`name` cannot be empty")
    size = len(name.encode("utf-8"))
    if size > 255:
        raise data_error(f"chat name length is {size} which is larger than 255")
    return str(name)


def dataset_chunk_count(state: ServerState, ds: Json) -> int:
    return int(dataset_view(state, ds).get("chunk_count") or 0)


def validate_dataset_ids(state: ServerState, dataset_ids: Any) -> list[str]:
    if dataset_ids is None:
        return []
    if not isinstance(dataset_ids, list):
        raise data_error("`dataset_ids` should be a list.")
    ids = [i for i in dataset_ids if i]
    datasets = []
    for kb_id in ids:
        ds = state.store.get("dataset", kb_id) if isinstance(kb_id, str) else None
        if ds is None:
            raise data_error(f"You don't own the dataset {kb_id}")
        if dataset_chunk_count(state, ds) == 0:
            raise data_error(f"The dataset {kb_id} doesn't own parsed file")
        datasets.append(ds)
    models = {d.get("embedding_model") for d in datasets if d.get("embedding_model")}
    if len(models) > 1:
        names = [d.get("embedding_model") for d in datasets]
        raise data_error(f"Datasets use different embedding models: {names}")
    return [str(i) for i in ids]


def normalize_model_pair(
    state: ServerState, req: Json, name_field: str, id_field: str, model_type: str
) -> None:
    """Keep a model name and its tenant-model id in step (``_normalize_model_pair``)."""
    if name_field not in req and id_field not in req:
        return
    name, model_id = req.get(name_field), req.get(id_field)
    if name is not None and not isinstance(name, str):
        raise data_error(f"`{name_field}` must be a string")
    if model_id is not None and not isinstance(model_id, str):
        raise data_error(f"`{id_field}` must be a tenant model id")
    if model_id and model_by_id(state, model_id, model_type) is None:
        raise data_error(f"`{id_field}` must be a valid tenant model id")
    resolved: str | None = None
    if name:
        if model_type == "rerank" and name.split("@")[0] in BUILTIN_RERANKERS:
            if model_id:
                raise data_error(f"`{name_field}` and `{id_field}` must refer to the same model")
        else:
            model = resolve_model(state, name, model_type)
            if model is None:
                raise data_error(f"`{name_field}` {name} doesn't exist")
            resolved = model.id
    if model_id and name:
        if resolved != model_id:
            raise data_error(f"`{name_field}` and `{id_field}` must refer to the same model")
    elif name:
        req[id_field] = resolved
    elif model_id:
        found = model_by_id(state, model_id, model_type)
        req[name_field] = found.composite if found else ""
    else:
        req[id_field] = None
        req[name_field] = ""


def llm_model_type(llm_setting: Any) -> str:
    kind = (llm_setting or {}).get("model_type") if isinstance(llm_setting, dict) else None
    if isinstance(kind, list):
        return "vision" if "vision" in kind else "chat"
    return kind if kind in ("chat", "vision") else "chat"


def validate_prompt_config(req: Json) -> None:
    if "prompt_config" not in req:
        return
    config = req["prompt_config"]
    if not isinstance(config, dict):
        raise data_error("`prompt_config` should be an object.")
    parameters = config.get("parameters")
    if not isinstance(parameters, list):
        return
    seen: list[Any] = []
    for parameter in parameters:
        if not isinstance(parameter, dict) or parameter.get("key") is None:
            continue
        if parameter["key"] in seen:
            raise data_error(f"`parameters` contains duplicate key: {parameter['key']}")
        seen.append(parameter["key"])


def apply_prompt_defaults(req: Json) -> None:
    config = req.setdefault("prompt_config", {})
    for key, value in DEFAULT_PROMPT_CONFIG.items():
        if (key == "system" and not config.get(key)) or key not in config:
            config[key] = copy.deepcopy(value)
    if req.get("kb_ids") and not config.get("parameters") and "{knowledge}" in config["system"]:
        config["parameters"] = [{"key": "knowledge", "optional": False}]
    parameters = config.get("parameters")
    if not any(isinstance(p, dict) and p.get("key") == "date" for p in parameters or []):
        config.setdefault("parameters", []).append({"key": "date", "optional": True})


def name_taken(state: ServerState, name: str, *, other_than: str | None = None) -> bool:
    """Dialog names compare case-insensitively (MySQL's default collation)."""
    return any(
        c["name"].lower() == name.lower() and c["id"] != other_than for c in live_chats(state)
    )


def persisted(req: Json) -> Json:
    return {k: v for k, v in req.items() if k in DIALOG_FIELDS}


# ---------------------------------------------------------------- handlers
@endpoint
async def create_chat(request: Request) -> Response:
    state = state_of(request)
    req = dict(await body_v027(request))
    if req.get("tenant_id"):
        raise data_error("`tenant_id` must not be provided")
    req["name"] = validate_name(req.get("name"), required=True)
    if "dataset_ids" in req:
        req["kb_ids"] = validate_dataset_ids(state, req.pop("dataset_ids"))
    default_chat = default_models(state)["chat"]
    if req.get("llm_id") is None and req.get("tenant_llm_id") is None:
        req["llm_id"] = default_chat.id
    if "rerank_id" not in req and "tenant_rerank_id" not in req:
        req["rerank_id"] = ""
    normalize_model_pair(
        state, req, "llm_id", "tenant_llm_id", llm_model_type(req.get("llm_setting"))
    )
    normalize_model_pair(state, req, "rerank_id", "tenant_rerank_id", "rerank")
    validate_prompt_config(req)
    req.setdefault("kb_ids", [])
    if req.get("llm_id") is None:
        req["llm_id"] = default_chat.id
    req.setdefault("llm_setting", {})
    req.setdefault("description", "A helpful Assistant")
    req.setdefault("top_n", 6)
    req.setdefault("top_k", 1024)
    req.setdefault("rerank_id", "")
    req.setdefault("similarity_threshold", 0.1)
    req.setdefault("vector_similarity_weight", 0.3)
    req.setdefault("icon", "")
    apply_prompt_defaults(req)
    fields = persisted(req)
    if name_taken(state, fields["name"]):
        raise data_error("duplicated chat name in creating chat")
    chat = new_dialog()
    chat.update(copy.deepcopy(fields))
    stamp(chat, created=True)
    state.store.put("chat", chat)
    return get_json_result(chat_view(state, chat))


@endpoint
async def get_chat(request: Request) -> Response:
    state = state_of(request)
    chat = owned_chat(state, request.path_params["chat_id"])
    return get_json_result(chat_view(state, chat))


async def _update(request: Request, *, patch: bool) -> Response:
    state = state_of(request)
    chat = owned_chat(state, request.path_params["chat_id"])
    req = dict(await body_v027(request))
    if not patch and req.get("tenant_id"):
        raise data_error("`tenant_id` must not be provided")
    if "name" in req:
        name = validate_name(req["name"], required=not patch)
        if name is not None:
            req["name"] = name
    if "dataset_ids" in req:
        req["kb_ids"] = validate_dataset_ids(state, req.pop("dataset_ids"))
    if patch and "llm_setting" in req:
        if not isinstance(req["llm_setting"], dict):
            raise data_error("`llm_setting` should be an object.")
        req["llm_setting"] = {**(chat.get("llm_setting") or {}), **req["llm_setting"]}
    setting = req.get("llm_setting", chat.get("llm_setting", {}))
    normalize_model_pair(state, req, "llm_id", "tenant_llm_id", llm_model_type(setting))
    normalize_model_pair(state, req, "rerank_id", "tenant_rerank_id", "rerank")
    validate_prompt_config(req)
    if patch and "prompt_config" in req:
        req["prompt_config"] = {
            **copy.deepcopy(chat.get("prompt_config") or {}),
            **req["prompt_config"],
        }
    fields = persisted(req)
    if (
        isinstance(fields.get("name"), str)
        and fields["name"].lower() != chat["name"].lower()
        and name_taken(state, fields["name"])
    ):
        raise data_error("duplicated chat name")
    with state.store.lock:
        updated = copy.deepcopy(chat)
        updated.update(copy.deepcopy(fields))
        stamp(updated, created=False)
        state.store.put("chat", updated)
    return get_json_result(chat_view(state, updated))


@endpoint
async def put_chat(request: Request) -> Response:
    return await _update(request, patch=False)


@endpoint
async def patch_chat(request: Request) -> Response:
    return await _update(request, patch=True)


def page_args(params: Any) -> tuple[int, int]:
    """``validate_rest_api_page`` / ``validate_rest_api_page_size``: bad values fall back to the
    defaults; a page size above 100 is a ValueError (code 100)."""
    try:
        page = int(params.get("page", 1))
    except (TypeError, ValueError):
        page = 1
    try:
        size = int(params.get("page_size", 30))
    except (TypeError, ValueError):
        size = 30
    if size > 100:
        raise server_error(ValueError("page_size must be less than or equal to 100"))
    return (page if page >= 1 else 1), (size if size >= 1 else 30)


def sort_rows(rows: list[Json], orderby: str, desc: bool) -> list[Json]:
    """ORDER BY one column; text compares case-insensitively (MySQL's default collation)."""

    def key(row: Json) -> Any:
        value = row.get(orderby)
        if isinstance(value, str):
            return (1, 1, value.lower())
        return (value is not None, 0, value if value is not None else 0)

    return sorted(rows, key=key, reverse=desc)


@endpoint
async def list_chats(request: Request) -> Response:
    state = state_of(request)
    params = request.query_params
    chat_id, name = params.get("id"), params.get("name")
    keywords = "" if (chat_id or name) else params.get("keywords", "")
    orderby = params.get("orderby", "create_time")
    desc = params.get("desc", "true").lower() != "false"
    if orderby not in ("create_time", "update_time", "name"):
        return get_json_result(code=ARGUMENT_ERROR, message=f"invalid orderby field: {orderby}")
    owner_ids = params.getlist("owner_ids")
    if len(owner_ids) > 100:
        return get_json_result(
            code=ARGUMENT_ERROR, message="owner_ids must contain at most 100 IDs"
        )
    page, size = page_args(params)
    chats = live_chats(state)
    if chat_id:
        chats = [c for c in chats if c["id"] == chat_id]
    if name:
        chats = [c for c in chats if c["name"] == name]
    if keywords:
        chats = [c for c in chats if keywords.lower() in c["name"].lower()]
    if owner_ids:
        chats = [c for c in chats if c["tenant_id"] in owner_ids]
    chats = sort_rows(chats, orderby, desc)
    total = len(chats)
    start = (page - 1) * size
    items = [chat_list_view(state, c) for c in chats[start : start + size]]
    return get_json_result({"chats": items, "total": total})


def retire_chat(state: ServerState, chat: Json) -> None:
    """RAGFlow marks a deleted dialog invalid (``status`` "0"); its sessions stay."""
    with state.store.lock:
        chat = copy.deepcopy(chat)
        chat["status"] = "0"
        state.store.put("chat", chat)


@endpoint
async def delete_one_chat(request: Request) -> Response:
    state = state_of(request)
    retire_chat(state, owned_chat(state, request.path_params["chat_id"]))
    return get_json_result(True)


@endpoint
async def delete_chats(request: Request) -> Response:
    state = state_of(request)
    req = await body_v027(request)
    if not req:
        return get_json_result({})
    ids = req.get("ids")
    if not ids:
        if req.get("delete_all") is True:
            ids = [c["id"] for c in live_chats(state)]
            if not ids:
                return get_json_result({})
        else:
            chat_id = req.get("chat_id")
            if chat_id:
                chat = state.store.get("chat", chat_id) if isinstance(chat_id, str) else None
                if chat is None:
                    raise data_error(f"Failed to delete chat {chat_id}")
                retire_chat(state, chat)
                return get_json_result(True)
            return get_json_result({})

    def delete_one(chat_id: Any) -> str | None:
        chat = live_chat(state, chat_id)
        if chat is None:
            return f"Chat({chat_id}) not found."
        retire_chat(state, chat)
        return None

    result = delete_each(ids, "chat", delete_one)
    return deleted_json("chats", result, {"success_count": result[0]})


def routes(state: ServerState) -> list[Route]:
    if state.old:
        from . import chats_v022

        return chats_v022.routes(state)
    one = "/chats/{chat_id}"
    return [
        Route("/chats", create_chat, methods=["POST"]),
        Route("/chats", list_chats, methods=["GET"]),
        Route("/chats", delete_chats, methods=["DELETE"]),
        Route(one, get_chat, methods=["GET"]),
        Route(one, put_chat, methods=["PUT"]),
        Route(one, patch_chat, methods=["PATCH"]),
        Route(one, delete_one_chat, methods=["DELETE"]),
    ]
