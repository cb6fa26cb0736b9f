"""Chat assistants (§3.8) and chat sessions (§3.9)."""

from __future__ import annotations

import copy
import time
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from .._util import ApiError, Json, is_desc, json_result, new_id, paging, read_json, stamp
from ..server import DEFAULT_LLM
from ._common import ServerState, endpoint, method_not_allowed, public_view, state_of
from ._views import owner_fields

DEFAULT_PROLOGUE = "Hi! I'm your assistant. What can I do for you?"
DEFAULT_EMPTY = "Sorry! No relevant content was found in the knowledge base!"
DEFAULT_SYSTEM = (
    "You are an intelligent assistant. Please summarize the content of the dataset to answer "
    "the question. When all dataset content is irrelevant to the question, your answer must "
    'include the sentence "The answer you are looking for is not found in the dataset!".\n'
    "Here is the knowledge base:\n{knowledge}\nThe above is the knowledge base."
)
CHAT_FIELDS = (
    "name",
    "icon",
    "description",
    "dataset_ids",
    "llm_id",
    "tenant_llm_id",
    "llm_setting",
    "prompt_config",
    "similarity_threshold",
    "vector_similarity_weight",
    "top_n",
    "top_k",
    "rerank_id",
    "tenant_rerank_id",
    "meta_data_filter",
    "language",
    "prompt_type",
)


def default_prompt_config() -> Json:
    return {
        "system": DEFAULT_SYSTEM,
        "prologue": DEFAULT_PROLOGUE,
        "parameters": [
            {"key": "knowledge", "optional": False},
            {"key": "date", "optional": True},
        ],
        "empty_response": DEFAULT_EMPTY,
        "quote": True,
        "tts": False,
        "refine_multiturn": True,
    }


def _from_old_body(req: Json) -> Json:
    """Map the ≤ v0.24 nested ``llm`` / ``prompt`` / ``avatar`` body onto the flat fields."""
    out = {k: v for k, v in req.items() if k not in {"llm", "prompt", "avatar"}}
    if "avatar" in req:
        out["icon"] = req["avatar"]
    llm = req.get("llm")
    if isinstance(llm, dict):
        setting = {k: v for k, v in llm.items() if k != "model_name"}
        if llm.get("model_name"):
            out["llm_id"] = llm["model_name"]
        out["llm_setting"] = setting
    prompt = req.get("prompt")
    if isinstance(prompt, dict):
        config: Json = {}
        renames = {
            "opener": "prologue",
            "show_quote": "quote",
            "prompt": "system",
            "variables": "parameters",
            "empty_response": "empty_response",
        }
        for old, new in renames.items():
            if old in prompt:
                config[new] = prompt[old]
        out["prompt_config"] = config
        for key in ("similarity_threshold", "top_n"):
            if key in prompt:
                out[key] = prompt[key]
        if "keywords_similarity_weight" in prompt:
            out["vector_similarity_weight"] = 1 - float(prompt["keywords_similarity_weight"])
        if "rerank_model" in prompt:
            out["rerank_id"] = prompt["rerank_model"]
    return out


def chat_view(state: ServerState, chat: Json) -> Json:
    out = public_view(chat)
    out["kb_names"] = [
        (state.store.get("dataset", d) or {}).get("name", "") for d in chat.get("dataset_ids", [])
    ]
    if state.old:
        config = chat.get("prompt_config") or {}
        out["avatar"] = chat.get("icon", "")
        out["llm"] = {"model_name": chat.get("llm_id"), **(chat.get("llm_setting") or {})}
        out["prompt"] = {
            "similarity_threshold": chat.get("similarity_threshold"),
            "keywords_similarity_weight": round(1 - float(chat["vector_similarity_weight"]), 6),
            "top_n": chat.get("top_n"),
            "variables": config.get("parameters", []),
            "rerank_model": chat.get("rerank_id", ""),
            "empty_response": config.get("empty_response"),
            "opener": config.get("prologue"),
            "show_quote": config.get("quote", True),
            "prompt": config.get("system"),
        }
        out["datasets"] = [
            {"id": d, "name": (state.store.get("dataset", d) or {}).get("name", "")}
            for d in chat.get("dataset_ids", [])
        ]
    return out


def _check_datasets(state: ServerState, ids: Any) -> list[str]:
    if ids is None:
        return []
    if not isinstance(ids, list):
        raise ApiError(102, "`dataset_ids` should be a list.")
    models = set()
    for dataset_id in ids:
        ds = state.store.get("dataset", dataset_id)
        if ds is None:
            raise ApiError(102, f"You don't own the dataset {dataset_id}")
        if not any(
            int(d.get("chunk_count") or 0) > 0 for d in state.store.all("document", dataset_id)
        ):
            raise ApiError(102, f"The dataset {dataset_id} doesn't own parsed file")
        models.add(ds["embedding_model"])
    if len(models) > 1:
        raise ApiError(102, "Datasets use different embedding models.")
    return [str(i) for i in ids]


def _apply(state: ServerState, chat: Json, req: Json, *, merge: bool) -> None:
    if "name" in req:
        name = req["name"]
        if not isinstance(name, str) or not name.strip():
            raise ApiError(102, "`name` is not empty.")
        if len(name.encode("utf-8")) > 255:
            raise ApiError(102, "Chat name length is 255 bytes at most.")
        if any(c["name"] == name and c["id"] != chat.get("id") for c in state.store.all("chat")):
            raise ApiError(102, "Duplicated chat name.")
    if "dataset_ids" in req:
        req["dataset_ids"] = _check_datasets(state, req["dataset_ids"])
    if "llm_id" in req and not state.old:
        llm_id = req["llm_id"]
        if llm_id in (None, ""):
            req["llm_id"] = DEFAULT_LLM  # the tenant's default chat model
        elif not isinstance(llm_id, str) or not state.has_llm(llm_id):
            raise ApiError(102, f"`llm_id` {llm_id} doesn't exist")
    if "prompt_config" in req and isinstance(req["prompt_config"], dict):
        keys = [
            p.get("key")
            for p in req["prompt_config"].get("parameters") or []
            if isinstance(p, dict)
        ]
        if len(keys) != len(set(keys)):
            raise ApiError(102, "Duplicate parameter keys in `prompt_config.parameters`.")
    for key in CHAT_FIELDS:
        if key not in req:
            continue
        value = req[key]
        if merge and key in {"llm_setting", "prompt_config"} and isinstance(value, dict):
            chat[key] = {**(chat.get(key) or {}), **value}
        elif key == "prompt_config" and isinstance(value, dict):
            chat[key] = {**default_prompt_config(), **value}
        else:
            chat[key] = copy.deepcopy(value)


@endpoint
async def create_chat(request: Request) -> Response:
    state = state_of(request)
    req = await read_json(request)
    if state.old:
        req = _from_old_body(req)
    if "tenant_id" in req:
        raise ApiError(102, "`tenant_id` must not be provided.")
    if not req.get("name"):
        raise ApiError(102, "`name` is required.")
    if any(c["name"] == req["name"] for c in state.store.all("chat")):
        raise ApiError(102, "Duplicated chat name in creating chat.")
    chat: Json = {
        "id": new_id(),
        **owner_fields(),
        "name": "",
        "description": "A helpful Assistant",
        "icon": "",
        "language": "English",
        "llm_id": DEFAULT_LLM,
        "tenant_llm_id": None,
        "llm_setting": {},
        "prompt_type": "simple",
        "prompt_config": default_prompt_config(),
        "meta_data_filter": {},
        "similarity_threshold": 0.1,
        "vector_similarity_weight": 0.3,
        "top_n": 6,
        "top_k": 1024,
        "do_refer": "1",
        "rerank_id": "",
        "tenant_rerank_id": None,
        "status": "1",
        "dataset_ids": [],
    }
    _apply(state, chat, req, merge=False)
    stamp(chat, created=True)
    state.store.put("chat", chat)
    return envelope(state, chat_view(state, chat))


def envelope(state: ServerState, data: Any) -> Response:
    """J envelope in 0.27 mode; ``{"code":0,"data":…}`` for the ≤ v0.24 SDK routes."""
    if state.old:
        from .._util import result

        return result(data) if data is not None else result()
    return json_result(data)


def find_chat(state: ServerState, chat_id: str) -> Json:
    chat = state.store.get("chat", chat_id)
    if chat is None:
        if state.old:
            raise ApiError(102, "You don't own the chat.")
        raise ApiError(109, "no authorization", data=False)
    return chat


@endpoint
async def get_chat(request: Request) -> Response:
    state = state_of(request)
    if state.old:
        return method_not_allowed()
    return json_result(chat_view(state, find_chat(state, request.path_params["chat_id"])))


async def _update(request: Request, *, merge: bool) -> Response:
    state = state_of(request)
    chat = find_chat(state, request.path_params["chat_id"])
    req = await read_json(request)
    if state.old:
        req = _from_old_body(req)
    if "tenant_id" in req:
        raise ApiError(102, "`tenant_id` must not be provided.")
    with state.store.lock:
        updated = copy.deepcopy(chat)
        _apply(state, updated, req, merge=merge)
        stamp(updated, created=False)
        state.store.put("chat", updated)
    if state.old:
        return envelope(state, None)
    return json_result(chat_view(state, updated))


@endpoint
async def put_chat(request: Request) -> Response:
    return await _update(request, merge=False)


@endpoint
async def patch_chat(request: Request) -> Response:
    if state_of(request).old:
        return method_not_allowed()
    return await _update(request, merge=True)


@endpoint
async def list_chats(request: Request) -> Response:
    state = state_of(request)
    params = request.query_params
    page, size = paging(params, cap=not state.old)
    orderby = params.get("orderby", "create_time")
    if orderby not in ("create_time", "update_time", "name"):
        raise ApiError(101, f"invalid orderby field: {orderby}")
    chats = state.store.all("chat")
    wanted_id, name = params.get("id"), params.get("name")
    if wanted_id:
        chats = [c for c in chats if c["id"] == wanted_id]
    if name:
        chats = [c for c in chats if c["name"] == name]
    if state.old and (wanted_id or name) and not chats:
        raise ApiError(102, "The chat doesn't exist")
    keywords = params.get("keywords")
    if keywords and not (wanted_id or name):
        chats = [c for c in chats if keywords.lower() in c["name"].lower()]
    key = (lambda c: c["name"].lower()) if orderby == "name" else (lambda c: c.get(orderby, 0))
    chats.sort(key=key, reverse=is_desc(params.get("desc")))
    start = (page - 1) * size
    items = [chat_view(state, c) for c in chats[start : start + size]]
    if state.old:
        return envelope(state, items)
    return json_result({"chats": items, "total": len(chats)})


def delete_chat_cascade(state: ServerState, chat_id: str) -> None:
    with state.store.lock:
        for session in state.store.all("session", chat_id):
            state.store.delete("session", session["id"])
        state.store.delete("chat", chat_id)


@endpoint
async def delete_chats(request: Request) -> Response:
    state = state_of(request)
    req = await read_json(request)
    ids = req.get("ids")
    if ids is None and req.get("chat_id"):
        ids = [req["chat_id"]]
    if (state.old and ids is None) or (not state.old and req.get("delete_all")):
        targets = [c["id"] for c in state.store.all("chat")]
    elif not ids:
        return envelope(state, {}) if not state.old else envelope(state, None)
    else:
        if not isinstance(ids, list):
            raise ApiError(102, "`ids` should be a list.")
        targets = [i for i in dict.fromkeys(ids) if state.store.get("chat", i) is not None]
        missing = [i for i in dict.fromkeys(ids) if i not in targets]
        if missing and not targets:
            raise ApiError(102, "; ".join(f"Chat({i}) not found." for i in missing))
        for chat_id in targets:
            delete_chat_cascade(state, chat_id)
        if missing:
            errors = [f"Chat({i}) not found." for i in missing]
            if state.old:
                return envelope(state, {"success_count": len(targets), "errors": errors})
            return json_result(
                {"success_count": len(targets), "errors": errors},
                message=f"Partially deleted {len(targets)} chats with {len(errors)} errors",
            )
        return envelope(state, {"success_count": len(targets)} if not state.old else None)
    for chat_id in targets:
        delete_chat_cascade(state, chat_id)
    return envelope(state, {"success_count": len(targets)} if not state.old else None)


@endpoint
async def delete_one_chat(request: Request) -> Response:
    state = state_of(request)
    chat = find_chat(state, request.path_params["chat_id"])
    delete_chat_cascade(state, chat["id"])
    return json_result(True)


# ---------------------------------------------------------------- sessions
def new_session(state: ServerState, chat: Json, name: str, user_id: str = "") -> Json:
    prologue = (chat.get("prompt_config") or {}).get("prologue") or DEFAULT_PROLOGUE
    session: Json = {
        "id": new_id(),
        "chat_id": chat["id"],
        "name": name,
        "user_id": user_id,
        "messages": [{"role": "assistant", "content": prologue}],
        "reference": [],
    }
    stamp(session, created=True)
    state.store.put("session", session)
    return session


def session_view(session: Json) -> Json:
    return public_view(session)


@endpoint
async def create_session(request: Request) -> Response:
    state = state_of(request)
    chat = find_chat(state, request.path_params["chat_id"])
    req = await read_json(request)
    name = req.get("name", "New session")
    if not isinstance(name, str) or not name.strip():
        raise ApiError(102, "`name` can not be empty.")
    session = new_session(state, chat, name.strip()[:255], str(req.get("user_id") or ""))
    return envelope(state, session_view(session))


@endpoint
async def list_sessions(request: Request) -> Response:
    state = state_of(request)
    chat = find_chat(state, request.path_params["chat_id"])
    params = request.query_params
    page, size = paging(params, cap=not state.old)
    orderby = params.get("orderby", "create_time")
    if orderby not in ("create_time", "update_time", "name"):
        raise ApiError(101, f"invalid orderby field: {orderby}")
    sessions = state.store.all("session", chat["id"])
    for key in ("id", "name", "user_id"):
        value = params.get(key)
        if value:
            sessions = [s for s in sessions if s.get(key) == value]
    key_fn = (lambda s: s["name"].lower()) if orderby == "name" else (lambda s: s.get(orderby, 0))
    sessions.sort(key=key_fn, reverse=is_desc(params.get("desc")))
    start = (page - 1) * size
    return envelope(state, [session_view(s) for s in sessions[start : start + size]])


def find_session(state: ServerState, chat: Json, session_id: str) -> Json:
    session = state.store.get("session", session_id)
    if session is None or session["chat_id"] != chat["id"]:
        raise ApiError(102, "Session not found!")
    return session


@endpoint
async def get_session(request: Request) -> Response:
    state = state_of(request)
    chat = find_chat(state, request.path_params["chat_id"])
    session = find_session(state, chat, request.path_params["session_id"])
    view = session_view(session)
    view["avatar"] = chat.get("icon", "")
    return json_result(view)


@endpoint
async def update_session(request: Request) -> Response:
    state = state_of(request)
    if state.old and request.method == "PATCH":
        return method_not_allowed()
    chat = find_chat(state, request.path_params["chat_id"])
    session = find_session(state, chat, request.path_params["session_id"])
    req = await read_json(request)
    for key in ("messages", "message", "reference"):
        if key in req:
            raise ApiError(102, f"`{key}` cannot be changed.")
    if "name" in req:
        name = req["name"]
        if not isinstance(name, str) or not name.strip():
            raise ApiError(102, "`name` can not be empty.")
        session["name"] = name.strip()[:255]
    if "user_id" in req:
        session["user_id"] = str(req["user_id"])
    stamp(session, created=False)
    state.store.put("session", session)
    return envelope(state, session_view(session) if not state.old else None)


@endpoint
async def delete_sessions(request: Request) -> Response:
    state = state_of(request)
    chat = find_chat(state, request.path_params["chat_id"])
    req = await read_json(request)
    ids = req.get("ids")
    sessions = state.store.all("session", chat["id"])
    if (state.old and ids is None) or (not state.old and req.get("delete_all")):
        targets = [s["id"] for s in sessions]
    elif not ids:
        return envelope(state, True if not state.old else None)
    else:
        known = {s["id"] for s in sessions}
        targets = [i for i in dict.fromkeys(ids) if i in known]
        missing = [i for i in dict.fromkeys(ids) if i not in known]
        if missing and not targets:
            raise ApiError(102, f"The chat doesn't own the session {missing[0]}")
        for sid in targets:
            state.store.delete("session", sid)
        if missing:
            return envelope(
                state,
                {
                    "success_count": len(targets),
                    "errors": [f"The chat doesn't own the session {m}" for m in missing],
                },
            )
        return envelope(state, True if not state.old else None)
    for sid in targets:
        state.store.delete("session", sid)
    return envelope(state, True if not state.old else None)


def routes(state: ServerState) -> list[Route]:
    sessions = "/chats/{chat_id}/sessions"
    out = [
        Route("/chats", create_chat, methods=["POST"]),
        Route("/chats", list_chats, methods=["GET"]),
        Route("/chats", delete_chats, methods=["DELETE"]),
        Route("/chats/{chat_id}", get_chat, methods=["GET"]),
        Route("/chats/{chat_id}", put_chat, methods=["PUT"]),
        Route("/chats/{chat_id}", patch_chat, methods=["PATCH"]),
        Route(sessions, create_session, methods=["POST"]),
        Route(sessions, list_sessions, methods=["GET"]),
        Route(sessions, delete_sessions, methods=["DELETE"]),
        Route(sessions + "/{session_id}", update_session, methods=["PUT", "PATCH"]),
    ]
    if not state.old:
        out += [
            Route("/chats/{chat_id}", delete_one_chat, methods=["DELETE"]),
            Route(sessions + "/{session_id}", get_session, methods=["GET"]),
        ]
    return out


def now_seconds() -> float:
    return time.time()
