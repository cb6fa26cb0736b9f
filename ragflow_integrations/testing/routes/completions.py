"""Chat completions: native (§3.10), OpenAI-compatible (§3.11), related questions (§3.13)."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from .._util import ApiError, Json, json_result, new_id, read_json, result, stamp
from ..responder import (
    NO_CONTENT_ANSWER,
    NO_DATASET_ANSWER,
    compose_answer,
    count_tokens,
    pieces,
    related_phrases,
)
from ..server import DEFAULT_LLM
from ..store import Hit
from ._common import ServerState, endpoint, state_of
from ._views import doc_aggs, reference_chunk
from .chats import find_chat, find_session, new_session
from .chunks import document_metadata, reference_metadata_option, run_retrieval

SSE_HEADERS = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no", "Connection": "keep-alive"}
SSE_MEDIA = "text/event-stream; charset=utf-8"
NO_CHAT_ANSWER = (
    "This is the ragflow_integrations local stand-in server: without a chat_id there is no "
    "assistant and no language model to answer."
)


@dataclass
class Answer:
    """What the extractive responder produced for one question."""

    text: str
    hits: list[Hit] = field(default_factory=list)
    reference: Json | None = None
    has_datasets: bool = True
    empty: bool = False


def answer_question(
    state: ServerState,
    *,
    question: str,
    dataset_ids: list[str],
    top_n: int,
    top_k: int,
    threshold: float,
    weight: float,
    empty_response: str,
    quote: bool,
    doc_ids: list[str] | None = None,
    metadata_condition: Json | None = None,
    metadata_fields: tuple[bool, list[str] | None] = (False, None),
) -> Answer:
    """Retrieve with the given settings and answer extractively."""
    dataset_ids = [d for d in dataset_ids if state.store.get("dataset", d) is not None]
    if not dataset_ids:
        return Answer(NO_DATASET_ANSWER, has_datasets=False)
    hits = run_retrieval(
        state,
        question=question,
        dataset_ids=dataset_ids,
        document_ids=doc_ids,
        top_k=top_k,
        threshold=threshold,
        weight=weight,
        metadata_condition=metadata_condition,
    )
    top = hits[: max(1, top_n)]
    include, fields = metadata_fields
    reference = {
        "total": len(top),
        "chunks": [
            reference_chunk(
                state,
                h,
                document_metadata(state, h.chunk["document_id"], fields) if include else None,
            )
            for h in top
        ],
        "doc_aggs": doc_aggs(state, top),
    }
    if not top:
        return Answer(empty_response or NO_CONTENT_ANSWER, [], reference, empty=True)
    text = compose_answer(question, [h.chunk["content"] for h in top], quote=quote)
    return Answer(text, top, reference)


def chat_answer(state: ServerState, chat: Json, question: str, req: Json) -> Answer:
    config = chat.get("prompt_config") or {}
    doc_ids_raw = req.get("doc_ids")
    doc_ids = (
        [d.strip() for d in doc_ids_raw.split(",") if d.strip()]
        if isinstance(doc_ids_raw, str)
        else None
    )
    quote = req.get("quote", config.get("quote", True)) is not False
    condition = chat.get("meta_data_filter")
    return answer_question(
        state,
        question=question,
        dataset_ids=list(chat.get("dataset_ids") or []),
        top_n=int(chat.get("top_n") or 6),
        top_k=int(chat.get("top_k") or 1024),
        threshold=float(chat.get("similarity_threshold", 0.1)),
        weight=float(chat.get("vector_similarity_weight", 0.3)),
        empty_response=str(config.get("empty_response") or ""),
        quote=quote,
        doc_ids=doc_ids,
        metadata_condition=condition
        if isinstance(condition, dict) and "conditions" in condition
        else None,
        metadata_fields=reference_metadata_option(req),
    )


def missing_parameter(chat: Json, req: Json) -> str | None:
    for param in (chat.get("prompt_config") or {}).get("parameters") or []:
        if not isinstance(param, dict):
            continue
        key = param.get("key")
        if key and key != "knowledge" and not param.get("optional") and key not in req:
            return str(key)
    return None


def sse(payload: Any, *, space: bool = False) -> bytes:
    text = payload if isinstance(payload, str) else json.dumps(payload, ensure_ascii=False)
    return f"data:{' ' if space else ''}{text}\n\n".encode()


def stream_response(events: AsyncIterator[bytes]) -> StreamingResponse:
    return StreamingResponse(events, media_type=SSE_MEDIA, headers=SSE_HEADERS)


def _messages(req: Json) -> list[Json]:
    messages = req.get("messages")
    if messages is None:
        if req.get("question") is None:
            raise ApiError(101, "required argument are missing: messages")
        messages = [{"role": "user", "content": str(req["question"])}]
    if not isinstance(messages, list) or not messages:
        raise ApiError(101, "required argument are missing: messages")
    kept = [m for m in messages if isinstance(m, dict) and m.get("role") != "system"]
    while kept and kept[0].get("role") == "assistant":
        kept.pop(0)
    if not kept or kept[-1].get("role") != "user":
        raise ApiError(101, "The last message must be from user.")
    return kept


def _text(content: Any) -> str:
    if isinstance(content, list):
        return " ".join(
            str(p.get("text", ""))
            for p in content
            if isinstance(p, dict) and p.get("type") == "text"
        )
    return str(content or "")


def _flag(req: Json, *names: str, default: bool) -> bool:
    for name in names:
        if name in req and req[name] is not None:
            value = req[name]
            return value if isinstance(value, bool) else str(value).lower() == "true"
    return default


async def native_completion(request: Request, path_chat_id: str | None) -> Response:
    state = state_of(request)
    req = await read_json(request)
    if state.old:
        return await _old_completion(state, req, str(path_chat_id))
    messages = _messages(req)
    chat_id = req.get("chat_id") or path_chat_id
    stream = _flag(req, "stream", default=True)
    cumulative = _flag(req, "legacy", default=False)
    pass_all = _flag(req, "pass_all_history_messages", "pass_all_history", default=False)
    store = _flag(req, "store_history_messages", "store_history", default=True)
    if not store and not pass_all:
        raise ApiError(
            102,
            "`store_history_messages` can only be false when `pass_all_history_messages` is true.",
        )
    session_id = req.get("session_id") or req.get("conversation_id")
    if session_id and not chat_id:
        raise ApiError(102, "`chat_id` is required when `session_id` is provided.")
    llm_id = req.get("llm_id")
    if llm_id and (not isinstance(llm_id, str) or not state.has_llm(llm_id)):
        raise ApiError(102, f"Cannot use specified model {llm_id}.")
    question = _text(messages[-1].get("content"))
    message_id = str(messages[-1].get("id") or new_id())
    chat: Json | None = None
    session: Json | None = None
    if chat_id:
        chat = state.store.get("chat", chat_id)
        if chat is None:
            raise ApiError(102, f"You don't own the chat {chat_id}")
        if session_id:
            session = state.store.get("session", session_id)
            if session is None:
                raise ApiError(102, "Session not found!")
            if session["chat_id"] != chat_id:
                raise ApiError(102, "Session does not belong to this chat!")
        elif store:
            session = new_session(state, chat, question[:255] or "New session")
    missing = missing_parameter(chat, req) if chat else None
    if missing and not stream:
        raise ApiError(100, f"KeyError('Miss parameter: {missing}')")
    if chat is None:
        answer = Answer(NO_CHAT_ANSWER, has_datasets=False)
    elif missing:
        answer = Answer("")
    else:
        answer = chat_answer(state, chat, question, req)
    created = time.time()
    if session is not None and store and not missing:
        _store_turn(
            state,
            session,
            messages if pass_all else messages[-1:],
            pass_all,
            answer,
            message_id,
            created,
        )
    sid = session["id"] if session is not None and store else ""
    base: Json = {"id": message_id, "session_id": sid, "created_at": created, "audio_binary": None}
    if chat is not None:
        base["chat_id"] = chat["id"]
    if not stream:
        data = {
            "answer": answer.text,
            "reference": answer.reference or {},
            "prompt": _prompt(chat, question),
            **base,
        }
        return json_result(data)

    async def events() -> AsyncIterator[bytes]:
        if missing:
            yield sse(
                {
                    "code": 500,
                    "message": f"Miss parameter: {missing}",
                    "data": {"answer": f"**ERROR**: Miss parameter: {missing}", "reference": []},
                }
            )
            yield sse({"code": 0, "message": "", "data": True})
            return
        so_far = ""
        for piece in pieces(answer.text):
            so_far += piece
            data = {
                "answer": so_far if cumulative else piece,
                "reference": {"chunks": []},
                "final": False,
                **base,
            }
            yield sse({"code": 0, "message": "", "data": data})
            await asyncio.sleep(0)
        if answer.has_datasets:
            final_text = answer.text if (cumulative or answer.empty) else ""
            data = {
                "answer": final_text,
                "reference": answer.reference or {},
                "final": True,
                "prompt": _prompt(chat, question),
                **base,
            }
            yield sse({"code": 0, "message": "", "data": data})
        yield sse({"code": 0, "message": "", "data": True})

    return stream_response(events())


def _prompt(chat: Json | None, question: str) -> str:
    name = chat["name"] if chat else "(no chat)"
    return (
        f"[local stand-in] extractive answer for chat '{name}'; question: {question}\n"
        "No language model was called."
    )


def _store_turn(
    state: ServerState,
    session: Json,
    new_messages: list[Json],
    replace: bool,
    answer: Answer,
    message_id: str,
    created: float,
) -> None:
    with state.store.lock:
        history = list(session.get("messages") or [])
        if replace:
            history = history[:1] + [
                {"role": m.get("role"), "content": _text(m.get("content"))}
                for m in new_messages[:-1]
            ]
        last = new_messages[-1]
        history.append({"role": "user", "content": _text(last.get("content")), "id": message_id})
        history.append(
            {"role": "assistant", "content": answer.text, "id": message_id, "created_at": created}
        )
        session["messages"] = history
        session.setdefault("reference", []).append(
            answer.reference or {"chunks": [], "doc_aggs": []}
        )
        stamp(session, created=False)
        state.store.put("session", session)


async def _old_completion(state: ServerState, req: Json, chat_id: str) -> Response:
    """≤ v0.24 ``/chats/{id}/completions``: prologue-only without session, cumulative stream."""
    chat = find_chat(state, chat_id)
    stream = _flag(req, "stream", default=True)
    session_id = req.get("session_id")
    if not session_id:
        session = new_session(state, chat, "New session", str(req.get("user_id") or ""))
        data = {
            "answer": session["messages"][0]["content"],
            "reference": {},
            "audio_binary": None,
            "id": None,
            "session_id": session["id"],
        }
        if not stream:
            return result(data)

        async def prologue() -> AsyncIterator[bytes]:
            yield sse({"code": 0, "data": data})
            yield sse({"code": 0, "data": True})

        return stream_response(prologue())
    session = find_session(state, chat, session_id)
    question = str(req.get("question") or "")
    if not question.strip():
        raise ApiError(102, "`question` is required.")
    condition = req.get("metadata_condition")
    if isinstance(condition, dict):
        chat = {**chat, "meta_data_filter": condition}
    answer = chat_answer(state, chat, question, req)
    message_id = new_id()
    created = time.time()
    _store_turn(
        state, session, [{"role": "user", "content": question}], False, answer, message_id, created
    )
    base = {
        "id": message_id,
        "session_id": session["id"],
        "created_at": created,
        "audio_binary": None,
    }
    if not stream:
        return result(
            {
                "answer": answer.text,
                "reference": answer.reference or {},
                "prompt": _prompt(chat, question),
                **base,
            }
        )

    async def events() -> AsyncIterator[bytes]:
        so_far = ""
        for piece in pieces(answer.text):
            so_far += piece
            yield sse({"code": 0, "data": {"answer": so_far, "reference": {}, **base}})
            await asyncio.sleep(0)
        yield sse(
            {
                "code": 0,
                "data": {"answer": answer.text, "reference": answer.reference or {}, **base},
            }
        )
        yield sse({"code": 0, "data": True})

    return stream_response(events())


@endpoint
async def chat_completions(request: Request) -> Response:
    return await native_completion(request, None)


@endpoint
async def chat_completions_alias(request: Request) -> Response:
    return await native_completion(request, request.path_params["chat_id"])


# ---------------------------------------------------------------- OpenAI-compatible
@endpoint
async def openai_completions(request: Request) -> Response:
    state = state_of(request)
    chat_id = request.path_params["chat_id"]
    req = await read_json(request)
    missing = [k for k in ("model", "messages") if k not in req]
    if missing:
        raise ApiError(101, "required argument are missing: " + "".join(f"{m}; " for m in missing))
    chat = state.store.get("chat", chat_id)
    if chat is None:
        raise ApiError(102, f"You don't own the chat {chat_id}")
    model = req.get("model")
    if (
        not state.old
        and model not in ("model", chat.get("llm_id"))
        and not state.has_llm(str(model))
    ):
        raise ApiError(101, f"`llm_id` {model} doesn't exist")
    messages = _messages({"messages": req.get("messages")})
    question = _text(messages[-1].get("content"))
    extra_body = req.get("extra_body")
    extra: Json = extra_body if isinstance(extra_body, dict) else {}
    want_reference = bool(extra.get("reference"))
    condition = extra.get("metadata_condition")
    chat_for_query = dict(chat)
    if isinstance(condition, dict):
        chat_for_query["meta_data_filter"] = condition
    answer = chat_answer(state, chat_for_query, question, extra)
    stream = _flag(req, "stream", default=state.old)
    model_name = str(model if model != "model" else chat.get("llm_id") or DEFAULT_LLM)
    prompt_tokens = sum(count_tokens(_text(m.get("content"))) for m in messages) + sum(
        count_tokens(h.chunk["content"]) for h in answer.hits
    )
    completion_tokens = count_tokens(answer.text)
    usage = {
        "prompt_tokens": prompt_tokens,
        "completion_tokens": completion_tokens,
        "total_tokens": prompt_tokens + completion_tokens,
    }
    ref_chunks = (answer.reference or {}).get("chunks", [])
    ident, created = f"chatcmpl-{chat_id}", int(time.time())
    if not stream:
        message: Json = {"role": "assistant", "content": answer.text}
        if want_reference:
            message["reference"] = ref_chunks
        return JSONResponse(
            {
                "id": ident,
                "object": "chat.completion",
                "created": created,
                "model": model_name,
                "usage": {
                    **usage,
                    "completion_tokens_details": {
                        "reasoning_tokens": prompt_tokens,
                        "accepted_prediction_tokens": 0,
                        "rejected_prediction_tokens": 0,
                    },
                },
                "choices": [
                    {"index": 0, "finish_reason": "stop", "logprobs": None, "message": message}
                ],
            }
        )

    def chunk(delta: Json, finish: str | None, chunk_usage: Json | None) -> bytes:
        return sse(
            {
                "id": ident,
                "object": "chat.completion.chunk",
                "created": created,
                "model": model_name,
                "system_fingerprint": "",
                "usage": chunk_usage,
                "choices": [
                    {"index": 0, "finish_reason": finish, "logprobs": None, "delta": delta}
                ],
            }
        )

    async def events() -> AsyncIterator[bytes]:
        for piece in pieces(answer.text):
            yield chunk(
                {
                    "role": "assistant",
                    "content": piece,
                    "reasoning_content": None,
                    "function_call": None,
                    "tool_calls": None,
                },
                None,
                None,
            )
            await asyncio.sleep(0)
        final: Json = {
            "role": "assistant",
            "content": None,
            "reasoning_content": None,
            "function_call": None,
            "tool_calls": None,
        }
        if want_reference:
            final["reference"] = ref_chunks
            final["final_content"] = answer.text
        yield chunk(final, "stop", usage)
        yield sse("[DONE]")

    return stream_response(events())


# ---------------------------------------------------------------- related questions
@endpoint
async def related_questions(request: Request) -> Response:
    state = state_of(request)
    req = await read_json(request)
    question = req.get("question")
    if not question:
        raise ApiError(101, "required argument are missing: question; ")
    dataset_ids = [d["id"] for d in state.store.all("dataset")]
    hits = (
        run_retrieval(
            state,
            question=str(question),
            dataset_ids=dataset_ids,
            document_ids=None,
            top_k=64,
            threshold=0.0,
            weight=0.3,
            metadata_condition=None,
        )
        if dataset_ids
        else []
    )
    texts = [h.chunk["content"] for h in hits[:5]]
    return json_result(related_phrases(str(question), texts))


def routes(state: ServerState) -> list[Route]:
    out = [
        Route("/chats/{chat_id}/completions", chat_completions_alias, methods=["POST"]),
        Route("/chats_openai/{chat_id}/chat/completions", openai_completions, methods=["POST"]),
        Route("/sessions/related_questions", related_questions, methods=["POST"]),
    ]
    if not state.old:
        out += [
            Route("/chat/completions", chat_completions, methods=["POST"]),
            Route("/openai/{chat_id}/chat/completions", openai_completions, methods=["POST"]),
            Route("/chat/recommendation", related_questions, methods=["POST"]),
        ]
    return out
