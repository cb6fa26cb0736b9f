"""Agent sessions (RAGFlow's ``api_4_conversation`` rows) in both emulated versions.

v0.22.1 creates, lists (``messages``) and deletes them; v0.25+ also gets and deletes one,
records ``name``, ``exp_user_id`` and ``version_title``, and lists with ``total``. Both list the
answers' references inside the assistant messages.
"""

from __future__ import annotations

import copy
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from .._util import Json, new_id, stamp
from ._common import TENANT_ID, ServerState, endpoint, state_of
from ._wire import (
    as_dict,
    body_v022,
    body_v027,
    data_error,
    delete_each,
    deleted_result,
    get_json_result,
    get_result,
    server_error,
)
from .agents import accessible_agent, find_agent, load_canvas, versions_of


def session_row(session: Json) -> Json:
    return {k: copy.deepcopy(v) for k, v in session.items() if not k.startswith("_")}


def normalized_session(session: Json) -> Json:
    """``_normalize_agent_session``: ``agent_id``, references moved into the answers."""
    out = session_row(session)
    for message in out.get("message") or []:
        message.pop("prompt", None)
    out["agent_id"] = out.pop("dialog_id")
    references = out.pop("reference", None) or []
    if isinstance(references, dict):
        references = [references]
    answers = [m for i, m in enumerate(out.get("message") or []) if i and m.get("role") != "user"]
    for message, ref in zip(answers, references, strict=False):
        chunks = ref.get("chunks", []) if isinstance(ref, dict) else []
        if isinstance(chunks, dict):
            message["reference"] = [
                {**_ref_chunk(c), "citation_id": str(k)} for k, c in chunks.items()
            ]
        else:
            message["reference"] = [_ref_chunk(c) for c in chunks]
    return out


def _ref_chunk(chunk: Any) -> Json:
    if not isinstance(chunk, dict):
        return {
            "id": chunk,
            "content": str(chunk),
            "document_id": None,
            "document_name": None,
            "dataset_id": None,
            "image_id": None,
            "positions": None,
        }
    return {
        "id": chunk.get("chunk_id", chunk.get("id")),
        "content": chunk.get("content_with_weight", chunk.get("content")),
        "document_id": chunk.get("doc_id", chunk.get("document_id")),
        "document_name": chunk.get("docnm_kwd", chunk.get("document_name")),
        "dataset_id": chunk.get("kb_id", chunk.get("dataset_id")),
        "image_id": chunk.get("image_id", chunk.get("img_id")),
        "positions": chunk.get("positions", chunk.get("position_int")),
    }


def agent_sessions(state: ServerState, agent_id: str) -> list[Json]:
    return [s for s in state.store.all("agent_session") if s.get("dialog_id") == agent_id]


def new_agent_session(state: ServerState, agent: Json, *, user_id: str, name: str = "") -> Json:
    canvas = load_canvas(agent.get("dsl"))
    session: Json = {
        "id": new_id(),
        "dialog_id": agent["id"],
        "user_id": user_id,
        "message": [{"role": "assistant", "content": canvas.prologue()}],
        "source": "agent",
        "dsl": canvas.reset(),
        "reference": [],
    }
    if not state.old:
        session["name"] = name
        session["exp_user_id"] = user_id
        versions = versions_of(state, agent["id"])
        session["version_title"] = versions[0]["title"] if versions else None
    stamp(session, created=True)
    state.store.put("agent_session", session)
    return session


@endpoint
async def create_agent_session(request: Request) -> Response:
    state = state_of(request)
    if state.old:
        return await _create_session_v022(request)
    agent = accessible_agent(state, request.path_params["agent_id"])
    req = await body_v027(request)
    user_id = req.get("user_id") or request.query_params.get("user_id", TENANT_ID)
    session = new_agent_session(state, agent, user_id=str(user_id), name=str(req.get("name", "")))
    view = session_row(session)
    for key in ("create_time", "create_date", "update_time", "update_date"):
        view.pop(key, None)
    return get_result(normalized_session(view))


async def _create_session_v022(request: Request) -> Response:
    state = state_of(request)
    agent = find_agent(state, request.path_params["agent_id"])
    if agent is None:
        raise data_error("Agent not found.")
    user_id = request.query_params.get("user_id", TENANT_ID)
    session = new_agent_session(state, agent, user_id=user_id)
    view = {k: session[k] for k in ("id", "dialog_id", "user_id", "message", "source", "dsl")}
    view["agent_id"] = view.pop("dialog_id")
    return get_result(view)


@endpoint
async def list_agent_sessions(request: Request) -> Response:
    state = state_of(request)
    agent_id = request.path_params["agent_id"]
    params = request.query_params
    if state.old:
        if find_agent(state, agent_id) is None:
            raise data_error(f"You don't own the agent {agent_id}.")
        try:
            page, size = int(params.get("page", 1)), int(params.get("page_size", 30))
        except ValueError as exc:
            raise server_error(exc) from None
    else:
        accessible_agent(state, agent_id)
        from .chats import page_args

        page, size = page_args(params)
    from .chats import sort_rows

    rows = agent_sessions(state, agent_id)
    for key in ("id", "user_id"):
        if params.get(key):
            rows = [s for s in rows if s.get(key) == params[key]]
    keywords = (params.get("keywords") or "").lower()
    if keywords and not state.old:
        rows = [
            s
            for s in rows
            if keywords in repr(s.get("message")).lower()
            or keywords in s["id"]
            or keywords in str(s.get("name") or "").lower()
        ]
    desc = params.get("desc") not in ("False", "false")
    rows = sort_rows(rows, params.get("orderby", "update_time"), desc)
    total = len(rows)
    start = (page - 1 if page > 0 else 0) * size
    rows = rows[start : start + max(size, 0)]
    with_dsl = params.get("dsl") not in ("False", "false")
    items = []
    for session in rows:
        view = normalized_session(session)
        if state.old:
            view["messages"] = view.pop("message")
        if not with_dsl:
            view.pop("dsl", None)
        items.append(view)
    if state.old:
        return get_result(items)
    return JSONResponse({"code": 0, "message": "success", "data": items, "total": total})


@endpoint
async def get_agent_session(request: Request) -> Response:
    state = state_of(request)
    agent = accessible_agent(state, request.path_params["agent_id"])
    session = state.store.get("agent_session", request.path_params["session_id"])
    if session is None or session.get("dialog_id") != agent["id"]:
        raise data_error("Session not found!")
    return get_json_result(session_row(session))


@endpoint
async def delete_agent_session(request: Request) -> Response:
    state = state_of(request)
    agent = accessible_agent(state, request.path_params["agent_id"])
    session = state.store.get("agent_session", request.path_params["session_id"])
    if session is None or session.get("dialog_id") != agent["id"]:
        raise data_error("Session not found!")
    state.store.delete("agent_session", session["id"])
    return get_json_result(1)


@endpoint
async def delete_agent_sessions(request: Request) -> Response:
    state = state_of(request)
    agent_id = request.path_params["agent_id"]
    old = state.old
    if old:
        req = await body_v022(request)
        if find_agent(state, agent_id) is None:
            raise data_error(f"You don't own the agent {agent_id}")
    else:
        accessible_agent(state, agent_id)
        req = await body_v027(request)
        if find_agent(state, agent_id) is None:
            raise data_error(f"You don't own the agent {agent_id}")
    existing = agent_sessions(state, agent_id)
    if old and not existing:
        raise data_error(f"Agent {agent_id} has no sessions")
    if not old and not req:
        return get_result()
    ids = as_dict(req).get("ids") if req else None
    if not ids:
        if old or req.get("delete_all") is True:
            ids = [s["id"] for s in existing]
            if not ids:
                return get_result()
        else:
            return get_result()

    def delete_one(session_id: Any) -> str | None:
        session = (
            state.store.get("agent_session", session_id) if isinstance(session_id, str) else None
        )
        if session is None or session.get("dialog_id") != agent_id:
            return f"The agent doesn't own the session {session_id}"
        state.store.delete("agent_session", session_id)
        return None

    return deleted_result(delete_each(ids, "session", delete_one))
