"""Answers of chats and agents (blocking or streamed) as the message dicts behind ``Message``.

Shared by the chat and the agent operations (``resources/chats``, ``resources/agents``): the
answer's ``<think>`` reasoning kept apart, its reference turned into chunk dicts, objects built
through the operation's context.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from .sse import StreamEvent, reference_chunks, split_think

if TYPE_CHECKING:
    from .ops import Context


def message_dict(
    answer: str,
    reference: Any,
    *,
    session_id: Any = None,
    message_id: Any = None,
    reasoning: str = "",
    role: str = "assistant",
    extra: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    chunks, aggs = reference_chunks(reference)
    out: dict[str, Any] = {
        "role": role,
        "content": answer,
        "delta": answer,
        "reasoning": reasoning,
        "reference": chunks or [],
        "doc_aggs": aggs or [],
        "final": True,
        "session_id": session_id or None,
        "id": message_id or None,
    }
    if extra:
        for key in ("prompt", "usage", "created_at", "audio_binary"):
            if key in extra:
                out[key] = extra[key]
    return out


def chat_message_from_data(ctx: Context, data: Mapping[str, Any]) -> Any:
    answer = data.get("answer")
    reasoning, text = split_think(answer if isinstance(answer, str) else "")
    message = message_dict(
        text,
        data.get("reference"),
        session_id=data.get("session_id"),
        message_id=data.get("id"),
        reasoning=reasoning,
        extra=data,
    )
    return ctx.wrap("message", message)


def event_mapper(ctx: Context, as_message: bool) -> Callable[[StreamEvent], Any]:
    """Turn a normalised event into a StreamEvent with Chunk references, or into a Message."""

    def to_chunks(refs: list[Any] | None) -> list[Any] | None:
        if refs is None:
            return None
        return [ctx.wrap("chunk", dict(r)) for r in refs]

    def mapper(event: StreamEvent) -> Any:
        chunks = to_chunks(event.reference)
        if not as_message:
            event.reference = chunks
            return event
        return ctx.wrap(
            "message",
            {
                "role": "assistant",
                "content": event.content,
                "delta": event.delta,
                "reasoning": event.reasoning,
                "reasoning_delta": event.reasoning_delta,
                "reference": chunks or [],
                "doc_aggs": event.doc_aggs or [],
                "final": event.final,
                "session_id": event.session_id,
                "id": event.message_id,
                "final_content": event.final_content,
            },
        )

    return mapper
