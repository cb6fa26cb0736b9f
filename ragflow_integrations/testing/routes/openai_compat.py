"""OpenAI-compatible chat completions and related questions.

- v0.22.1: ``/chats_openai/{chat_id}/chat/completions`` (streams by default; ``reference`` is read
  at the top level of the body); ``/sessions/related_questions``.
- v0.25+: ``/openai/{chat_id}/chat/completions`` and the deprecated ``chats_openai`` alias (no
  stream by default; ``reference``, ``reference_metadata`` and ``metadata_condition`` are read
  inside ``extra_body``); ``/chat/recommendation`` and the deprecated
  ``/sessions/related_questions``; ``/searchbots/related_questions`` (the beta token, which the
  stand-in's one API key also is).
"""

from __future__ import annotations

import asyncio
import copy
import time
from collections.abc import AsyncIterator
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from .._util import ApiError, Json, read_any_json, read_request_json
from ..metadata import matching_ids
from ..responder import count_tokens, related_phrases
from ._answer import Turn, answer_chat, text_of
from ._common import ServerState, endpoint, is_authorised, public, state_of
from ._wire import (
    ARGUMENT_ERROR,
    data_error,
    get_json_result,
    get_result,
    server_error,
)
from .chats import live_chat
from .chunks import run_retrieval
from .completions import conversational, sse, stream_response
from .models import resolve_model


def _missing(req: Any, *names: str) -> str | None:
    """``validate_request``'s message for absent keys, or None."""
    absent = [n for n in names if not isinstance(req, dict) or n not in req]
    if absent:
        return "required argument are missing: {}; ".format(",".join(absent))
    return None


def _delta(content: str | None) -> Json:
    return {
        "content": content,
        "role": "assistant",
        "function_call": None,
        "tool_calls": None,
        "reasoning_content": None,
    }


def _chunk(ident: str, model: str, delta: Json, finish: str | None, usage: Json | None) -> Json:
    return {
        "id": ident,
        "choices": [{"delta": delta, "finish_reason": finish, "index": 0, "logprobs": None}],
        "created": int(time.time()),
        "model": model,
        "object": "chat.completion.chunk",
        "system_fingerprint": "",
        "usage": usage,
    }


def _completion(ident: str, model: str, content: str, usage: Json, reference: Any) -> Json:
    message: Json = {"role": "assistant", "content": content}
    if reference is not None:
        message["reference"] = reference
    return {
        "id": ident,
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "usage": usage,
        "choices": [{"message": message, "logprobs": None, "finish_reason": "stop", "index": 0}],
    }


def _reference_list(turn: Turn) -> list[Json]:
    return copy.deepcopy((turn.reference or {}).get("chunks", []))


# ---------------------------------------------------------------- v0.25+
async def openai_v027(request: Request, chat_id: str) -> Response:
    state = state_of(request)
    req = await read_request_json(request)
    missing = _missing(req, "model", "messages")
    if missing:
        return get_json_result(code=ARGUMENT_ERROR, message=missing)
    extra = req.get("extra_body") or {}
    if extra and not isinstance(extra, dict):
        raise data_error("extra_body must be an object.")
    need_reference = bool(extra.get("reference", False))
    ref_meta = extra.get("reference_metadata") or {}
    if ref_meta and not isinstance(ref_meta, dict):
        raise data_error("reference_metadata must be an object.")
    include_meta = bool(ref_meta.get("include", False))
    fields = ref_meta.get("fields")
    if fields is not None and not isinstance(fields, list):
        raise data_error("reference_metadata.fields must be an array.")
    messages = req.get("messages", [])
    try:
        empty = len(messages) < 1
    except TypeError as exc:
        raise server_error(exc) from None
    if empty:
        raise data_error("You have to provide messages.")
    if not isinstance(messages, list):
        raise data_error("messages must be an array.")
    normalized = []
    for message in messages:
        if not isinstance(message, dict):
            raise data_error("Each message must be an object.")
        content = message.get("content")
        if content is not None and not isinstance(content, str | list):
            raise data_error("messages[].content must be a string or an array of content parts.")
        normalized.append({**message, "content": text_of(content)})
    if normalized[-1].get("role") != "user":
        if "role" not in normalized[-1]:
            raise server_error(KeyError("role"))
        raise data_error("The last content of this conversation is not from user.")
    prompt = normalized[-1]["content"]
    context_tokens = sum(count_tokens(m["content"]) for m in normalized)
    chat = live_chat(state, chat_id)
    if chat is None:
        raise data_error(f"You don't own the chat {chat_id}")
    chat = copy.deepcopy(chat)
    model = req.get("model", "") or ""
    if model == "model":
        model = chat.get("llm_id") or model
    else:
        if resolve_model(state, str(model), "chat") is None:
            raise data_error(f"`llm_id` {model} doesn't exist", ARGUMENT_ERROR)
        chat["llm_id"] = model
    condition = extra.get("metadata_condition") or {}
    if condition and not isinstance(condition, dict):
        raise data_error("metadata_condition must be an object.")
    kwargs: Json = {}
    if condition:
        kb_docs = [d for kb in chat.get("kb_ids") or [] for d in state.store.all("document", kb)]
        docs = sorted(matching_ids(kb_docs, condition))
        if condition.get("conditions") and not docs:
            docs = ["-999"]
        if docs:
            kwargs["doc_ids"] = ",".join(docs)
    msg = conversational(normalized)
    metadata = (include_meta, [f for f in fields if isinstance(f, str)] if fields else None)
    turn = answer_chat(state, chat, msg, kwargs, quote=need_reference, metadata=metadata)
    ident = f"chatcmpl-{chat_id}"
    if not bool(req.get("stream", False)):
        tokens = count_tokens(turn.answer)
        usage = {
            "prompt_tokens": count_tokens(prompt),
            "completion_tokens": tokens,
            "total_tokens": count_tokens(prompt) + tokens,
            "completion_tokens_details": {
                "reasoning_tokens": context_tokens,
                "accepted_prediction_tokens": tokens,
                "rejected_prediction_tokens": 0,
            },
        }
        reference = _reference_list(turn) if need_reference else None
        return JSONResponse(_completion(ident, str(model), turn.answer, usage, reference))

    async def events() -> AsyncIterator[bytes]:
        used = 0
        for piece in turn.deltas():
            if not piece:
                continue
            used += count_tokens(piece)
            yield sse(_chunk(ident, str(model), _delta(piece), None, None))
            await asyncio.sleep(0)
        final = _delta(None)
        if need_reference:
            final["reference"] = _reference_list(turn)
            final["final_content"] = turn.plain
        usage = {
            "prompt_tokens": count_tokens(prompt),
            "completion_tokens": used,
            "total_tokens": count_tokens(prompt) + used,
        }
        yield sse(_chunk(ident, str(model), final, "stop", usage))
        yield sse("[DONE]")

    return stream_response(events())


@endpoint
async def openai_chat(request: Request) -> Response:
    return await openai_v027(request, request.path_params["chat_id"])


# ---------------------------------------------------------------- v0.22.1
async def openai_v022(request: Request) -> Response:
    """``validate_request`` runs before ``token_required`` on this route (v0.22.1)."""
    state = state_of(request)
    req = await read_any_json(request)
    missing = _missing(req, "model", "messages")
    if missing:
        return get_json_result(code=ARGUMENT_ERROR, message=missing)
    if not is_authorised(state, request):
        from ._common import auth_failure

        return auth_failure(state, request.headers.get("authorization"))
    chat_id = request.path_params["chat_id"]
    need_reference = bool(req.get("reference", False))
    messages = req.get("messages", [])
    try:
        if len(messages) < 1:
            raise data_error("You have to provide messages.")
        if messages[-1]["role"] != "user":
            raise data_error("The last content of this conversation is not from user.")
        prompt = str(messages[-1]["content"])
        context_used = sum(len(m["content"]) for m in messages)
    except (KeyError, TypeError, IndexError) as exc:
        raise server_error(exc) from None
    chat = live_chat(state, chat_id)
    if chat is None:
        raise data_error(f"You don't own the chat {chat_id}")
    msg = conversational(messages)
    turn = answer_chat(state, chat, msg, {}, quote=need_reference)
    ident = f"chatcmpl-{chat_id}"
    if not req.get("stream", True):
        usage = {
            "prompt_tokens": len(prompt),
            "completion_tokens": len(turn.answer),
            "total_tokens": len(prompt) + len(turn.answer),
            "completion_tokens_details": {
                "reasoning_tokens": context_used,
                "accepted_prediction_tokens": len(turn.answer),
                "rejected_prediction_tokens": 0,
            },
        }
        reference = _reference_list(turn) if need_reference else None
        return JSONResponse(
            _completion(ident, str(req.get("model", "")), turn.answer, usage, reference)
        )

    async def events() -> AsyncIterator[bytes]:
        used = 0
        for piece in turn.deltas():
            if not piece:
                continue
            used += len(piece)
            yield sse(_chunk(ident, "model", _delta(piece), None, None))
            await asyncio.sleep(0)
        final = _delta(None)
        if need_reference:
            final["reference"] = _reference_list(turn)
            final["final_content"] = turn.answer
        usage = {
            "prompt_tokens": len(prompt),
            "completion_tokens": used,
            "total_tokens": len(prompt) + used,
        }
        yield sse(_chunk(ident, "model", final, "stop", usage))
        yield sse("[DONE]")

    return stream_response(events())


@public
async def openai_chat_v022(request: Request) -> Response:
    return await openai_v022(request)


@endpoint
async def openai_chat_alias(request: Request) -> Response:
    return await openai_v027(request, request.path_params["chat_id"])


# ---------------------------------------------------------------- related questions
def _related(state: ServerState, question: str) -> list[str]:
    datasets = [d["id"] for d in state.store.all("dataset")]
    hits = (
        run_retrieval(
            state,
            question=question,
            dataset_ids=datasets,
            document_ids=None,
            top_k=64,
            threshold=0.0,
            weight=0.3,
            metadata_condition=None,
        )
        if datasets and question.strip()
        else []
    )
    return related_phrases(question, [h.chunk["content"] for h in hits[:5]])


@endpoint
async def related_questions_v022(request: Request) -> Response:
    state = state_of(request)
    req = await read_any_json(request)
    question = req.get("question") if isinstance(req, dict) else None
    if not question:
        raise data_error("`question` is required.")
    return get_result(_related(state, str(question)))


async def _recommend(request: Request) -> Response:
    state = state_of(request)
    req = await read_request_json(request)
    missing = _missing(req, "question")
    if missing:
        return get_json_result(code=ARGUMENT_ERROR, message=missing)
    return get_json_result(_related(state, str(req["question"] or "")))


@endpoint
async def recommendation(request: Request) -> Response:
    return await _recommend(request)


@public
async def searchbot_related_questions(request: Request) -> Response:
    """``/searchbots/related_questions`` takes the beta token (an AUTH_BETA-only route)."""
    state = state_of(request)
    if not request.headers.get("authorization"):
        raise ApiError(102, "Authorization is not valid!", data=None)
    if not is_authorised(state, request):
        raise ApiError(102, "Authentication error: API key is invalid! ", data=None)
    return await _recommend(request)


def routes(state: ServerState) -> list[Route]:
    old_path = "/chats_openai/{chat_id}/chat/completions"
    if state.old:
        return [
            Route(old_path, openai_chat_v022, methods=["POST"]),
            Route("/sessions/related_questions", related_questions_v022, methods=["POST"]),
        ]
    return [
        Route("/openai/{chat_id}/chat/completions", openai_chat, methods=["POST"]),
        Route(old_path, openai_chat_alias, methods=["POST"]),
        Route("/chat/recommendation", recommendation, methods=["POST"]),
        Route("/sessions/related_questions", recommendation, methods=["POST"]),
        Route("/searchbots/related_questions", searchbot_related_questions, methods=["POST"]),
    ]
