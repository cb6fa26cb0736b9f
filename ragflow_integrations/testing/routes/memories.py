"""Memories and their messages (RAGFlow v0.24+; routes of v0.27.0's ``memory_api.py``).

Only registered in 0.27 mode: a v0.22 server has no memories. Validation order, codes and
messages follow RAGFlow v0.27.0; its envelopes here say ``"message": true`` on success. Search is
RAGFlow's Elasticsearch query: messages whose content shares a word with the query (full text,
stop words dropped), enabled and not forgotten, newest first, at most ``top_n``; the similarity
threshold and keyword weight only tune a relevance score that this order ignores, so they are
validated and otherwise have no effect. See ``memory_messages`` for the extraction stand-in.
"""

from __future__ import annotations

from pathlib import PurePath
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from .._util import ApiError, Json, new_id, stamp
from ..memory_messages import (
    add_turn,
    content_view,
    date_now,
    listed_view,
    matches,
    newest_first,
)
from ..memory_store import MemoryStore, memory_store
from ._common import NICKNAME, TENANT_ID, ServerState, endpoint, state_of
from ._memory_checks import (
    DEFAULT_SIZE,
    INTERNAL,
    MEMORY_TYPES,
    NAME_LIMIT,
    argument_error,
    body_of,
    check_ids,
    check_name,
    check_types,
    float_arg,
    page_number,
    page_size,
    page_size_or_100,
    query_ids,
    require,
    settings_of,
    split_values,
)

UPDATABLE = (
    "name",
    "permissions",
    "llm_id",
    "embd_id",
    "memory_type",
    "memory_size",
    "forgetting_policy",
    "temperature",
    "avatar",
    "description",
    "system_prompt",
    "user_prompt",
    "tenant_llm_id",
    "tenant_embd_id",
)
VIEW_FIELDS = (
    "id",
    "name",
    "avatar",
    "tenant_id",
    "owner_name",
    "memory_type",
    "storage_type",
    "embd_id",
    "llm_id",
    "permissions",
    "description",
    "memory_size",
    "forgetting_policy",
    "temperature",
    "system_prompt",
    "user_prompt",
    "create_time",
    "create_date",
    "update_time",
    "update_date",
)
LIST_FIELDS = (*VIEW_FIELDS[:11], "create_time", "create_date")


# ---------------------------------------------------------------- helpers
def ok(data: Any = None, message: Any = True) -> JSONResponse:
    return JSONResponse({"code": 0, "message": message, "data": data})


def not_found(memory_id: Any) -> ApiError:
    return ApiError(404, f"Memory '{memory_id}' not found.", data=None)


def default_system_prompt(memory_types: list[str]) -> str:
    """The stand-in's default extraction prompt (RAGFlow assembles its own per memory type)."""
    kinds = [t for t in MEMORY_TYPES[1:] if t in memory_types]
    wanted = ", ".join(kinds) if kinds else "no"
    return (
        "You extract structured memory from a conversation between a user and an agent.\n"
        f"Extract {wanted} memory items. Answer with JSON: for each type, a list of objects "
        'with "content", "valid_at" and "invalid_at" (ISO 8601 timestamps or empty), at most '
        "5 items per type."
    )


def _store(request: Request) -> tuple[ServerState, MemoryStore]:
    state = state_of(request)
    return state, memory_store(state.extra, state.store)


def _unique_name(ms: MemoryStore, name: str, own_id: str | None = None) -> str:
    """RAGFlow's ``duplicate_name``: "x" -> "x(1)" -> "x(2)", before a suffix ("a(1).b")."""
    taken = {m["name"].lower() for m in ms.all_memories() if m["id"] != own_id}
    current = name
    while current.lower() in taken:
        path = PurePath(current)
        stem, suffix = path.stem, path.suffix
        main, counter = stem, 0
        if stem.endswith(")") and "(" in stem:
            head, _, number = stem[:-1].rpartition("(")
            if number.isdigit():
                main, counter = head.rstrip(), int(number)
        current = f"{main}({counter + 1}){suffix}"
    return current


def memory_view(memory: Json, *, owner_name: str | None = None) -> Json:
    return {f: owner_name if f == "owner_name" else memory.get(f) for f in VIEW_FIELDS}


def _row_view(memory: Json) -> Json:
    """The stored row as RAGFlow's ``to_dict`` gives it (an update that changed nothing)."""
    return {k: v for k, v in memory.items() if not k.startswith("_")}


def find_memory(ms: MemoryStore, memory_id: Any) -> Json:
    memory = ms.get_memory(memory_id)
    if memory is None:
        raise not_found(memory_id)
    return memory


def _existing(ms: MemoryStore, ids: Any) -> list[Json]:
    found = (ms.get_memory(i) for i in split_values(ids))
    return list({m["id"]: m for m in found if m is not None}.values())


# ---------------------------------------------------------------- memories
@endpoint
async def create_memory(request: Request) -> Response:
    _, ms = _store(request)
    req = await body_of(request, validated=True)
    require(req, "name", "memory_type", "embd_id", "llm_id")
    try:
        name = check_name(req["name"])
        if not isinstance(req["memory_type"], list):
            raise argument_error("Memory type must be a list.")
        types = check_types(req["memory_type"])
    except ApiError:
        raise
    except Exception:
        raise INTERNAL from None
    unique = _unique_name(ms, name)
    if len(unique) > NAME_LIMIT:
        raise ApiError(500, f"Memory name {unique} exceeds limit of {NAME_LIMIT}.", data=None)
    memory: Json = {
        "id": new_id(),
        "name": unique,
        "avatar": None,
        "tenant_id": TENANT_ID,
        "memory_type": types,
        "storage_type": "table",
        "embd_id": req["embd_id"],
        "tenant_embd_id": None,
        "llm_id": req["llm_id"],
        "tenant_llm_id": None,
        "permissions": "me",
        "description": None,
        "memory_size": DEFAULT_SIZE,
        "forgetting_policy": "FIFO",
        "temperature": 0.5,
        "system_prompt": default_system_prompt(types),
        "user_prompt": None,
    }
    stamp(memory, created=True)
    ms.put_memory(memory)
    return ok(memory_view(memory))


@endpoint
async def update_memory(request: Request) -> Response:
    _, ms = _store(request)
    memory_id = request.path_params["memory_id"]
    req = await body_of(request, validated=False)
    new = {k: req[k] for k in UPDATABLE if k in req}
    memory = find_memory(ms, memory_id)
    try:
        changed = settings_of(new, memory)
    except ApiError:
        raise
    except Exception:
        raise INTERNAL from None
    if not changed:
        return ok(_row_view(memory))
    blocked = [f for f in ("embd_id", "memory_type") if f in changed]
    if blocked and ms.memory_size(memory_id) > 0:
        raise argument_error(f"Can't update {blocked} when memory isn't empty.")
    was_default = memory.get("system_prompt") == default_system_prompt(memory["memory_type"])
    if "memory_type" in changed and "system_prompt" not in changed and was_default:
        changed["system_prompt"] = default_system_prompt(changed["memory_type"])
    if "name" in changed:
        changed["name"] = _unique_name(ms, changed["name"], own_id=memory_id)
    memory.update(changed)
    stamp(memory, created=False)
    ms.put_memory(memory)
    return ok(memory_view(memory))


@endpoint
async def delete_memory(request: Request) -> Response:
    _, ms = _store(request)
    memory = find_memory(ms, request.path_params["memory_id"])
    ms.delete_memory(memory["id"])
    return ok()


@endpoint
async def list_memories(request: Request) -> Response:
    _, ms = _store(request)
    params = request.query_params

    def first(name: str) -> str | None:
        values = params.getlist(name)
        return values[0] if values else None

    page = page_number(params.get("page", 1), 1)
    size = page_size_or_100(first("page_size") or 30)
    for field in ("owner_ids", "ids"):
        values = [v.strip() for v in str(first(field) or "").split(",") if v.strip()]
        check_ids(values, field)
    items = ms.all_memories()
    ids = split_values(first("ids"))
    if ids:
        items = [m for m in items if m["id"] in ids]
    tenants = split_values(first("tenant_id") or first("owner_ids"))
    if tenants and TENANT_ID not in tenants:
        items = []
    types = split_values(first("memory_type"))
    if types:
        items = [m for m in items if set(types) & set(m["memory_type"])]
    if first("storage_type"):
        items = [m for m in items if m["storage_type"] == first("storage_type")]
    if first("keywords"):
        needle = str(first("keywords")).lower()
        items = [m for m in items if needle in m["name"].lower()]
    items.sort(key=lambda m: m["update_time"], reverse=True)
    page_items = items[(page - 1) * size : page * size]
    page_items.sort(key=lambda m: m["create_time"], reverse=True)
    listed = [
        {**{f: NICKNAME if f == "owner_name" else m.get(f) for f in LIST_FIELDS}, "embd_name": ""}
        for m in page_items
    ]
    return ok({"memory_list": listed, "total_count": len(items)})


@endpoint
async def get_memory_config(request: Request) -> Response:
    _, ms = _store(request)
    memory = find_memory(ms, request.path_params["memory_id"])
    view = memory_view(memory, owner_name=NICKNAME)
    view.update({"update_time": None, "update_date": None})  # RAGFlow's query leaves them out
    return ok(view)


@endpoint
async def list_memory_messages(request: Request) -> Response:
    state, ms = _store(request)
    memory_id = request.path_params["memory_id"]
    agent_ids = query_ids(request, "agent_id")
    keywords = (request.query_params.get("keywords") or "").strip()
    page = page_number(request.query_params.get("page", 1), 1)
    size = page_size_or_100(request.query_params.get("page_size", 50))
    check_ids(agent_ids, "agent_id")
    memory = find_memory(ms, memory_id)
    raws = [
        m
        for m in ms.messages_of(memory["id"])
        if m["message_type"] == "raw"
        and (not agent_ids or str(m["agent_id"]) in agent_ids)
        and matches(m, session_id=keywords)
    ]
    raws = newest_first(raws)
    page_items = raws[(page - 1) * size : page * size]
    if not page_items:
        listed: Json = {"message_list": [], "total_count": len(raws)}
        return ok({"messages": listed, "storage_type": memory["storage_type"]})
    sources = {m["message_id"] for m in page_items}
    children = [m for m in ms.messages_of(memory["id"]) if m["source_id"] in sources]

    def agent_name(agent_id: Any) -> str:
        agent = state.store.get("agent", agent_id) if isinstance(agent_id, str) else None
        return str(agent["title"]) if agent else "Unknown"

    out = []
    for raw in page_items:
        view = listed_view(raw, with_content=False)
        view["extract"] = [
            {**listed_view(c, with_content=False), "agent_name": agent_name(c["agent_id"])}
            for c in newest_first(children)[:512]
            if c["source_id"] == raw["message_id"]
        ]
        view["agent_name"] = agent_name(raw["agent_id"])
        view["task"] = raw.get("_task") or {}
        out.append(view)
    listed = {"message_list": out, "total_count": len(raws)}
    return ok({"messages": listed, "storage_type": memory["storage_type"]})


# ---------------------------------------------------------------- messages
@endpoint
async def add_message(request: Request) -> Response:
    _, ms = _store(request)
    req = await body_of(request, validated=True)
    require(req, "memory_id", "agent_id", "session_id", "user_input", "agent_response")
    memories = _existing(ms, req["memory_id"])
    if not memories:
        raise ApiError(500, "Some messages failed to add. Detail:Memory not found.", data=None)
    turn = {
        "user_id": req.get("user_id", ""),
        "agent_id": req["agent_id"],
        "session_id": req["session_id"],
        "user_input": req["user_input"],
        "agent_response": req["agent_response"],
    }
    failed = []
    for memory in memories:
        saved, msg = add_turn(ms, memory, turn)
        if not saved:
            failed.append(f"Memory {memory['id']} failed. Detail: {msg}")
    if failed:
        raise ApiError(500, "Some messages failed to add. Detail:" + "".join(failed), data=None)
    return ok(message="All add to task.")


def _message_key(memory_id: str, message_id: str) -> int:
    try:
        return int(message_id)
    except ValueError:
        raise INTERNAL from None


@endpoint
async def forget_message(request: Request) -> Response:
    _, ms = _store(request)
    memory = find_memory(ms, request.path_params["memory_id"])
    key = _message_key(memory["id"], request.path_params["message_id"])
    ms.update_message(memory["id"], key, {"forget_at": date_now()})  # none matched: still True
    return ok()


@endpoint
async def update_message(request: Request) -> Response:
    _, ms = _store(request)
    req = await body_of(request, validated=True)
    require(req, "status")
    if not isinstance(req["status"], bool):
        raise argument_error("Status must be a boolean.")
    memory = find_memory(ms, request.path_params["memory_id"])
    key = _message_key(memory["id"], request.path_params["message_id"])
    ms.update_message(memory["id"], key, {"status": req["status"]})
    return ok()


@endpoint
async def search_messages(request: Request) -> Response:
    _, ms = _store(request)
    memory_ids = query_ids(request, "memory_id")
    query = request.query_params.get("query")
    float_arg(request, "similarity_threshold", 0.2)
    float_arg(request, "keywords_similarity_weight", 0.7)
    check_ids(memory_ids, "memory_id")
    try:
        top_n = page_size(int(request.query_params.get("top_n", 5)))
    except ValueError as exc:
        raise argument_error(str(exc)) from None
    memories = _existing(ms, memory_ids)
    if not memories:
        return ok([])
    if query is None:
        failure = "AttributeError(\"'NoneType' object has no attribute 'strip'\")"
        raise ApiError(100, failure, data=None)
    params = request.query_params
    found = ms.text_matches(query.strip(), [m["id"] for m in memories])
    hits = [
        message
        for memory_id, message_id in found
        if (message := ms.messages.get(memory_id, {}).get(message_id)) is not None
        and message["status"]
        and not message["forget_at"]
        and matches(
            message,
            agent_id=params.get("agent_id", ""),
            session_id=params.get("session_id", ""),
            user_id=params.get("user_id", ""),
        )
    ]
    return ok([listed_view(m, with_content=True) for m in newest_first(hits)[:top_n]])


@endpoint
async def recent_messages(request: Request) -> Response:
    _, ms = _store(request)
    memory_ids = query_ids(request, "memory_id")
    check_ids(memory_ids, "memory_id")
    try:
        limit = page_size(int(request.query_params.get("limit", 10)))
    except ValueError as exc:
        raise argument_error(str(exc)) from None
    if not memory_ids:
        raise argument_error("memory_ids is required.")
    agent_id = request.query_params.get("agent_id", "")
    session_id = request.query_params.get("session_id", "")
    found = [
        message
        for memory in _existing(ms, memory_ids)
        for message in ms.messages_of(memory["id"])
        if not message["forget_at"] and matches(message, agent_id=agent_id, session_id=session_id)
    ]
    return ok([listed_view(m, with_content=True) for m in newest_first(found)[:limit]])


@endpoint
async def message_content(request: Request) -> Response:
    _, ms = _store(request)
    memory = find_memory(ms, request.path_params["memory_id"])
    message_id = request.path_params["message_id"]
    message = ms.get_message(memory["id"], message_id)
    if message is None:
        text = f"Message '{message_id}' in memory '{memory['id']}' not found."
        raise ApiError(404, text, data=None)
    return ok(content_view(ms, message))


def routes(state: ServerState) -> list[Route]:
    if state.old:  # memories arrived in v0.24
        return []
    one = "/messages/{memory_id}:{message_id}"
    return [
        Route("/memories", create_memory, methods=["POST"]),
        Route("/memories", list_memories, methods=["GET"]),
        Route("/memories/{memory_id}", update_memory, methods=["PUT"]),
        Route("/memories/{memory_id}", delete_memory, methods=["DELETE"]),
        Route("/memories/{memory_id}", list_memory_messages, methods=["GET"]),
        Route("/memories/{memory_id}/config", get_memory_config, methods=["GET"]),
        Route("/messages", add_message, methods=["POST"]),
        Route("/messages", recent_messages, methods=["GET"]),
        Route("/messages/search", search_messages, methods=["GET"]),
        Route(one, forget_message, methods=["DELETE"]),
        Route(one, update_message, methods=["PUT"]),
        Route(one + "/content", message_content, methods=["GET"]),
    ]
