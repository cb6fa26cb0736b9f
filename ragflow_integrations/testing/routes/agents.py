"""Agents (§3.12): the canvas records, their versions and their sessions, per emulated version.

An agent is stored as RAGFlow's ``user_canvas`` row; its ``dsl`` is a canvas (see ``canvas``).
v0.22.1 answers create/update/delete with ``data: true``, filters lists by ``id``/``title`` and
has no GET of one agent or session. v0.25+ returns the agent, lists with ``keywords`` only and
adds versions and GET/DELETE of one session. Runs live in ``agent_runs``.
"""

from __future__ import annotations

import copy
import time
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from .._util import ApiError, Json, new_id, stamp
from ..canvas import LOAD_ERRORS, Canvas
from ._common import NICKNAME, TENANT_ID, ServerState, endpoint, state_of
from ._wire import (
    ARGUMENT_ERROR,
    OPERATING_ERROR,
    as_dict,
    body_v022,
    body_v027,
    data_error,
    get_json_result,
    get_result,
    json_error,
    server_error,
)

AGENT_CATEGORY = "agent_canvas"
NO_ACCESS = "Make sure you have permission to access the agent."


def find_agent(state: ServerState, agent_id: Any) -> Json | None:
    return state.store.get("agent", agent_id) if isinstance(agent_id, str) else None


def accessible_agent(state: ServerState, agent_id: Any) -> Json:
    """``_require_canvas_access``: code 103 for an agent the caller cannot reach."""
    agent = find_agent(state, agent_id)
    if agent is None:
        raise json_error(NO_ACCESS, OPERATING_ERROR, data=False)
    return agent


def load_canvas(dsl: Any) -> Canvas:
    """RAGFlow's ``Canvas(dsl)``: a DSL that is not a canvas fails with code 100."""
    try:
        return Canvas(dsl)
    except LOAD_ERRORS as exc:
        raise server_error(exc) from None


def agents_of(state: ServerState) -> list[Json]:
    return [a for a in state.store.all("agent") if a.get("canvas_category") == AGENT_CATEGORY]


def title_taken(state: ServerState, title: str, *, other_than: str | None = None) -> bool:
    return any(
        str(a.get("title") or "").lower() == title.lower() and a["id"] != other_than
        for a in agents_of(state)
    )


def agent_detail(agent: Json) -> Json:
    """``get_by_canvas_id``: the agent with its DSL and the owner's nickname (v0.25+)."""
    keys = (
        "id",
        "avatar",
        "title",
        "dsl",
        "description",
        "permission",
        "update_time",
        "user_id",
        "create_time",
        "create_date",
        "update_date",
        "canvas_category",
    )
    out = {k: copy.deepcopy(agent.get(k)) for k in keys}
    out["nickname"], out["tenant_avatar"] = NICKNAME, None
    return out


def agent_listed(agent: Json) -> Json:
    keys = ("id", "avatar", "title", "description", "permission", "update_time")
    out = {k: copy.deepcopy(agent.get(k)) for k in keys}
    out["tenant_id"] = agent.get("user_id")
    out["nickname"], out["tenant_avatar"] = NICKNAME, None
    for key in ("canvas_type", "canvas_category", "tags"):
        out[key] = agent.get(key)
    out["type"] = "agent"
    return out


def agent_row_v022(agent: Json) -> Json:
    keys = (
        "id",
        "avatar",
        "user_id",
        "title",
        "permission",
        "description",
        "canvas_type",
        "canvas_category",
        "dsl",
        "create_time",
        "create_date",
        "update_time",
        "update_date",
    )
    return {k: copy.deepcopy(agent.get(k)) for k in keys}


def save_version(state: ServerState, agent: Json, *, release: bool | None) -> None:
    """``save_or_replace_latest``: a new snapshot when the DSL changed, else refresh the last."""
    versions = versions_of(state, agent["id"])
    latest = versions[0] if versions else None
    if (
        latest is not None
        and latest.get("dsl") == agent.get("dsl")
        and not (latest.get("release") and not release)
    ):
        latest = copy.deepcopy(latest)
        if release is not None:
            latest["release"] = release
        stamp(latest, created=False)
        state.store.put("agent_version", latest)
        return
    title = time.strftime("%Y-%m-%d %H:%M:%S")
    version: Json = {
        "id": new_id(),
        "user_canvas_id": agent["id"],
        "title": f"{NICKNAME}_{agent.get('title') or 'agent'}_{title}",
        "description": None,
        "release": bool(release),
        "dsl": copy.deepcopy(agent.get("dsl")),
    }
    stamp(version, created=True)
    state.store.put("agent_version", version)


def versions_of(state: ServerState, agent_id: str) -> list[Json]:
    rows = [v for v in state.store.all("agent_version") if v.get("user_canvas_id") == agent_id]
    return sorted(rows, key=lambda v: v.get("create_time") or 0, reverse=True)


# ---------------------------------------------------------------- v0.25+
@endpoint
async def create_agent(request: Request) -> Response:
    state = state_of(request)
    req = {k: v for k, v in (await body_v027(request)).items() if v is not None}
    req["canvas_type"] = req.get("canvas_type", "")
    req["canvas_category"] = req.get("canvas_category") or AGENT_CATEGORY
    req["release"] = bool(req.get("release", ""))
    if req.get("dsl") is None:
        return get_json_result(False, code=ARGUMENT_ERROR, message="No DSL data in request.")
    if not isinstance(req["dsl"], dict):
        return get_json_result(False, code=ARGUMENT_ERROR, message="DSL must be a JSON object.")
    if req.get("title") is None:
        return get_json_result(False, code=ARGUMENT_ERROR, message="No title in request.")
    title = str(req["title"]).strip()
    if title_taken(state, title):
        raise data_error(f"{title} already exists.")
    agent = new_agent(req, title)
    state.store.put("agent", agent)
    save_version(state, agent, release=agent["release"])
    return get_json_result(agent_detail(agent))


def new_agent(req: Json, title: str) -> Json:
    agent: Json = {
        "id": new_id(),
        "avatar": req.get("avatar"),
        "user_id": TENANT_ID,
        "title": title,
        "permission": req.get("permission", "me"),
        "release": bool(req.get("release", False)),
        "description": req.get("description"),
        "canvas_type": req.get("canvas_type"),
        "canvas_category": req.get("canvas_category") or AGENT_CATEGORY,
        "tags": req.get("tags", ""),
        "dsl": copy.deepcopy(req["dsl"]),
    }
    stamp(agent, created=True)
    return agent


@endpoint
async def list_agents(request: Request) -> Response:
    state = state_of(request)
    params = request.query_params
    from .chats import page_args, sort_rows

    owners = [o for o in params.get("owner_ids", "").strip().split(",") if o]
    if len(owners) > 100:
        return get_result(code=ARGUMENT_ERROR, message="owner_ids must contain at most 100 IDs")
    page, size = page_args(params)
    if owners and set(owners) - {TENANT_ID}:
        return get_json_result(
            False, code=OPERATING_ERROR, message="Only authorized owner_ids can be queried."
        )
    keywords = params.get("keywords", "").lower()
    categories = [c for c in params.get("canvas_category", "").strip().split(",") if c]
    rows = [
        a for a in state.store.all("agent") if not categories or a["canvas_category"] in categories
    ]
    if keywords:
        rows = [
            a
            for a in rows
            if keywords in str(a.get("title") or "").lower()
            or keywords in str(a.get("tags") or "").lower()
        ]
    if params.get("canvas_type"):
        rows = [a for a in rows if a.get("canvas_type") == params["canvas_type"]]
    desc = params.get("desc", "true").lower() != "false"
    orderby = params.get("orderby", "create_time")
    merged = not categories and not params.get("canvas_type") and not params.get("tags")
    rows = sort_rows(rows, "update_time" if merged else orderby, desc)
    start = (page - 1) * size
    items = [agent_listed(a) for a in rows[start : start + size]]
    return get_json_result({"canvas": items, "total": len(rows)})


@endpoint
async def get_agent(request: Request) -> Response:
    state = state_of(request)
    agent = find_agent(state, request.path_params["agent_id"])
    if agent is None:
        raise data_error("canvas not found.")
    detail = agent_detail(agent)
    released = [v for v in versions_of(state, agent["id"]) if v.get("release")]
    detail["last_publish_time"] = released[0]["update_time"] if released else None
    return get_json_result(detail)


@endpoint
async def update_agent(request: Request) -> Response:
    state = state_of(request)
    agent = accessible_agent(state, request.path_params["agent_id"])
    req = {k: v for k, v in (await body_v027(request)).items() if v is not None}
    req["canvas_type"] = req.get("canvas_type", "")
    req["release"] = bool(req.get("release", ""))
    if req.get("dsl") is not None:
        if not isinstance(req["dsl"], dict):
            return get_json_result(False, code=ARGUMENT_ERROR, message="DSL must be a JSON object.")
        try:
            components = req["dsl"]["components"]
            for component in components.values():
                component["obj"]["component_name"]
        except (KeyError, TypeError, AttributeError) as exc:
            raise server_error(exc) from None
    if req.get("title") is not None:
        req["title"] = str(req["title"]).strip()
        if title_taken(state, req["title"], other_than=agent["id"]):
            raise data_error(f"{req['title']} already exists.")
    updated = copy.deepcopy(agent)
    for key in (
        "title",
        "dsl",
        "description",
        "avatar",
        "canvas_type",
        "canvas_category",
        "permission",
        "release",
        "tags",
    ):
        if key in req:
            updated[key] = copy.deepcopy(req[key])
    stamp(updated, created=False)
    state.store.put("agent", updated)
    if req.get("dsl") is not None:
        save_version(state, updated, release=req.get("release"))
    return get_json_result({"update_time": updated["update_time"]})


@endpoint
async def delete_agent(request: Request) -> Response:
    state = state_of(request)
    agent = find_agent(state, request.path_params["agent_id"])
    if agent is None:
        raise json_error(
            "Only the owner of the agent is authorized for this operation.",
            OPERATING_ERROR,
            data=False,
        )
    state.store.delete("agent", agent["id"])
    return get_json_result(True)


@endpoint
async def list_versions(request: Request) -> Response:
    state = state_of(request)
    agent = accessible_agent(state, request.path_params["agent_id"])
    keys = (
        "id",
        "create_time",
        "title",
        "create_date",
        "update_date",
        "user_canvas_id",
        "update_time",
        "release",
    )
    rows = sorted(versions_of(state, agent["id"]), key=lambda v: -(v.get("update_time") or 0))
    return get_json_result([{k: v.get(k) for k in keys} for v in rows])


@endpoint
async def get_version(request: Request) -> Response:
    state = state_of(request)
    agent = accessible_agent(state, request.path_params["agent_id"])
    version = state.store.get("agent_version", request.path_params["version_id"])
    if version is None or version.get("user_canvas_id") != agent["id"]:
        raise data_error("Version not found.")
    return get_json_result(copy.deepcopy(version))


# ---------------------------------------------------------------- v0.22.1 CRUD
@endpoint
async def create_agent_v022(request: Request) -> Response:
    state = state_of(request)
    req = dict(as_dict(await body_v022(request)))
    if req.get("dsl") is None:
        return get_json_result(False, code=ARGUMENT_ERROR, message="No DSL data in request.")
    if req.get("title") is None:
        return get_json_result(False, code=ARGUMENT_ERROR, message="No title in request.")
    title = str(req["title"]).strip()
    if any(str(a.get("title") or "").lower() == title.lower() for a in state.store.all("agent")):
        raise data_error(f"Agent with title {title} already exists.")
    agent = new_agent(req, title)
    for key in ("release", "tags"):
        agent.pop(key, None)
    state.store.put("agent", agent)
    save_version(state, agent, release=None)
    return get_json_result(True)


@endpoint
async def update_agent_v022(request: Request) -> Response:
    state = state_of(request)
    req = {k: v for k, v in as_dict(await body_v022(request)).items() if v is not None}
    agent = find_agent(state, request.path_params["agent_id"])
    if agent is None:
        raise json_error(
            "Only owner of canvas authorized for this operation.", OPERATING_ERROR, data=False
        )
    if req.get("title") is not None:
        req["title"] = str(req["title"]).strip()
    if req.get("dsl") is not None and "title" not in req:
        raise server_error(KeyError("title"))  # v0.22.1 names the version after req["title"]
    updated = copy.deepcopy(agent)
    for key in (
        "title",
        "dsl",
        "description",
        "avatar",
        "canvas_type",
        "canvas_category",
        "permission",
    ):
        if key in req:
            updated[key] = copy.deepcopy(req[key])
    stamp(updated, created=False)
    state.store.put("agent", updated)
    if req.get("dsl") is not None:
        save_version(state, updated, release=None)
    return get_json_result(True)


@endpoint
async def delete_agent_v022(request: Request) -> Response:
    state = state_of(request)
    agent = find_agent(state, request.path_params["agent_id"])
    if agent is None:
        raise json_error(
            "Only owner of canvas authorized for this operation.", OPERATING_ERROR, data=False
        )
    state.store.delete("agent", agent["id"])
    return get_json_result(True)


@endpoint
async def list_agents_v022(request: Request) -> Response:
    state = state_of(request)
    params = request.query_params
    agent_id, title = params.get("id"), params.get("title")
    rows = agents_of(state)
    if agent_id:
        rows = [a for a in rows if a["id"] == agent_id]
    if title:
        rows = [a for a in rows if str(a.get("title") or "").lower() == title.lower()]
    if (agent_id or title) and not rows:
        raise data_error("The agent doesn't exist.")
    try:
        page, size = int(params.get("page", 1)), int(params.get("page_size", 30))
    except ValueError as exc:
        raise server_error(exc) from None
    orderby = params.get("orderby", "update_time")
    desc = params.get("desc") not in ("False", "false")
    from .chats import sort_rows

    rows = sort_rows(rows, orderby, desc)
    start = (page - 1 if page > 0 else 0) * size
    return get_result([agent_row_v022(a) for a in rows[start : start + max(size, 0)]])


def routes(state: ServerState) -> list[Route]:
    from . import agent_runs
    from .agent_sessions import (
        create_agent_session,
        delete_agent_session,
        delete_agent_sessions,
        get_agent_session,
        list_agent_sessions,
    )

    one = "/agents/{agent_id}"
    sessions = one + "/sessions"
    if state.old:
        return [
            Route("/agents", list_agents_v022, methods=["GET"]),
            Route("/agents", create_agent_v022, methods=["POST"]),
            Route(one, update_agent_v022, methods=["PUT"]),
            Route(one, delete_agent_v022, methods=["DELETE"]),
            Route(sessions, create_agent_session, methods=["POST"]),
            Route(sessions, list_agent_sessions, methods=["GET"]),
            Route(sessions, delete_agent_sessions, methods=["DELETE"]),
            *agent_runs.routes(state),
        ]
    return [
        *agent_runs.routes(state),  # before /agents/{agent_id}: /agents/chat/completions
        Route("/agents", list_agents, methods=["GET"]),
        Route("/agents", create_agent, methods=["POST"]),
        Route(one, get_agent, methods=["GET"]),
        Route(one, update_agent, methods=["PUT"]),
        Route(one, delete_agent, methods=["DELETE"]),
        Route(one + "/versions", list_versions, methods=["GET"]),
        Route(one + "/versions/{version_id}", get_version, methods=["GET"]),
        Route(sessions, list_agent_sessions, methods=["GET"]),
        Route(sessions, create_agent_session, methods=["POST"]),
        Route(sessions, delete_agent_sessions, methods=["DELETE"]),
        Route(sessions + "/{session_id}", get_agent_session, methods=["GET"]),
        Route(sessions + "/{session_id}", delete_agent_session, methods=["DELETE"]),
    ]


__all__ = ["ApiError", "routes"]
