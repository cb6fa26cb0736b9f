"""Chat assistants as RAGFlow v0.22.1 serves them: ``/chats`` POST, GET, DELETE and
``/chats/{id}`` PUT only (no GET/PATCH/DELETE of one chat).

The wire body nests ``llm`` (the model settings plus ``model_name``) and ``prompt`` (the prompt
config under old names, plus the retrieval settings); the chat is stored as the same dialog row
as in 0.27 mode. v0.22.1 stores a given ``keywords_similarity_weight`` as the dialog's
``vector_similarity_weight`` unchanged and answers ``1 - vector_similarity_weight`` as
``keywords_similarity_weight``, so a value comes back as ``1 - x``; this module does the same.
"""

from __future__ import annotations

import copy
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from .._util import Json, stamp
from ..server import DEFAULT_LLM
from ._common import TENANT_ID, ServerState, endpoint, state_of
from ._wire import (
    AUTHENTICATION_ERROR,
    as_dict,
    body_v022,
    data_error,
    delete_each,
    deleted_result,
    get_result,
    server_error,
)
from .chats import dataset_chunk_count, live_chat, live_chats, name_taken, new_dialog, retire_chat
from .models import BUILTIN_RERANKERS, has_chat_model_v022

DEFAULT_SYSTEM = (
    "You are an intelligent assistant. Please summarize the content of the knowledge base to "
    "answer the question. Please list the data in the knowledge base and answer in detail. When "
    "all knowledge base content is irrelevant to the question, your answer must include the "
    'sentence "The answer you are looking for is not found in the knowledge base!" Answers need '
    "to consider chat history.\n      Here is the knowledge base:\n      {knowledge}\n      The "
    "above is the knowledge base."
)
DEFAULT_PROMPT_CONFIG: Json = {
    "system": DEFAULT_SYSTEM,
    "prologue": "Hi! I'm your assistant. What can I do for you?",
    "parameters": [{"key": "knowledge", "optional": False}],
    "empty_response": "Sorry! No relevant content was found in the knowledge base!",
    "quote": True,
    "tts": False,
    "refine_multiturn": True,
}
# prompt_config key -> the v0.22 wire name inside ``prompt``
WIRE_NAMES = {
    "parameters": "variables",
    "prologue": "opener",
    "quote": "show_quote",
    "system": "prompt",
    "rerank_id": "rerank_model",
    "vector_similarity_weight": "keywords_similarity_weight",
}
PROMPT_SETTINGS = (
    "similarity_threshold",
    "vector_similarity_weight",
    "top_n",
    "rerank_id",
    "top_k",
)
DIALOG_COLUMNS = (
    "id",
    "tenant_id",
    "name",
    "description",
    "icon",
    "language",
    "llm_id",
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
    "kb_ids",
    "status",
    "create_time",
    "create_date",
    "update_time",
    "update_date",
)


def dialog_row(chat: Json) -> Json:
    """The v0.22.1 dialog table row (it has no tenant model id columns)."""
    return {k: copy.deepcopy(chat.get(k)) for k in DIALOG_COLUMNS}


def _prompt_of(row: Json, *, listing: bool) -> Json:
    prompt = {WIRE_NAMES.get(k, k): v for k, v in (row.pop("prompt_config") or {}).items()}
    prompt.update(
        {
            "similarity_threshold": row["similarity_threshold"],
            "keywords_similarity_weight": 1 - float(row["vector_similarity_weight"]),
            "top_n": row["top_n"],
            "rerank_model": row["rerank_id"],
        }
    )
    for key in PROMPT_SETTINGS if not listing else PROMPT_SETTINGS[:4]:
        row.pop(key, None)
    llm = dict(row.pop("llm_setting") or {})
    llm["model_name"] = row.pop("llm_id")
    row["prompt"], row["llm"] = prompt, llm
    row["avatar"] = row.pop("icon")
    return row


def created_view(chat: Json, dataset_ids: Any) -> Json:
    row = _prompt_of(dialog_row(chat), listing=False)
    row.pop("kb_ids", None)
    row["dataset_ids"] = dataset_ids
    return row


def kb_row(state: ServerState, ds: Json) -> Json:
    """A dataset as v0.22.1's ``knowledgebase`` table row (what the chat list embeds)."""
    from ._views import dataset_view

    view = dataset_view(state, ds)
    return {
        "id": ds["id"],
        "avatar": ds.get("avatar"),
        "tenant_id": ds.get("tenant_id", TENANT_ID),
        "name": ds["name"],
        "language": ds.get("language", "English"),
        "description": ds.get("description"),
        "embd_id": ds.get("embedding_model"),
        "permission": ds.get("permission", "me"),
        "created_by": ds.get("created_by", TENANT_ID),
        "doc_num": view.get("document_count", 0),
        "token_num": view.get("token_num", 0),
        "chunk_num": view.get("chunk_count", 0),
        "similarity_threshold": ds.get("similarity_threshold", 0.2),
        "vector_similarity_weight": ds.get("vector_similarity_weight", 0.3),
        "parser_id": ds.get("chunk_method", "naive"),
        "pipeline_id": ds.get("pipeline_id"),
        "parser_config": copy.deepcopy(ds.get("parser_config") or {}),
        "pagerank": ds.get("pagerank", 0),
        "graphrag_task_id": None,
        "graphrag_task_finish_at": None,
        "raptor_task_id": None,
        "raptor_task_finish_at": None,
        "mindmap_task_id": None,
        "mindmap_task_finish_at": None,
        "status": "1",
        "create_time": ds.get("create_time"),
        "create_date": ds.get("create_date"),
        "update_time": ds.get("update_time"),
        "update_date": ds.get("update_date"),
    }


def listed_view(state: ServerState, chat: Json) -> Json:
    row = _prompt_of(dialog_row(chat), listing=True)
    datasets = [state.store.get("dataset", kb_id) for kb_id in row.pop("kb_ids") or []]
    row["datasets"] = [kb_row(state, ds) for ds in datasets if ds is not None]
    return row


# ---------------------------------------------------------------- request mapping
def _check_datasets(state: ServerState, ids: list[Any]) -> None:
    datasets = []
    for kb_id in ids:
        ds = state.store.get("dataset", kb_id) if isinstance(kb_id, str) else None
        if ds is None:
            raise data_error(f"You don't own the dataset {kb_id}")
        if dataset_chunk_count(state, ds) == 0:
            raise data_error(f"The dataset {kb_id} doesn't own parsed file")
        datasets.append(ds)
    names = {str(d.get("embedding_model") or "").rsplit("@", 1)[0] for d in datasets}
    if len(names) > 1:
        raise data_error('Datasets use different embedding models."', AUTHENTICATION_ERROR)


def _map_llm(state: ServerState, req: Json) -> None:
    llm = req.get("llm")
    if not llm:
        return
    if not isinstance(llm, dict):
        raise server_error(TypeError(f"argument of type '{type(llm).__name__}' is not iterable"))
    llm = dict(llm)
    if "model_name" in llm:
        req["llm_id"] = llm.pop("model_name")
        model = req["llm_id"]
        if model is not None and not has_chat_model_v022(state, str(model)):
            raise data_error(f"`model_name` {model} doesn't exist")
    req.pop("llm")
    req["llm_setting"] = llm


def _map_prompt(req: Json) -> None:
    prompt = req.get("prompt")
    if not prompt:
        return
    if not isinstance(prompt, dict):
        raise server_error(TypeError(f"argument of type '{type(prompt).__name__}' is not iterable"))
    prompt = dict(prompt)
    for new, old in WIRE_NAMES.items():
        if old in prompt:
            prompt[new] = prompt.pop(old)
    for key in PROMPT_SETTINGS:
        if key in prompt:
            req[key] = prompt.pop(key)
    req.pop("prompt")
    req["prompt_config"] = prompt


def _check_rerank(req: Json) -> None:
    rerank = req.get("rerank_id")
    if rerank and rerank not in BUILTIN_RERANKERS:
        raise data_error(f"`rerank_model` {rerank} doesn't exist")


def _check_parameters(config: Json) -> None:
    for parameter in config.get("parameters") or []:
        try:
            optional, key = parameter["optional"], parameter["key"]
        except (KeyError, TypeError) as exc:
            raise server_error(exc) from None
        if optional:
            continue
        if str(config.get("system") or "").find("{" + str(key) + "}") < 0:
            raise data_error(f"Parameter '{key}' is not used")


def _store_fields(req: Json) -> Json:
    return {k: copy.deepcopy(req[k]) for k in DIALOG_COLUMNS if k in req and k != "id"}


# ---------------------------------------------------------------- handlers
@endpoint
async def create_chat(request: Request) -> Response:
    state = state_of(request)
    req = dict(as_dict(await body_v022(request)))
    raw_ids = req.get("dataset_ids", [])
    try:
        ids = [i for i in raw_ids if i]
    except TypeError as exc:
        raise server_error(exc) from None
    _check_datasets(state, ids)
    req["kb_ids"] = ids
    _map_llm(state, req)
    _map_prompt(req)
    req["description"] = req.get("description", "A helpful Assistant")
    req["icon"] = req.get("avatar", "")
    req["top_n"] = req.get("top_n", 6)
    req["top_k"] = req.get("top_k", 1024)
    req["rerank_id"] = req.get("rerank_id", "")
    _check_rerank(req)
    if not req.get("llm_id"):
        req["llm_id"] = DEFAULT_LLM  # the tenant's default chat model
    if not req.get("name"):
        raise data_error("`name` is required.")
    if name_taken(state, str(req["name"])):
        raise data_error("Duplicated chat name in creating chat.")
    if req.get("tenant_id"):
        raise data_error("`tenant_id` must not be provided.")
    config = req.setdefault("prompt_config", {})
    for key, value in DEFAULT_PROMPT_CONFIG.items():
        if (key == "system" and not config.get(key)) or key not in config:
            config[key] = copy.deepcopy(value)
    _check_parameters(config)
    chat = new_dialog()
    chat.pop("tenant_llm_id", None)
    chat.pop("tenant_rerank_id", None)
    chat.update(_store_fields(req))
    stamp(chat, created=True)
    state.store.put("chat", chat)
    return get_result(created_view(chat, raw_ids))


@endpoint
async def update_chat(request: Request) -> Response:
    state = state_of(request)
    chat = live_chat(state, request.path_params["chat_id"])
    if chat is None:
        raise data_error("You do not own the chat")
    req = dict(as_dict(await body_v022(request)))
    ids = req.get("dataset_ids", [])
    if "show_quotation" in req:
        req["do_refer"] = req.pop("show_quotation")
    if ids:
        try:
            ids = list(ids)
        except TypeError as exc:
            raise server_error(exc) from None
        _check_datasets(state, ids)
        req["kb_ids"] = ids
    else:
        req["kb_ids"] = []  # v0.22.1 clears the datasets of an update without dataset_ids
    _map_llm(state, req)
    _map_prompt(req)
    _check_rerank(req)
    if "name" in req:
        if not req.get("name"):
            raise data_error("`name` cannot be empty.")
        name = str(req["name"])
        if name.lower() != chat["name"].lower() and name_taken(state, name):
            raise data_error("Duplicated chat name in updating chat.")
    config = copy.deepcopy(chat.get("prompt_config") or {})
    if "prompt_config" in req:
        config.update(req["prompt_config"])
        _check_parameters(config)
    setting = dict(chat.get("llm_setting") or {})
    if "llm_setting" in req:
        setting.update(req["llm_setting"])
    req["prompt_config"], req["llm_setting"] = config, setting
    if "avatar" in req:
        req["icon"] = req.pop("avatar")
    req.pop("dataset_ids", None)
    unknown = next((k for k in req if k not in DIALOG_COLUMNS), None)
    if unknown is not None:  # peewee refuses to update a column the dialog table lacks
        raise server_error(ValueError(f'Unrecognized field name: "{unknown}" in {req}.'))
    with state.store.lock:
        updated = copy.deepcopy(chat)
        updated.update(_store_fields(req))
        updated["id"] = chat["id"]
        stamp(updated, created=False)
        state.store.put("chat", updated)
    return get_result()


@endpoint
async def list_chats(request: Request) -> Response:
    state = state_of(request)
    params = request.query_params
    chat_id, name = params.get("id"), params.get("name")
    chats = live_chats(state)
    if chat_id:
        chats = [c for c in chats if c["id"] == chat_id]
    if name:
        chats = [c for c in chats if c["name"].lower() == name.lower()]
    if (chat_id or name) and not chats:
        raise data_error("The chat doesn't exist")
    try:
        page = int(params.get("page", 1))
        size = int(params.get("page_size", 30))
    except ValueError as exc:
        raise server_error(exc) from None
    orderby = params.get("orderby", "create_time")
    if orderby not in DIALOG_COLUMNS:
        raise server_error(AttributeError(f"type object 'Dialog' has no attribute '{orderby}'"))
    desc = params.get("desc") not in ("False", "false")
    chats.sort(key=lambda c: (c.get(orderby) is not None, c.get(orderby) or 0), reverse=desc)
    start = (page - 1 if page > 0 else 0) * size
    return get_result([listed_view(state, c) for c in chats[start : start + max(size, 0)]])


@endpoint
async def delete_chats(request: Request) -> Response:
    state = state_of(request)
    req = await body_v022(request)
    ids = None if not req else as_dict(req).get("ids")
    if not ids:
        ids = [c["id"] for c in live_chats(state)]  # v0.22.1: no ids means every chat

    def delete_one(chat_id: Any) -> str | None:
        chat = live_chat(state, chat_id)
        if chat is None:
            return f"Assistant({chat_id}) not found."
        retire_chat(state, chat)
        return None

    return deleted_result(delete_each(ids, "assistant", delete_one))


def routes(state: ServerState) -> list[Route]:
    return [
        Route("/chats", create_chat, methods=["POST"]),
        Route("/chats", list_chats, methods=["GET"]),
        Route("/chats", delete_chats, methods=["DELETE"]),
        Route("/chats/{chat_id}", update_chat, methods=["PUT"]),
    ]
