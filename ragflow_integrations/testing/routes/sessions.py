"""Chat sessions (RAGFlow's ``conversation`` rows) in both emulated versions, plus v0.25+'s
message delete and thumbs up/down feedback.

A session is stored as RAGFlow stores it: ``dialog_id``, ``message`` (the turns, each assistant
turn with the ``id`` of its question) and ``reference`` (one entry per assistant answer).
The two versions show it differently: v0.22.1 lists ``reference`` inside each assistant message
and hides the top-level list; v0.25+ returns the top-level list and leaves messages alone.
"""

from __future__ import annotations

import copy
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from .._util import ApiError, Json, new_id, stamp
from ._common import TENANT_ID, ServerState, endpoint, state_of
from ._wire import (
    ARGUMENT_ERROR,
    as_dict,
    body_v022,
    body_v027,
    data_error,
    delete_each,
    deleted_json,
    deleted_result,
    get_json_result,
    get_result,
    server_error,
)
from .chats import live_chat, owned_chat, page_args, sort_rows


def new_session(
    state: ServerState,
    chat: Json,
    *,
    name: str = "New session",
    user_id: str = "",
    reference: list[Any] | None = None,
    save: bool = True,
) -> Json:
    prologue = (chat.get("prompt_config") or {}).get("prologue")
    session: Json = {
        "id": new_id() if save else None,
        "dialog_id": chat["id"],
        "name": name,
        "message": [{"role": "assistant", "content": prologue}],
        "user_id": user_id,
        "reference": [] if reference is None else reference,
    }
    stamp(session, created=True)
    if save:
        state.store.put("session", session)
    return session


def save_session(state: ServerState, session: Json) -> None:
    if session.get("id"):
        stamp(session, created=False)
        state.store.put("session", session)


def sessions_of(state: ServerState, chat_id: str) -> list[Json]:
    return [s for s in state.store.all("session") if s.get("dialog_id") == chat_id]


def find_session(state: ServerState, session_id: Any) -> Json | None:
    return state.store.get("session", session_id) if isinstance(session_id, str) else None


def base_view(session: Json) -> Json:
    out = {k: copy.deepcopy(v) for k, v in session.items() if not k.startswith("_")}
    out["chat_id"] = out.pop("dialog_id")
    out["messages"] = out.pop("message") or []
    return out


def view_v027(session: Json) -> Json:
    return base_view(session)


def _message_chunks(ref: Any) -> list[Json]:
    if not isinstance(ref, dict) or "chunks" not in ref:
        return []
    out = []
    for chunk in ref["chunks"]:
        out.append(
            {
                "id": chunk.get("chunk_id", chunk.get("id")),
                "content": chunk.get("content_with_weight", chunk.get("content")),
                "document_id": chunk.get("doc_id", chunk.get("document_id")),
                "document_name": chunk.get("docnm_kwd", chunk.get("document_name")),
                "dataset_id": chunk.get("kb_id", chunk.get("dataset_id")),
                "image_id": chunk.get("image_id", chunk.get("img_id")),
                "positions": chunk.get("positions", chunk.get("position_int")),
            }
        )
    return out


def view_v022_listed(session: Json) -> Json:
    """v0.22.1's session list: each non-user message gets the next reference's chunks."""
    out = base_view(session)
    refs = out.pop("reference") or []
    for message in out["messages"]:
        message.pop("prompt", None)
    ref_num = 0
    for message in out["messages"]:
        if ref_num >= len(refs):
            break
        if message.get("role") != "user":
            message["reference"] = _message_chunks(refs[ref_num])
            ref_num += 1
    return out


# ---------------------------------------------------------------- v0.25+
@endpoint
async def create_session(request: Request) -> Response:
    state = state_of(request)
    chat = owned_chat(state, request.path_params["chat_id"])
    req = await body_v027(request)
    name = req.get("name", "New session")
    if not isinstance(name, str) or not name.strip():
        raise data_error("`name` can not be empty")
    session = new_session(state, chat, name=name.strip()[:255], user_id=TENANT_ID)
    session["message"][0]["content"] = (chat.get("prompt_config") or {}).get("prologue", "")
    save_session(state, session)
    return get_json_result(view_v027(session))


@endpoint
async def list_sessions(request: Request) -> Response:
    state = state_of(request)
    chat = owned_chat(state, request.path_params["chat_id"])
    params = request.query_params
    page, size = page_args(params)
    orderby = params.get("orderby", "create_time")
    if orderby not in ("create_time", "update_time", "name"):
        return get_json_result(code=ARGUMENT_ERROR, message=f"invalid orderby field: {orderby}")
    desc = params.get("desc", "true").lower() != "false"
    rows = sessions_of(state, chat["id"])
    for key in ("id", "name", "user_id"):
        if params.get(key):
            rows = [s for s in rows if s.get(key) == params[key]]
    rows = sort_rows(rows, orderby, desc)
    start = (page - 1) * size
    return get_json_result([view_v027(s) for s in rows[start : start + size]])


@endpoint
async def get_session(request: Request) -> Response:
    state = state_of(request)
    chat = owned_chat(state, request.path_params["chat_id"])
    session = find_session(state, request.path_params["session_id"])
    if session is None:
        raise data_error("Session not found!")
    if session["dialog_id"] != chat["id"]:
        raise data_error("Session does not belong to this chat!")
    view = view_v027(session)
    view["avatar"] = chat.get("icon") or ""
    return get_json_result(view)


@endpoint
async def update_session(request: Request) -> Response:
    state = state_of(request)
    chat = owned_chat(state, request.path_params["chat_id"])
    req = dict(await body_v027(request))
    session = find_session(state, request.path_params["session_id"])
    if session is None or session["dialog_id"] != chat["id"]:
        raise data_error("Session not found!")
    if "message" in req or "messages" in req:
        raise data_error("`messages` cannot be changed")
    if "reference" in req:
        raise data_error("`reference` cannot be changed")
    name = req.get("name")
    if name is not None:
        if not isinstance(name, str) or not name.strip():
            raise data_error("`name` can not be empty")
        req["name"] = name.strip()[:255]
    with state.store.lock:
        updated = copy.deepcopy(session)
        for key, value in req.items():
            if key in ("name",):
                updated[key] = value
        save_session(state, updated)
    return get_json_result(view_v027(updated))


@endpoint
async def delete_sessions(request: Request) -> Response:
    state = state_of(request)
    chat = owned_chat(state, request.path_params["chat_id"])
    try:
        req = await body_v027(request)
    except ApiError as exc:
        if "BadRequest" not in exc.message:
            raise
        return get_json_result(
            code=ARGUMENT_ERROR,
            message="Malformed JSON syntax: Missing commas/brackets or invalid encoding",
        )
    if not req:
        return get_json_result({})
    ids = req.get("ids")
    if not ids:
        if req.get("delete_all") is not True:
            return get_json_result({})
        ids = [s["id"] for s in sessions_of(state, chat["id"])]
        if not ids:
            return get_json_result({})

    def delete_one(session_id: Any) -> str | None:
        session = find_session(state, session_id)
        if session is None or session["dialog_id"] != chat["id"]:
            return f"The chat doesn't own the session {session_id}"
        state.store.delete("session", session_id)
        return None

    return deleted_json("sessions", delete_each(ids, "session", delete_one), True)


def _owned_session(state: ServerState, request: Request) -> tuple[Json, Json]:
    chat = owned_chat(state, request.path_params["chat_id"])
    session = find_session(state, request.path_params["session_id"])
    if session is None or session["dialog_id"] != chat["id"]:
        raise data_error("Session not found!")
    return chat, copy.deepcopy(session)


@endpoint
async def delete_message(request: Request) -> Response:
    """Remove a question and its answer (they share the message id) and the answer's
    reference."""
    state = state_of(request)
    _, session = _owned_session(state, request)
    msg_id = request.path_params["msg_id"]
    messages = session.get("message") or []
    for i, message in enumerate(messages):
        if message.get("id", "") != msg_id:
            continue
        if i + 1 >= len(messages):
            raise server_error(IndexError("list index out of range"))
        if messages[i + 1].get("id") != msg_id:
            raise server_error(AssertionError())
        del messages[i : i + 2]
        ref_index = (i - 1) // 2
        references = session.get("reference") or []
        if -len(references) <= ref_index < len(references):
            references.pop(ref_index)
        else:
            raise server_error(IndexError("pop index out of range"))
        break
    with state.store.lock:
        state.store.put("session", session)
    return get_json_result(view_v027(session))


@endpoint
async def message_feedback(request: Request) -> Response:
    """Thumbs up/down on an assistant answer (``thumbup`` bool, optional ``feedback`` text)."""
    state = state_of(request)
    _, session = _owned_session(state, request)
    req = await body_v027(request)
    thumb = req.get("thumbup")
    if not isinstance(thumb, bool):
        raise data_error("thumbup must be a boolean")
    feedback = req.get("feedback", "")
    msg_id = request.path_params["msg_id"]
    for message in session.get("message") or []:
        if message.get("id", "") == msg_id and message.get("role", "") == "assistant":
            message["thumbup"] = thumb
            if thumb:
                message.pop("feedback", None)
            elif feedback:
                message["feedback"] = feedback
            break
    with state.store.lock:
        state.store.put("session", session)
    return get_json_result(view_v027(session))


# ---------------------------------------------------------------- v0.22.1
@endpoint
async def create_session_v022(request: Request) -> Response:
    state = state_of(request)
    req = as_dict(await body_v022(request))
    chat = live_chat(state, request.path_params["chat_id"])
    if chat is None:
        raise data_error("You do not own the assistant.")
    name = req.get("name", "New session")
    if not name:
        raise data_error("`name` can not be empty.")
    session = new_session(
        state, chat, name=name, user_id=req.get("user_id", ""), reference=[{}], save=False
    )
    session["id"] = new_id()
    save_session(state, session)
    view = base_view(session)
    view.pop("reference")
    return get_result(view)


@endpoint
async def update_session_v022(request: Request) -> Response:
    state = state_of(request)
    req = dict(as_dict(await body_v022(request)))
    chat_id = request.path_params["chat_id"]
    session = find_session(state, request.path_params["session_id"])
    if session is None or session["dialog_id"] != chat_id:
        raise data_error("Session does not exist")
    if live_chat(state, chat_id) is None:
        raise data_error("You do not own the session")
    if "message" in req or "messages" in req:
        raise data_error("`message` can not be change")
    if "reference" in req:
        raise data_error("`reference` can not be change")
    if "name" in req and not req.get("name"):
        raise data_error("`name` can not be empty.")
    with state.store.lock:
        updated = copy.deepcopy(session)
        for key in ("name", "user_id"):
            if key in req:
                updated[key] = req[key]
        save_session(state, updated)
    return get_result()


@endpoint
async def list_sessions_v022(request: Request) -> Response:
    state = state_of(request)
    chat_id = request.path_params["chat_id"]
    if live_chat(state, chat_id) is None:
        raise data_error(f"You don't own the assistant {chat_id}.")
    params = request.query_params
    try:
        page = int(params.get("page", 1))
        size = int(params.get("page_size", 30))
    except ValueError as exc:
        raise server_error(exc) from None
    orderby = params.get("orderby", "create_time")
    if orderby not in ("id", "dialog_id", "name", "user_id", "create_time", "update_time"):
        raise server_error(
            AttributeError(f"type object 'Conversation' has no attribute '{orderby}'")
        )
    desc = params.get("desc") not in ("False", "false")
    rows = sessions_of(state, chat_id)
    for key in ("id", "name", "user_id"):
        if params.get(key):
            rows = [s for s in rows if s.get(key) == params[key]]
    rows = sort_rows(rows, orderby, desc)
    start = (page - 1 if page > 0 else 0) * size
    return get_result([view_v022_listed(s) for s in rows[start : start + max(size, 0)]])


@endpoint
async def delete_sessions_v022(request: Request) -> Response:
    state = state_of(request)
    chat_id = request.path_params["chat_id"]
    if live_chat(state, chat_id) is None:
        raise data_error("You don't own the chat")
    req = await body_v022(request)
    ids = as_dict(req).get("ids") if req else None
    if not ids:  # v0.22.1: no ids means every session of the chat
        ids = [s["id"] for s in sessions_of(state, chat_id)]

    def delete_one(session_id: Any) -> str | None:
        session = find_session(state, session_id)
        if session is None or session["dialog_id"] != chat_id:
            return f"The chat doesn't own the session {session_id}"
        state.store.delete("session", session_id)
        return None

    return deleted_result(delete_each(ids, "session", delete_one))


def routes(state: ServerState) -> list[Route]:
    many = "/chats/{chat_id}/sessions"
    one = many + "/{session_id}"
    if state.old:
        return [
            Route(many, create_session_v022, methods=["POST"]),
            Route(many, list_sessions_v022, methods=["GET"]),
            Route(many, delete_sessions_v022, methods=["DELETE"]),
            Route(one, update_session_v022, methods=["PUT"]),
        ]
    return [
        Route(many, create_session, methods=["POST"]),
        Route(many, list_sessions, methods=["GET"]),
        Route(many, delete_sessions, methods=["DELETE"]),
        Route(one, get_session, methods=["GET"]),
        Route(one, update_session, methods=["PATCH", "PUT"]),
        Route(one + "/messages/{msg_id}", delete_message, methods=["DELETE"]),
        Route(one + "/messages/{msg_id}/feedback", message_feedback, methods=["PUT"]),
    ]
