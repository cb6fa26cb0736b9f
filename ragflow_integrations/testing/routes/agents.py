"""Agents (§3.12), reduced to "retrieve, then answer extractively".

The stand-in understands a small ``dsl`` shape and stores any other dict unchanged (dataset ids
are also found under ``kb_ids`` anywhere in a RAGFlow canvas DSL)::

    {"dataset_ids": ["<dataset id>", ...], "prologue": "Hi!", "top_n": 6,
     "similarity_threshold": 0.2, "vector_similarity_weight": 0.3, "empty_response": "..."}
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from .._util import (
    ApiError,
    Json,
    is_desc,
    json_result,
    new_id,
    paging,
    read_json,
    result,
    stamp,
)
from ..responder import count_tokens, pieces
from ._common import ServerState, endpoint, method_not_allowed, public_view, state_of
from ._views import owner_fields
from .completions import Answer, answer_question, sse, stream_response

DEFAULT_AGENT_PROLOGUE = "Hi! I'm your retrieval agent. What would you like to know?"


def agent_view(agent: Json, *, with_dsl: bool = True) -> Json:
    out = public_view(agent)
    if not with_dsl:
        out.pop("dsl", None)
    return out


def find_agent(state: ServerState, agent_id: str) -> Json:
    agent = state.store.get("agent", agent_id)
    if agent is None:
        raise ApiError(102, f"Can't find agent by ID: {agent_id}")
    return agent


def _envelope(state: ServerState, data: Any) -> Response:
    return result(data) if state.old else json_result(data)


@endpoint
async def create_agent(request: Request) -> Response:
    state = state_of(request)
    req = await read_json(request)
    title, dsl = req.get("title"), req.get("dsl")
    if not title or dsl is None:
        missing = [k for k in ("title", "dsl") if not req.get(k)]
        raise ApiError(101, f"required argument are missing: {', '.join(missing)}; ")
    if not isinstance(dsl, dict):
        raise ApiError(101, "`dsl` should be a JSON object.")
    if any(a["title"] == title for a in state.store.all("agent")):
        raise ApiError(102, f"{title} already exists.")
    agent: Json = {
        "id": new_id(),
        "title": str(title),
        "description": req.get("description"),
        "dsl": dsl,
        "avatar": req.get("avatar"),
        "canvas_type": req.get("canvas_type"),
        "canvas_category": req.get("canvas_category", "agent_canvas"),
        "type": "agent",
        "permission": "me",
        "release": bool(req.get("release", False)),
        "user_id": owner_fields()["tenant_id"],
        "last_publish_time": None,
    }
    stamp(agent, created=True)
    state.store.put("agent", agent)
    return _envelope(state, agent_view(agent))


@endpoint
async def list_agents(request: Request) -> Response:
    state = state_of(request)
    params = request.query_params
    page, size = paging(params, cap=not state.old)
    orderby = params.get("orderby", "create_time")
    agents = state.store.all("agent")
    if state.old:  # ≤ v0.24 filtered by id/title; v0.25+ reads neither (only keywords)
        for key in ("id", "title"):
            if params.get(key):
                agents = [a for a in agents if a.get(key) == params[key]]
        if (params.get("id") or params.get("title")) and not agents:
            raise ApiError(102, "The agent doesn't exist.")
    keywords = params.get("keywords")
    if keywords:
        agents = [a for a in agents if keywords.lower() in a["title"].lower()]
    agents.sort(
        key=lambda a: a.get(orderby) or 0 if orderby != "title" else a["title"],
        reverse=is_desc(params.get("desc")),
    )
    start = (page - 1) * size
    items = [agent_view(a) for a in agents[start : start + size]]
    if state.old:
        return result(items)
    return json_result({"canvas": items, "total": len(agents)})


@endpoint
async def get_agent(request: Request) -> Response:
    state = state_of(request)
    if state.old:
        return method_not_allowed()
    return json_result(agent_view(find_agent(state, request.path_params["agent_id"])))


@endpoint
async def update_agent(request: Request) -> Response:
    state = state_of(request)
    agent = find_agent(state, request.path_params["agent_id"])
    req = await read_json(request)
    if "dsl" in req and not isinstance(req["dsl"], dict):
        raise ApiError(101, "`dsl` should be a JSON object.")
    if "title" in req and any(
        a["title"] == req["title"] and a["id"] != agent["id"] for a in state.store.all("agent")
    ):
        raise ApiError(102, f"{req['title']} already exists.")
    for key in ("title", "dsl", "description", "avatar", "canvas_type", "canvas_category"):
        if key in req:
            agent[key] = req[key]
    stamp(agent, created=False)
    state.store.put("agent", agent)
    if state.old:
        return result()
    return json_result({"update_time": agent["update_time"]})


@endpoint
async def delete_agent(request: Request) -> Response:
    state = state_of(request)
    agent = find_agent(state, request.path_params["agent_id"])
    with state.store.lock:
        for session in state.store.all("agent_session", agent["id"]):
            state.store.delete("agent_session", session["id"])
        state.store.delete("agent", agent["id"])
    return _envelope(state, True)


# ---------------------------------------------------------------- sessions
def new_agent_session(state: ServerState, agent: Json, name: str = "", user_id: str = "") -> Json:
    dsl = agent.get("dsl") or {}
    session: Json = {
        "id": new_id(),
        "agent_id": agent["id"],
        "name": name or agent["title"],
        "user_id": user_id,
        "exp_user_id": "",
        "source": "agent",
        "message": [
            {"role": "assistant", "content": dsl.get("prologue") or DEFAULT_AGENT_PROLOGUE}
        ],
        "reference": [],
        "dsl": dsl,
        "version_title": None,
    }
    stamp(session, created=True)
    state.store.put("agent_session", session)
    return session


@endpoint
async def create_agent_session(request: Request) -> Response:
    state = state_of(request)
    agent = find_agent(state, request.path_params["agent_id"])
    req = await read_json(request)
    user_id = str(req.get("user_id") or request.query_params.get("user_id") or "")
    session = new_agent_session(state, agent, str(req.get("name") or ""), user_id)
    return result(public_view(session))


@endpoint
async def list_agent_sessions(request: Request) -> Response:
    state = state_of(request)
    agent = find_agent(state, request.path_params["agent_id"])
    params = request.query_params
    page, size = paging(params, cap=not state.old)
    sessions = state.store.all("agent_session", agent["id"])
    for key in ("id", "user_id"):
        if params.get(key):
            sessions = [s for s in sessions if s.get(key) == params[key]]
    orderby = params.get("orderby", "update_time")
    sessions.sort(key=lambda s: s.get(orderby) or 0, reverse=is_desc(params.get("desc")))
    with_dsl = is_desc(params.get("dsl"), default=True)
    start = (page - 1) * size
    items = []
    for session in sessions[start : start + size]:
        view = public_view(session)
        if not with_dsl:
            view.pop("dsl", None)
        items.append(view)
    return JSONResponse({"code": 0, "message": "success", "data": items, "total": len(sessions)})


@endpoint
async def get_agent_session(request: Request) -> Response:
    state = state_of(request)
    agent = find_agent(state, request.path_params["agent_id"])
    session = state.store.get("agent_session", request.path_params["session_id"])
    if session is None or session["agent_id"] != agent["id"]:
        raise ApiError(102, "Session not found!")
    return json_result(public_view(session))


@endpoint
async def delete_agent_session(request: Request) -> Response:
    state = state_of(request)
    agent = find_agent(state, request.path_params["agent_id"])
    session = state.store.get("agent_session", request.path_params["session_id"])
    if session is None or session["agent_id"] != agent["id"]:
        raise ApiError(102, "Session not found!")
    state.store.delete("agent_session", session["id"])
    return json_result(True)


@endpoint
async def delete_agent_sessions(request: Request) -> Response:
    state = state_of(request)
    agent = find_agent(state, request.path_params["agent_id"])
    req = await read_json(request)
    ids = req.get("ids")
    sessions = {s["id"] for s in state.store.all("agent_session", agent["id"])}
    if (state.old and ids is None) or (not state.old and req.get("delete_all")):
        targets = list(sessions)
    elif not ids:
        return result()
    else:
        missing = [i for i in ids if i not in sessions]
        if missing:
            raise ApiError(102, f"The agent doesn't own the session {missing[0]}")
        targets = list(dict.fromkeys(ids))
    for sid in targets:
        state.store.delete("agent_session", sid)
    return result()


# ---------------------------------------------------------------- running
def run_agent(state: ServerState, agent: Json, question: str) -> Answer:
    dsl = agent.get("dsl") or {}
    return answer_question(
        state,
        question=question,
        dataset_ids=dsl_dataset_ids(dsl),
        top_n=int(dsl.get("top_n", 6)),
        top_k=int(dsl.get("top_k", 1024)),
        threshold=float(dsl.get("similarity_threshold", 0.2)),
        weight=float(dsl.get("vector_similarity_weight", 0.3)),
        empty_response=str(dsl.get("empty_response") or ""),
        quote=True,
    )


def dsl_dataset_ids(dsl: Any) -> list[str]:
    """Dataset ids named anywhere in the DSL (``dataset_ids`` / ``kb_ids``), so that a RAGFlow
    canvas whose Retrieval component lists ``kb_ids`` also works."""
    found: dict[str, None] = {}

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                if key in ("dataset_ids", "kb_ids") and isinstance(value, list):
                    found.update((str(v), None) for v in value if isinstance(v, str))
                else:
                    walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(dsl)
    return list(found)


def _agent_reference(answer: Answer) -> Json:
    ref = answer.reference or {"chunks": [], "doc_aggs": []}
    return {
        "chunks": {str(i): c for i, c in enumerate(ref.get("chunks", []))},
        "doc_aggs": {a["doc_name"]: a for a in ref.get("doc_aggs", [])},
    }


async def agent_completion(
    request: Request, path_agent_id: str | None, *, body: Json | None = None
) -> Response:
    state = state_of(request)
    req = body if body is not None else await read_json(request)
    agent_id = req.get("agent_id") or path_agent_id
    if not agent_id:
        raise ApiError(101, "`agent_id` is required.")
    agent = find_agent(state, str(agent_id))
    openai_mode = bool(req.get("openai-compatible"))
    if openai_mode:
        messages = [m for m in req.get("messages") or [] if isinstance(m, dict)]
        users = [m for m in messages if m.get("role") == "user"]
        question = str(users[-1].get("content") or "") if users else ""
    else:
        question = str(
            req.get("query") if req.get("query") is not None else req.get("question") or ""
        )
    stream = req.get("stream", False) is True or str(req.get("stream")).lower() == "true"
    session_id = req.get("session_id")
    existing = bool(session_id)
    if session_id:
        session = state.store.get("agent_session", session_id)
        if session is None:
            raise ApiError(102, "Session not found!")
        if session["agent_id"] != agent["id"]:
            raise ApiError(103, "You don't own the session.")
    else:
        session = new_agent_session(state, agent, user_id=str(req.get("user_id") or ""))
    started = time.time()
    answer = run_agent(state, agent, question) if question.strip() else Answer("")
    message_id = new_id()
    reference = _agent_reference(answer)
    with state.store.lock:
        if question.strip():
            session["message"].append({"role": "user", "content": question, "id": message_id})
            session["message"].append(
                {
                    "role": "assistant",
                    "content": answer.text,
                    "id": message_id,
                    "reference": list((answer.reference or {}).get("chunks", [])),
                }
            )
            session["reference"].append(answer.reference or {"chunks": [], "doc_aggs": []})
        stamp(session, created=False)
        state.store.put("agent_session", session)
    usage = {
        "prompt_tokens": count_tokens(question),
        "completion_tokens": count_tokens(answer.text),
        "total_tokens": count_tokens(question) + count_tokens(answer.text),
        "calls": 0,
    }
    task_id = uuid.uuid4().hex

    def event(name: str, data: Json) -> Json:
        return {
            "event": name,
            "message_id": message_id,
            "created_at": int(time.time()),
            "task_id": task_id,
            "session_id": session["id"],
            "data": data,
        }

    finished = event(
        "workflow_finished",
        {
            "inputs": req.get("inputs") or {},
            "outputs": {"content": answer.text, "reference": reference},
            "content": answer.text,
            "reference": reference,
            "usage": usage,
            "elapsed_time": round(time.time() - started, 4),
            "created_at": started,
        },
    )
    message_end = event(
        "message_end", {"reference": reference, "content": answer.text, "usage": usage}
    )
    if openai_mode:
        return _openai_agent(agent, answer, reference, usage, stream, session["id"])
    if not question.strip():
        empty: Json = {"session_id": session["id"], "data": {}}
        if not stream:
            return result({"session_id": session["id"]})

        async def nothing() -> AsyncIterator[bytes]:
            yield sse(empty)
            yield sse("[DONE]")

        return stream_response(nothing())
    if not stream:
        return result(message_end if existing else finished)

    async def events() -> AsyncIterator[bytes]:
        yield sse(event("workflow_started", {"inputs": req.get("inputs") or {}}))
        yield sse(
            event("node_started", {"component_id": "Retrieval:0", "component_name": "Retrieval"})
        )
        yield sse(
            event(
                "node_finished",
                {
                    "component_id": "Retrieval:0",
                    "inputs": {},
                    "outputs": {"chunks": len(answer.hits)},
                    "error": None,
                    "elapsed_time": 0.0,
                },
            )
        )
        for piece in pieces(answer.text):
            yield sse(event("message", {"content": piece}))
            await asyncio.sleep(0)
        yield sse(message_end)
        yield sse(finished)
        yield sse("[DONE]")

    return stream_response(events())


def _openai_agent(
    agent: Json, answer: Answer, reference: Json, usage: Json, stream: bool, session_id: str
) -> Response:
    ident, created = f"chatcmpl-{agent['id']}", int(time.time())
    if not stream:
        return JSONResponse(
            {
                "id": ident,
                "object": "chat.completion",
                "created": created,
                "model": "model",
                "usage": {k: v for k, v in usage.items() if k != "calls"},
                "choices": [
                    {
                        "index": 0,
                        "finish_reason": "stop",
                        "logprobs": None,
                        "message": {
                            "role": "assistant",
                            "content": answer.text,
                            "reference": reference,
                        },
                    }
                ],
                "session_id": session_id,
            }
        )

    def chunk(delta: Json) -> bytes:
        return sse(
            {
                "id": ident,
                "object": "chat.completion.chunk",
                "created": created,
                "model": "model",
                "choices": [{"index": 0, "finish_reason": None, "logprobs": None, "delta": delta}],
            },
            space=True,
        )

    async def events() -> AsyncIterator[bytes]:
        for piece in pieces(answer.text):
            yield chunk({"role": "assistant", "content": piece})
            await asyncio.sleep(0)
        yield chunk({"role": "assistant", "content": "", "reference": reference})
        yield sse("[DONE]", space=True)

    return stream_response(events())


@endpoint
async def agents_chat_completions(request: Request) -> Response:
    return await agent_completion(request, None)


@endpoint
async def agent_completions_alias(request: Request) -> Response:
    return await agent_completion(request, request.path_params["agent_id"])


@endpoint
async def agents_openai_alias(request: Request) -> Response:
    """Deprecated ``/agents_openai/{agent_id}/chat/completions``: the OpenAI-compatible mode."""
    req = await read_json(request)
    body = {**req, "openai-compatible": True}
    body.setdefault("agent_id", request.path_params["agent_id"])
    return await agent_completion(request, None, body=body)


def routes(state: ServerState) -> list[Route]:
    one = "/agents/{agent_id}"
    out: list[Route] = []
    if not state.old:  # before the alias, whose {agent_id} would swallow "chat"
        out.append(Route("/agents/chat/completions", agents_chat_completions, methods=["POST"]))
    out += [
        Route("/agents", create_agent, methods=["POST"]),
        Route("/agents", list_agents, methods=["GET"]),
        Route(one, update_agent, methods=["PUT"]),
        Route(one, delete_agent, methods=["DELETE"]),
        Route(one, get_agent, methods=["GET"]),
        Route(one + "/sessions", create_agent_session, methods=["POST"]),
        Route(one + "/sessions", list_agent_sessions, methods=["GET"]),
        Route(one + "/sessions", delete_agent_sessions, methods=["DELETE"]),
        Route(one + "/completions", agent_completions_alias, methods=["POST"]),
    ]
    if not state.old:
        out += [
            Route(one + "/sessions/{session_id}", get_agent_session, methods=["GET"]),
            Route(one + "/sessions/{session_id}", delete_agent_session, methods=["DELETE"]),
            Route(
                "/agents_openai/{agent_id}/chat/completions",
                agents_openai_alias,
                methods=["POST"],
            ),
        ]
    return out
