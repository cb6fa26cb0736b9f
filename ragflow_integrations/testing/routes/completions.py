"""Native chat completions.

- v0.22.1: ``POST /chats/{chat_id}/completions`` only. Without a ``session_id`` it creates a
  session and (streaming) answers with the prologue; the question is only read with a session.
  Streams carry the cumulative answer; the last event is the decorated answer (citations
  inserted, full reference, prompt); the terminator is ``{"code": 0, "data": true}``.
- v0.25+: ``POST /chat/completions`` (``chat_id`` in the body, or none for a plain model chat) and
  the deprecated path alias. Streams carry deltas with ``final: false`` and end with a ``final``
  event (empty answer, full reference, prompt); ``legacy: true`` makes the deltas cumulative.
"""

from __future__ import annotations

import asyncio
import copy
import html
import itertools
import json
import time
import uuid
from collections.abc import AsyncIterator
from typing import Any

from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route

from .._util import ApiError, Json, new_id
from ._answer import Turn, answer_chat
from ._common import TENANT_ID, ServerState, endpoint, state_of
from ._wire import (
    ARGUMENT_ERROR,
    AUTHENTICATION_ERROR,
    body_v022,
    body_v027,
    data_error,
    get_json_result,
    get_result,
    json_error,
    server_error,
)
from .chats import live_chat
from .chunks import reference_metadata_option
from .models import resolve_model, split_model_name, tenant_models
from .sessions import find_session, new_session, save_session

SSE_HEADERS = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no", "Connection": "keep-alive"}
SSE_MEDIA = "text/event-stream; charset=utf-8"
GENERATION_KEYS = (
    "temperature",
    "top_p",
    "frequency_penalty",
    "presence_penalty",
    "max_tokens",
)


def sse(payload: Any, *, space: bool = False) -> bytes:
    text = payload if isinstance(payload, str) else json.dumps(payload, ensure_ascii=False)
    return f"data:{' ' if space else ''}{text}\n\n".encode()


def stream_response(events: AsyncIterator[bytes]) -> StreamingResponse:
    return StreamingResponse(events, media_type=SSE_MEDIA, headers=SSE_HEADERS)


def error_event(exc: ApiError) -> bytes:
    """How a stream reports an exception raised while answering (code 500, ``str(exc)``)."""
    message = exc.message
    if message.startswith("KeyError("):  # str(KeyError('x')) keeps the quotes
        message = message[len("KeyError(") : -1]
    elif "(" in message and message.endswith(")") and message.split("(", 1)[0].isidentifier():
        message = message.split("(", 1)[1][:-1].strip("'\"")
    return sse(
        {
            "code": 500,
            "message": message,
            "data": {"answer": "**ERROR**: " + message, "reference": []},
        }
    )


def _flag(req: Json, *names: str, default: bool) -> bool:
    """``_get_bool_request_flag``: pops the first present name; strings compare to 1/true/yes/on."""
    for name in names:
        if name in req:
            value = req.pop(name)
            if isinstance(value, str):
                return value.strip().lower() in {"1", "true", "yes", "on"}
            return bool(value)
    return default


def normalize_messages(req: Json) -> tuple[list[Json], list[Json]]:
    """``_normalize_completion_messages``: (all request messages, the conversational ones)."""
    messages = req.get("messages")
    if messages is None:
        if req.get("question") is None:
            raise data_error("required argument are missing: messages", ARGUMENT_ERROR)
        messages = [{"role": "user", "content": req["question"]}]
        if req.get("files"):
            messages[-1]["files"] = req["files"]
    if not isinstance(messages, list) or not messages:
        raise data_error("`messages` must be a non-empty list.", ARGUMENT_ERROR)
    for message in messages:
        if not isinstance(message, dict):
            raise data_error("Every item in `messages` must be an object.", ARGUMENT_ERROR)
        if "role" not in message or "content" not in message:
            raise data_error(
                "Every item in `messages` must include `role` and `content`.", ARGUMENT_ERROR
            )
    kept = conversational(messages)
    if not kept:
        raise data_error("`messages` must contain a user message.", ARGUMENT_ERROR)
    if kept[-1]["role"] != "user":
        raise data_error("The last message must be from user.", ARGUMENT_ERROR)
    if not kept[-1].get("id"):
        kept[-1]["id"] = new_id()
    return messages, kept


def conversational(messages: list[Json]) -> list[Json]:
    """Without system messages and without assistant messages before the first user one."""
    kept: list[Json] = []
    for message in messages:
        if message.get("role") == "system":
            continue
        if message.get("role") == "assistant" and not kept:
            continue
        kept.append(message)
    return kept


def default_dialog() -> Json:
    """The dialog v0.25+ uses without ``chat_id``: no datasets, no prompt, the default model."""
    return {
        "id": "",
        "tenant_id": TENANT_ID,
        "llm_id": "",
        "llm_setting": {},
        "prompt_config": {
            "system": "",
            "prologue": "",
            "parameters": [],
            "empty_response": "",
            "quote": False,
            "tts": False,
            "refine_multiturn": True,
        },
        "kb_ids": [],
        "top_n": 6,
        "top_k": 1024,
        "rerank_id": "",
        "similarity_threshold": 0.1,
        "vector_similarity_weight": 0.3,
        "meta_data_filter": None,
    }


def decorated_answer(turn: Turn) -> Json:
    """What RAGFlow's ``decorate_answer`` returns: the cited answer, reference and prompt."""
    return {
        "answer": turn.answer,
        "reference": copy.deepcopy(turn.reference),
        "prompt": turn.prompt,
        "created_at": time.time(),
    }


def answers_v027(turn: Turn, *, stream: bool) -> list[Json]:
    """What v0.25+'s ``async_chat`` yields for a turn (before ``structure_answer``)."""
    if turn.solo:
        solo = [turn.answer] if not stream else turn.deltas()
        out: list[Json] = [
            {
                "answer": text,
                "reference": {},
                "audio_binary": None,
                "prompt": "",
                "created_at": time.time(),
            }
            for text in solo
        ]
        if stream:
            for item in out:
                item["final"] = False
        return out
    if turn.empty:
        text = html.escape(turn.answer)
        return [
            {"answer": text, "reference": {}, "prompt": "", "audio_binary": None, "final": False},
            {
                "answer": text,
                "reference": copy.deepcopy(turn.reference),
                "prompt": turn.prompt,
                "audio_binary": None,
                "final": True,
            },
        ]
    decorated = decorated_answer(turn)
    if not stream:
        return [{**decorated, "audio_binary": None}]
    out = [
        {"answer": piece, "reference": {}, "audio_binary": None, "final": False}
        for piece in turn.deltas()
    ]
    out.append({**decorated, "final": True, "audio_binary": None, "answer": ""})
    return out


def answers_v022(turn: Turn, *, stream: bool) -> list[Json]:
    """What v0.22.1's ``chat`` yields: cumulative texts, then the decorated answer."""
    if turn.solo:
        texts = [turn.answer] if not stream else list(itertools.accumulate(turn.deltas()))
        return [
            {
                "answer": text,
                "reference": {},
                "audio_binary": None,
                "prompt": "",
                "created_at": time.time(),
            }
            for text in texts
        ]
    if turn.empty:
        return [
            {
                "answer": turn.answer,
                "reference": copy.deepcopy(turn.reference),
                "prompt": turn.prompt,
                "audio_binary": None,
            }
        ]
    decorated = decorated_answer(turn)
    if not stream:
        return [{**decorated, "audio_binary": None}]
    out: list[Json] = [
        {"answer": text, "reference": {}, "audio_binary": None}
        for text in itertools.accumulate(turn.deltas())
    ]
    out.append(decorated)
    return out


def structure(
    session: Json | None, ans: Json, message_id: str, session_id: str, *, old: bool
) -> Json:
    """``structure_answer``: ids on the answer, the answer and its reference on the session."""
    reference = ans.get("reference")
    if not isinstance(reference, dict):
        reference = {}
    reference["chunks"] = reference.get("chunks", [])
    ans["reference"] = reference
    ans["id"], ans["session_id"] = message_id, session_id
    if session is None:
        return ans
    messages = session.setdefault("message", [])
    now = time.time()
    final = ans.get("final", True)
    if not messages or messages[-1].get("role") != "assistant":
        messages.append(
            {"role": "assistant", "content": ans["answer"], "created_at": now, "id": message_id}
        )
    elif old or (final and ans.get("answer")):
        messages[-1] = {
            "role": "assistant",
            "content": ans["answer"],
            "created_at": now,
            "id": message_id,
        }
    elif final:
        messages[-1].update(created_at=now, id=message_id)
    else:
        messages[-1]["content"] = (messages[-1].get("content") or "") + ans["answer"]
        messages[-1].update(created_at=now, id=message_id)
    if session.get("reference") and (
        old or final or reference.get("chunks") or reference.get("doc_aggs")
    ):
        session["reference"][-1] = copy.deepcopy(reference)
    return ans


def check_model_override(state: ServerState, model: str) -> None:
    """A per-request ``llm_id`` (``get_api_key``): a tenant model id, or a name whose provider
    (and instance) the tenant has; the model itself is only looked up when answering."""
    if resolve_model(state, model, "chat") is not None:
        return
    _, instance, provider = split_model_name(model)
    if not provider:
        raise server_error(LookupError("Provider name is required."))
    models = [m for m in tenant_models(state) if m.provider == provider]
    if not models:
        raise server_error(LookupError(f"Provider {provider} not found."))
    if instance != "default" and all(m.instance != instance for m in models):
        raise server_error(LookupError(f"Instance {instance} not found for model {model}."))
    raise server_error(LookupError(f"Model {model} not found for type chat."))


# ---------------------------------------------------------------- v0.25+
async def completion_v027(request: Request, path_chat_id: str) -> Response:
    state = state_of(request)
    req = dict(await body_v027(request))
    all_messages, request_msg = normalize_messages(req)
    pass_all = _flag(req, "pass_all_history_messages", "pass_all_history", default=False)
    store = _flag(req, "store_history_messages", "store_history", default=True)
    if not store and not pass_all:
        raise data_error(
            "`pass_all_history_messages` must be true when `store_history_messages` is false."
        )
    message_id = str(request_msg[-1]["id"])
    chat_id = req.pop("chat_id", "") or "" or path_chat_id
    session_id = req.pop("session_id", "") or req.pop("conversation_id", "") or ""
    model = req.pop("llm_id", "")
    generation = {k: req.pop(k) for k in GENERATION_KEYS if k in req and req[k] is not None}
    session: Json | None = None
    if session_id and not chat_id:
        raise data_error("`chat_id` is required when `session_id` is provided.")
    msg = request_msg
    if chat_id:
        chat = live_chat(state, chat_id)
        if chat is None:
            raise json_error("no authorization", AUTHENTICATION_ERROR, data=False)
        chat = copy.deepcopy(chat)
        if session_id:
            found = find_session(state, session_id)
            if found is None:
                raise data_error("Session not found!")
            if found["dialog_id"] != chat_id:
                raise data_error("Session does not belong to this chat!")
            session = copy.deepcopy(found)
        else:
            session = new_session(state, chat, user_id=TENANT_ID, save=store)
            session["message"][0]["content"] = (chat.get("prompt_config") or {}).get("prologue", "")
            session_id = session["id"] or ""
        if pass_all:
            session["message"] = copy.deepcopy(all_messages)
        else:
            session.setdefault("message", []).append(copy.deepcopy(request_msg[-1]))
            msg = conversational(session["message"])
    else:
        chat = default_dialog()
    if session is not None:
        session["reference"] = [r for r in session.get("reference") or [] if r]
        session["reference"].append({"chunks": [], "doc_aggs": []})
    if model:
        check_model_override(state, str(model))
        chat["llm_id"], chat["llm_setting"] = model, generation
    elif generation:
        chat["llm_setting"] = {**(chat.get("llm_setting") or {}), **generation}
    legacy = _flag(req, "legacy", default=False)
    stream = req.pop("stream", True)
    req.pop("messages", None)
    req.pop("question", None)
    metadata = reference_metadata_option(req)

    store_on = session if (session is not None and store) else None

    def shaped(ans: Json) -> Json:
        out = structure(store_on, ans, message_id, session_id, old=False)
        if chat_id:
            out["chat_id"] = chat_id
        return out

    if not stream:
        turn = answer_chat(state, chat, msg, req, metadata=metadata)
        data = shaped(answers_v027(turn, stream=False)[0])
        if store_on is not None:
            save_session(state, store_on)
        return get_json_result(data)

    async def events() -> AsyncIterator[bytes]:
        try:
            turn = answer_chat(state, chat, msg, req, metadata=metadata)
        except ApiError as exc:
            yield error_event(exc)
            yield sse({"code": 0, "message": "", "data": True})
            return
        so_far = ""
        for ans in answers_v027(turn, stream=True):
            data = shaped(ans)
            if legacy:
                if data.get("final"):
                    data = {**data, "answer": data["answer"] or so_far}
                else:
                    so_far += data["answer"]
                    data = {**data, "answer": so_far}
            yield sse({"code": 0, "message": "", "data": data})
            await asyncio.sleep(0)
        if store_on is not None:
            save_session(state, store_on)
        yield sse({"code": 0, "message": "", "data": True})

    return stream_response(events())


@endpoint
async def chat_completions(request: Request) -> Response:
    return await completion_v027(request, "")


@endpoint
async def chat_completions_alias(request: Request) -> Response:
    if state_of(request).old:
        return await completion_v022(request)
    return await completion_v027(request, request.path_params["chat_id"])


# ---------------------------------------------------------------- v0.22.1
async def completion_v022(request: Request) -> Response:
    state = state_of(request)
    chat_id = request.path_params["chat_id"]
    body = await body_v022(request)
    req: Json = dict(body) if isinstance(body, dict) and body else {"question": ""}
    if not req.get("session_id"):
        req["question"] = ""
    chat = live_chat(state, chat_id)
    if chat is None:
        raise data_error(f"You don't own the chat {chat_id}")
    session_id = req.get("session_id")
    if session_id:
        found = find_session(state, session_id)
        if found is None or found["dialog_id"] != chat_id:
            raise data_error(f"You don't own the session {session_id}")
    stream = req.pop("stream", True)
    question = req.pop("question", "")
    name = req.pop("name", "New session")
    req.pop("session_id", None)
    if not session_id:
        session = new_session(state, chat, name=name, user_id=str(req.get("user_id", "")))
        session["message"][0]["created_at"] = time.time()
        session.pop("reference")
        save_session(state, session)
        session_id = session["id"]
        if stream:
            prologue = {
                "answer": session["message"][0]["content"],
                "reference": {},
                "audio_binary": None,
                "id": None,
                "session_id": session_id,
            }

            async def prologue_events() -> AsyncIterator[bytes]:
                yield sse({"code": 0, "message": "", "data": prologue})
                yield sse({"code": 0, "message": "", "data": True})

            return stream_response(prologue_events())
    session = copy.deepcopy(find_session(state, session_id) or {})
    message_id = str(uuid.uuid4())
    session.setdefault("message", []).append(
        {"content": question, "role": "user", "id": message_id}
    )
    msg = conversational(session["message"])
    session["message"].append({"role": "assistant", "content": "", "id": message_id})
    session["reference"] = list(session.get("reference") or [])
    session["reference"].append({"chunks": [], "doc_aggs": []})
    if "messages" in req:  # v0.22.1 passes the body on to chat(), which has that argument
        raise server_error(TypeError("chat() got multiple values for argument 'messages'"))
    quote = req.get("quote", True) is not False

    if not stream:
        turn = answer_chat(state, chat, msg, req, quote=quote)
        data = structure(
            session, answers_v022(turn, stream=False)[0], message_id, session_id, old=True
        )
        save_session(state, session)
        return get_result(data)

    async def events() -> AsyncIterator[bytes]:
        try:
            turn = answer_chat(state, chat, msg, req, quote=quote)
        except ApiError as exc:
            yield error_event(exc)
            yield sse({"code": 0, "data": True})
            return
        for ans in answers_v022(turn, stream=True):
            yield sse(
                {"code": 0, "data": structure(session, ans, message_id, session_id, old=True)}
            )
            await asyncio.sleep(0)
        save_session(state, session)
        yield sse({"code": 0, "data": True})

    return stream_response(events())


def routes(state: ServerState) -> list[Route]:
    out = [Route("/chats/{chat_id}/completions", chat_completions_alias, methods=["POST"])]
    if not state.old:
        out.append(Route("/chat/completions", chat_completions, methods=["POST"]))
    return out
