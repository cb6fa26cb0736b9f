"""Agent runs: native completions (events) and the OpenAI-compatible mode, per emulated version.

- v0.22.1: ``POST /agents/{id}/completions`` (streams by default, only ``message`` and
  ``message_end`` events) and ``/agents_openai/{id}/chat/completions``.
- v0.25+: ``POST /agents/chat/completions`` (``agent_id`` in the body; ``openai-compatible``
  switches the wire format) and the deprecated path aliases. Without a session every canvas
  event is streamed and a workflow session is recorded; with an agent session only the
  message, message_end and node_finished events (and the run's usage) are.
"""

from __future__ import annotations

import asyncio
import copy
import json
import time
import uuid
from collections.abc import AsyncIterator
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from .._util import ApiError, Json, new_id, read_any_json, read_request_json, stamp
from ..canvas import LOAD_ERRORS, Canvas, RunResult
from ..responder import count_tokens, pieces
from ._answer import chunk_format
from ._common import TENANT_ID, ServerState, endpoint, is_authorised, public, state_of
from ._wire import (
    ARGUMENT_ERROR,
    OPERATING_ERROR,
    as_dict,
    data_error,
    get_json_result,
    get_result,
    json_error,
    server_error,
)
from .agents import NO_ACCESS, find_agent, load_canvas, versions_of
from .completions import sse, stream_response
from .retrieval import run_retrieval


def retriever(state: ServerState) -> Any:
    def retrieve(question: str, kb_ids: list[str], top_n: int) -> list[Json]:
        kb_ids = [k for k in kb_ids if state.store.get("dataset", k) is not None]
        if not kb_ids:
            return []
        hits = run_retrieval(
            state,
            question=question,
            dataset_ids=kb_ids,
            document_ids=None,
            top_k=1024,
            threshold=0.2,
            weight=0.3,
            metadata_condition=None,
        )
        return [chunk_format(state, hit) for hit in hits[: max(top_n, 0)]]

    return retrieve


def run_events(canvas: Canvas, result: RunResult, inputs: Any, session_id: str) -> list[Json]:
    """The events of one canvas run, as ``Canvas.run`` decorates them."""
    message_id, task_id, created_at = new_id(), session_id, int(time.time())
    started = time.perf_counter()

    def event(name: str, data: Json) -> Json:
        return {
            "event": name,
            "message_id": message_id,
            "created_at": created_at,
            "task_id": task_id,
            "data": data,
            "session_id": session_id,
        }

    reference = result.reference()
    out = [event("workflow_started", {"inputs": inputs})]
    for cpn_id in result.path:
        name = canvas.name_of(cpn_id)
        out.append(
            event(
                "node_started",
                {
                    "inputs": None,
                    "created_at": int(time.time()),
                    "component_id": cpn_id,
                    "component_name": name,
                    "component_type": name,
                    "thoughts": "",
                },
            )
        )
        outputs = copy.deepcopy(result.outputs.get(cpn_id, {}))
        if name.lower() == "message":
            # RAGFlow streams a Message component's text as it is generated: word groups here
            content = str(outputs.get("content", ""))
            out.extend(
                event("message", {"content": piece}) for piece in list(pieces(content)) or [""]
            )
            end: Json = {}
            if reference["chunks"] or reference["doc_aggs"]:
                end["reference"] = copy.deepcopy(reference)
            out.append(event("message_end", end))
        out.append(
            event(
                "node_finished",
                {
                    "inputs": {},
                    "outputs": outputs,
                    "component_id": cpn_id,
                    "component_name": name,
                    "component_type": name,
                    "error": None,
                    "elapsed_time": time.perf_counter() - started,
                    "created_at": started,
                },
            )
        )
    last = result.outputs.get(result.path[-1], {}) if result.path else {}
    out.append(
        event(
            "workflow_finished",
            {
                "inputs": inputs,
                "outputs": copy.deepcopy(last),
                "elapsed_time": time.perf_counter() - started,
                "created_at": started,
                "usage": _usage(canvas, result),
            },
        )
    )
    return out


def _usage(canvas: Canvas, result: RunResult) -> Json:
    """The run's token usage, as RAGFlow sums its LLM calls: here the stand-in's extractive
    answers (the retrieved text each LLM/Agent component read in, the text it wrote)."""
    llms = [c for c in result.path if canvas.name_of(c).lower() in ("llm", "agent")]
    read = sum(count_tokens(str(chunk.get("content", ""))) for chunk in result.chunks)
    prompt = read * len(llms)
    completion = count_tokens(result.content) * len(llms)
    return {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt + completion,
        "calls": len(llms),
    }


def record_turn(
    state: ServerState, session: Json, query: str, result: RunResult, *, old: bool
) -> None:
    """Append the question and the answer to an agent session."""
    turn_id = str(uuid.uuid4())
    session = copy.deepcopy(session)
    session.setdefault("message", []).append({"role": "user", "content": query, "id": turn_id})
    session["message"].append(
        {"role": "assistant", "content": result.content, "created_at": time.time(), "id": turn_id}
    )
    reference = result.reference()
    if old:
        session["reference"] = reference
    else:
        refs = session.get("reference") or []
        session["reference"] = ([refs] if isinstance(refs, dict) else list(refs)) + [reference]
    stamp(session, created=False)
    state.store.put("agent_session", session)


def aggregate(events: list[Json], *, final: Json | None = None) -> Json:
    """The non-stream answer: the final event with the whole content and reference."""
    content, reference = "", {}
    for ev in events:
        if ev["event"] == "message":
            content += ev["data"].get("content", "")
        if isinstance(ev.get("data"), dict) and ev["data"].get("reference"):
            reference.update(ev["data"]["reference"])
    answer = copy.deepcopy(final if final is not None else events[-1])
    answer.setdefault("data", {})
    answer["data"]["content"], answer["data"]["reference"] = content, reference
    return answer


def _events_stream(events: list[Json], *, space: bool = False) -> AsyncIterator[bytes]:
    async def gen() -> AsyncIterator[bytes]:
        for ev in events:
            yield sse(ev, space=space)
            await asyncio.sleep(0)
        yield sse("[DONE]", space=space)

    return gen()


# ---------------------------------------------------------------- v0.25+
async def agent_completion_v027(
    request: Request, path_agent_id: str | None, body: Json | None = None
) -> Response:
    state = state_of(request)
    req = dict(body if body is not None else await read_request_json(request))
    agent_id = path_agent_id or req.get("agent_id")
    openai_mode = bool(req.pop("openai-compatible", False))
    if not agent_id:
        return get_json_result(False, code=ARGUMENT_ERROR, message="`agent_id` is required.")
    req.pop("agent_id", None)
    session_id = req.get("session_id")
    session = None
    if session_id:
        session = (
            state.store.get("agent_session", session_id) if isinstance(session_id, str) else None
        )
        if session is None:
            raise data_error("Session not found!")
        if session.get("dialog_id") != agent_id:
            raise json_error(
                "Session does not belong to the requested agent.", OPERATING_ERROR, data=False
            )
        if find_agent(state, agent_id) is None:
            raise json_error(
                "Only authorized users can access this agent session.", OPERATING_ERROR, data=False
            )
    if openai_mode:
        return _openai_v027(state, str(agent_id), req)
    query = str(req.get("query", "") or req.get("question", "") or "")
    stream = bool(req.get("stream", False))
    if session is None:
        agent = find_agent(state, agent_id)
        if agent is None:
            raise json_error(NO_ACCESS, OPERATING_ERROR, data=False)
        canvas = load_canvas(agent.get("dsl"))
        new_session_id = new_id()
        result = canvas.run(query, str(req.get("user_id") or TENANT_ID), retriever(state))
        events = run_events(canvas, result, req.get("inputs"), new_session_id)
        workflow = {
            "id": new_session_id,
            "dialog_id": agent["id"],
            "user_id": str(req.get("user_id") or TENANT_ID),
            "exp_user_id": str(req.get("user_id") or TENANT_ID),
            "name": req.get("name") or query[:250],
            "message": [
                {
                    "role": "user",
                    "content": query,
                    "id": new_id(),
                    "files": req.get("files", []),
                    "created_at": time.time(),
                }
            ],
            "reference": [],
            "source": "workflow",
            "dsl": copy.deepcopy(agent.get("dsl")),
            "version_title": (versions_of(state, agent["id"]) or [{}])[0].get("title"),
        }
        stamp(workflow, created=True)
        workflow["message"].append(
            {
                "role": "assistant",
                "content": result.content,
                "created_at": time.time(),
                "id": events[0]["message_id"],
            }
        )
        workflow["reference"].append(result.reference())
        state.store.put("agent_session", workflow)
        if stream:
            return stream_response(_events_stream(events))
        return get_result(aggregate(events))
    canvas = load_canvas(session.get("dsl"))
    result = canvas.run(query, str(req.get("user_id") or ""), retriever(state))
    events = run_events(canvas, result, req.get("inputs"), str(session_id))
    record_turn(state, session, query, result, old=False)
    kept = []
    usage = None
    for ev in events:
        if ev["event"] in ("message", "message_end", "node_finished", "user_inputs"):
            kept.append(ev)
        elif ev["event"] == "workflow_finished":
            usage = ev["data"].get("usage")
            kept.append({**ev, "data": {"usage": usage}})
    if stream:
        return stream_response(_events_stream(kept))
    finals = [ev for ev in kept if ev["event"] == "message_end"]
    if not finals:
        return get_result({"session_id": session_id})
    answer = aggregate([ev for ev in kept if ev["event"] != "workflow_finished"], final=finals[-1])
    if usage:
        answer["data"]["usage"] = usage
    return get_result(answer)


def _openai_v027(state: ServerState, agent_id: str, req: Json) -> Response:
    messages = req.get("messages", [])
    if not messages:
        raise data_error("You must provide at least one message.")
    question = next(
        (
            str(m.get("content", ""))
            for m in reversed(messages)
            if isinstance(m, dict) and m.get("role") == "user"
        ),
        "",
    )
    stream = bool(req.pop("stream", False))
    return _openai_run(state, agent_id, question, req, stream=stream)


def _openai_canvas(state: ServerState, agent_id: str, session_id: str) -> tuple[Json, Canvas]:
    agent = find_agent(state, agent_id)
    if agent is None and not session_id:
        raise LookupError("Agent not found.")
    session = state.store.get("agent_session", session_id) if session_id else None
    if session_id and session is None:
        raise LookupError("Session not found!")
    canvas = Canvas((session or agent or {}).get("dsl"))
    if session is None:
        session = {
            "id": new_id(),
            "dialog_id": agent_id,
            "user_id": "",
            "message": [],
            "source": "agent",
            "dsl": canvas.reset(),
            "reference": [],
        }
        stamp(session, created=True)
        state.store.put("agent_session", session)
    return session, canvas


def _openai_error(
    agent_id: str, ident: str, question: str, exc: BaseException, stream: bool
) -> Response:
    text = f"**ERROR**: {exc}"
    prompt, used = count_tokens(question), count_tokens(text)
    if not stream:
        return JSONResponse(_openai_answer(ident, agent_id, text, prompt, used, None))

    async def events() -> AsyncIterator[bytes]:
        chunk = {
            "id": ident,
            "object": "chat.completion.chunk",
            "created": int(time.time()),
            "model": agent_id,
            "system_fingerprint": "",
            "usage": openai_usage(prompt, used),
            "choices": [
                {
                    "delta": {
                        "content": text,
                        "role": "assistant",
                        "function_call": None,
                        "tool_calls": None,
                    },
                    "finish_reason": "stop",
                    "index": 0,
                    "logprobs": None,
                }
            ],
        }
        yield sse(chunk, space=True)
        yield sse("[DONE]", space=True)

    return stream_response(events())


def openai_usage(prompt: int, used: int) -> Json:
    """``get_data_openai``'s usage block (its prediction details are always 0)."""
    return {
        "prompt_tokens": prompt,
        "completion_tokens": used,
        "total_tokens": prompt + used,
        "completion_tokens_details": {
            "reasoning_tokens": 0,
            "accepted_prediction_tokens": 0,
            "rejected_prediction_tokens": 0,
        },
    }


def _openai_answer(
    ident: str, model: str, content: str, prompt: int, used: int, reference: Json | None
) -> Json:
    """``get_data_openai``: a non-stream chat.completion."""
    message: Json = {"role": "assistant", "content": content}
    if reference:
        message["reference"] = reference
    return {
        "id": ident,
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "param": None,
        "usage": openai_usage(prompt, used),
        "choices": [{"message": message, "logprobs": None, "finish_reason": "stop", "index": 0}],
    }


def _openai_run(
    state: ServerState, agent_id: str, question: str, req: Json, *, stream: bool
) -> Response:
    session_id = str(req.get("session_id") or req.get("id") or "")
    try:  # completion_openai turns a failing run into an "**ERROR**" answer
        session, canvas = _openai_canvas(state, agent_id, session_id)
    except (LookupError, *LOAD_ERRORS) as exc:
        return _openai_error(agent_id, session_id or str(uuid.uuid4()), question, exc, stream)
    session_id = session["id"]
    result = canvas.run(question, str(req.get("user_id") or ""), retriever(state))
    record_turn(state, session, question, result, old=state.old)
    reference = result.reference() if result.chunks else None
    prompt_tokens = count_tokens(question)
    if not stream:
        used = count_tokens(result.content)
        answer = _openai_answer(
            session_id, agent_id, result.content, prompt_tokens, used, reference
        )
        return JSONResponse(answer)

    def chunk(content: str, with_reference: bool, used: int) -> Json:
        delta: Json = {
            "content": content,
            "role": "assistant",
            "function_call": None,
            "tool_calls": None,
        }
        if with_reference and reference:
            delta["reference"] = reference
        return {
            "id": session_id,
            "object": "chat.completion.chunk",
            "created": int(time.time()),
            "model": agent_id,
            "system_fingerprint": "",
            "usage": None,
            "choices": [{"delta": delta, "finish_reason": None, "index": 0, "logprobs": None}],
        }

    async def events() -> AsyncIterator[bytes]:
        used = 0
        for text in result.messages:
            used += count_tokens(text)
            yield sse(chunk(text, False, used), space=True)
            yield sse(chunk("", True, used), space=True)  # message_end
            await asyncio.sleep(0)
        yield sse("[DONE]", space=True)

    return stream_response(events())


@endpoint
async def agents_chat_completions(request: Request) -> Response:
    return await agent_completion_v027(request, None)


@endpoint
async def agent_completions_alias(request: Request) -> Response:
    if state_of(request).old:
        return await agent_completion_v022(request)
    return await agent_completion_v027(request, request.path_params["agent_id"])


@endpoint
async def agents_openai_alias(request: Request) -> Response:
    req = dict(await read_request_json(request))
    req["openai-compatible"] = True
    return await agent_completion_v027(request, request.path_params["agent_id"], body=req)


# ---------------------------------------------------------------- v0.22.1
async def agent_completion_v022(request: Request) -> Response:
    state = state_of(request)
    agent_id = request.path_params["agent_id"]
    req = dict(as_dict(await read_any_json(request)))
    if "agent_id" in req or "tenant_id" in req:
        key = "agent_id" if "agent_id" in req else "tenant_id"
        raise server_error(
            TypeError(
                "api.db.services.canvas_service.completion() got multiple values for keyword "
                f"argument '{key}'"
            )
        )
    stream = req.get("stream", True)
    query = str(req.get("query", "") or req.get("question", "") or "")
    session_id = req.get("session_id")
    session: Json | None = None
    if session_id:
        session = state.store.get("agent_session", session_id)
        if session is None:
            raise server_error(AssertionError("Session not found!"))
        dsl = session.get("dsl")
    else:
        agent = find_agent(state, agent_id)
        if agent is None:
            raise server_error(AssertionError("Agent not found."))
        dsl = agent.get("dsl")
    canvas = load_canvas(dsl)
    if session is None:
        session = {
            "id": new_id(),
            "dialog_id": agent_id,
            "user_id": str(req.get("user_id", "")),
            "message": [],
            "source": "agent",
            "dsl": canvas.reset(),
            "reference": [],
        }
        stamp(session, created=True)
        state.store.put("agent_session", session)
    result = canvas.run(query, str(req.get("user_id", "")), retriever(state))
    events = run_events(canvas, result, req.get("inputs", {}), session["id"])
    record_turn(state, session, query, result, old=True)
    if stream:
        kept = [ev for ev in events if ev["event"] in ("message", "message_end")]
        return stream_response(_events_stream(kept))
    return get_result(aggregate(events))


async def agents_openai_v022(request: Request) -> Response:
    state = state_of(request)
    req = await read_any_json(request)
    absent = [n for n in ("model", "messages") if not isinstance(req, dict) or n not in req]
    if absent:
        return get_json_result(
            code=ARGUMENT_ERROR,
            message="required argument are missing: {}; ".format(",".join(absent)),
        )
    if not is_authorised(state, request):
        from ._common import auth_failure

        return auth_failure(state, request.headers.get("authorization"))
    agent_id = request.path_params["agent_id"]
    messages = req.get("messages", [])
    if not messages:
        raise data_error("You must provide at least one message.")
    if find_agent(state, agent_id) is None:
        raise data_error(f"You don't own the agent {agent_id}")
    try:
        kept = [m for m in messages if m["role"] in ("user", "assistant")]
    except (KeyError, TypeError) as exc:
        raise server_error(exc) from None
    if not kept:
        text = "No valid messages found (user or assistant)."
        model = str(req.get("model", ""))
        return JSONResponse(_openai_answer(agent_id, model, text, 0, count_tokens(text), None))
    question = next((str(m["content"]) for m in reversed(messages) if m["role"] == "user"), "")
    body = dict(req)
    stream = bool(body.pop("stream", False))
    return _openai_run(state, agent_id, question, body, stream=stream)


@public
async def agents_openai_v022_route(request: Request) -> Response:
    return await agents_openai_v022(request)


def routes(state: ServerState) -> list[Route]:
    openai_path = "/agents_openai/{agent_id}/chat/completions"
    if state.old:
        return [
            Route("/agents/{agent_id}/completions", agent_completions_alias, methods=["POST"]),
            Route(openai_path, agents_openai_v022_route, methods=["POST"]),
        ]
    return [
        Route("/agents/chat/completions", agents_chat_completions, methods=["POST"]),
        Route("/agents/{agent_id}/completions", agent_completions_alias, methods=["POST"]),
        Route(openai_path, agents_openai_alias, methods=["POST"]),
    ]


__all__ = ["ApiError", "json", "routes"]
